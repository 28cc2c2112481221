#!/usr/bin/env python3
"""Merges the JSON of bench_train_cuda (ours) and bench_torch_train.py (PyTorch) into one table:
per shape, our f32 and bf16 tokens/s and head scores/s, PyTorch's bf16-autocast tokens/s, and
the ratio ours(bf16)/torch of the throughputs (above 1: we are faster).

    python3 scripts/gpu_train_table.py OURS.json TORCH.json [--json MERGED.json]
"""
import argparse
import json


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ours")
    parser.add_argument("torch")
    parser.add_argument("--json", help="also write the merged rows to this file")
    args = parser.parse_args()
    with open(args.ours) as f:
        ours = json.load(f)
    with open(args.torch) as f:
        torch = json.load(f)

    mine = {(r["shape"], r["precision"]): r for r in ours["rows"]}
    rows = []
    for t in torch["rows"]:
        f32, bf16 = mine.get((t["shape"], "f32")), mine.get((t["shape"], "bf16"))
        if bf16 is None:
            continue
        rows.append({
            "shape": t["shape"], "batch": f"{t['batch']}x{t['seqLen']}",
            "oursF32TokensPerSec": f32["tokensPerSec"] if f32 else None,
            "oursBf16TokensPerSec": bf16["tokensPerSec"],
            "oursBf16HeadScoresPerSec": bf16["headScoresPerSec"],
            "torchTokensPerSec": t["tokensPerSec"],
            "ratio": bf16["tokensPerSec"] / t["tokensPerSec"],
        })

    print(f"GPT training step: headgrad vs PyTorch on {ours['device']}\n")
    head = f"{'model':<12} {'batch':<9} {'ours f32 tok/s':>15} {'ours bf16 tok/s':>16} {'bf16 head scores/s':>19} {'torch tok/s':>12} {'ours/torch':>11}"
    print(head)
    print("-" * len(head))
    for r in rows:
        f32 = f"{r['oursF32TokensPerSec']:.0f}" if r["oursF32TokensPerSec"] else "-"
        print(f"{r['shape']:<12} {r['batch']:<9} {f32:>15} {r['oursBf16TokensPerSec']:>16.0f} "
              f"{r['oursBf16HeadScoresPerSec']:>19.0f} {r['torchTokensPerSec']:>12.0f} {r['ratio']:>11.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": ours["device"], "torch": torch.get("torch"), "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
