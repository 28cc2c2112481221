#!/usr/bin/env python3
"""Merges the JSON of bench_attention_cuda (ours) and bench_torch_attention.py (PyTorch flash
attention) into one table: per shape, our f32 and bf16 times, PyTorch's bf16 times, the ratio
ours(bf16)/torch of the times (below 1: we are faster) and our head-score capture overhead.

    python3 scripts/gpu_bench_table.py OURS.json TORCH.json [--json MERGED.json]
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

    mine = {(r["precision"], r["T"], r["D"]): r for r in ours["results"]}
    rows = []
    for t in torch["results"]:
        key = (t["T"], t["D"])
        f32, bf16 = mine.get(("f32",) + key), mine.get(("bf16",) + key)
        if bf16 is None:
            continue
        rows.append({
            "T": t["T"], "D": t["D"], "B": t["B"], "H": t["H"],
            "ours_f32_fwd_ms": f32["fwd_ms"] if f32 else None,
            "ours_f32_fwdbwd_ms": f32["fwdbwd_ms"] if f32 else None,
            "ours_bf16_fwd_ms": bf16["fwd_ms"], "ours_bf16_fwdbwd_ms": bf16["fwdbwd_ms"],
            "torch_fwd_ms": t["fwd_ms"], "torch_fwdbwd_ms": t["fwdbwd_ms"],
            "fwd_ratio": bf16["fwd_ms"] / t["fwd_ms"], "fwdbwd_ratio": bf16["fwdbwd_ms"] / t["fwdbwd_ms"],
            "ours_bf16_fwdbwd_tflops": bf16["fwdbwd_tflops"], "torch_fwdbwd_tflops": t["fwdbwd_tflops"],
            "capture_overhead_pct": bf16["capture_overhead_pct"],
        })

    print(f"attention, causal, B*H*T = {ours['tokens']} tokens; ours on {ours['device']}, "
          f"torch {torch['torch']} flash (bf16) on {torch['device']}")
    print("times in ms (median); ratio = ours bf16 / torch (below 1: ours is faster)")
    head = (f"{'T':>5} {'D':>3} | {'f32 fwd':>8} {'f32 f+b':>9} | {'bf16 fwd':>8} {'torch':>8} {'ratio':>6} | "
            f"{'bf16 f+b':>9} {'torch':>9} {'ratio':>6} | {'TF/s ours':>9} {'torch':>6} | {'capture':>7}")
    print(head)
    print("-" * len(head))
    fmt = lambda x, w: f"{x:>{w}.3f}" if x is not None else f"{'-':>{w}}"
    for r in rows:
        print(f"{r['T']:>5} {r['D']:>3} | {fmt(r['ours_f32_fwd_ms'], 8)} {fmt(r['ours_f32_fwdbwd_ms'], 9)} | "
              f"{r['ours_bf16_fwd_ms']:>8.3f} {r['torch_fwd_ms']:>8.3f} {r['fwd_ratio']:>6.2f} | "
              f"{r['ours_bf16_fwdbwd_ms']:>9.3f} {r['torch_fwdbwd_ms']:>9.3f} {r['fwdbwd_ratio']:>6.2f} | "
              f"{r['ours_bf16_fwdbwd_tflops']:>9.1f} {r['torch_fwdbwd_tflops']:>6.1f} | "
              f"{r['capture_overhead_pct']:>6.1f}%")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"ours": ours, "torch": torch, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
