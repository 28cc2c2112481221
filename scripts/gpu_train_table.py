#!/usr/bin/env python3
"""Merges the JSON of bench_train_cuda (ours) and bench_torch_train.py (PyTorch) into one table:
per shape, our f32 and bf16 tokens/s and head scores/s, PyTorch's bf16-autocast tokens/s, and
the ratio ours(bf16)/torch of the throughputs (above 1: we are faster).

    python3 scripts/gpu_train_table.py OURS.json TORCH.json [--json MERGED.json]
"""
from gpu_tables import pair_rows, print_table, read_pair, write_json


def main():
    ours, torch, merged_path = read_pair(__doc__)
    rows = []
    for t, f32, bf16 in pair_rows(ours["rows"], torch["rows"], lambda r: r["shape"]):
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
    f32 = lambda r: f"{r['oursF32TokensPerSec']:.0f}" if r["oursF32TokensPerSec"] else "-"
    print_table(head, (
        f"{r['shape']:<12} {r['batch']:<9} {f32(r):>15} {r['oursBf16TokensPerSec']:>16.0f} "
        f"{r['oursBf16HeadScoresPerSec']:>19.0f} {r['torchTokensPerSec']:>12.0f} {r['ratio']:>11.2f}"
        for r in rows))
    write_json(merged_path, {"device": ours["device"], "torch": torch.get("torch"), "rows": rows})


if __name__ == "__main__":
    main()
