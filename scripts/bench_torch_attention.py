#!/usr/bin/env python3
"""PyTorch's flash attention as the yardstick for native/bench/bench_attention_cuda.cu.

torch.nn.functional.scaled_dot_product_attention with the flash backend only, bf16, causal,
for the same shapes (T in 512, 2048, 8192; D in 64, 128; B*H*T = 16*16*2048 tokens, H = 16),
timed with CUDA events: one warm-up round, then interleaved runs until each measurement has at
least 3 samples and 1 s in all (at most 25); the median is reported. Fresh random inputs per
shape. TFLOP/s by FlashAttention's convention: forward 4*B*H*T^2*D, backward 2.5x forward,
halved when causal.

    python3 scripts/bench_torch_attention.py [--out FILE]
"""
import argparse
import json
import statistics

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

TOKENS = 16 * 16 * 2048
HEADS = 16
MIN_RUNS, MAX_RUNS, MIN_SECONDS = 3, 25, 1.0


def time_ms(fn):
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    fn()
    stop.record()
    stop.synchronize()
    return start.elapsed_time(stop)


def median_ms(fns):
    for fn in fns:
        time_ms(fn)
    samples = [[] for _ in fns]
    total, run = 0.0, 0
    while run < MAX_RUNS and (run < MIN_RUNS or total < MIN_SECONDS * 1e3):
        for i, fn in enumerate(fns):
            samples[i].append(time_ms(fn))
            total += samples[i][-1]
        run += 1
    return [statistics.median(s) for s in samples]


def measure(T, D, seed):
    B = TOKENS // (HEADS * T)
    gen = torch.Generator(device="cuda").manual_seed(seed)
    q, k, v, dout = (torch.randn(B, HEADS, T, D, device="cuda", dtype=torch.bfloat16, generator=gen) for _ in range(4))
    q.requires_grad_(), k.requires_grad_(), v.requires_grad_()

    def forward():
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)

    def forward_backward():
        torch.autograd.grad(forward(), (q, k, v), dout)

    with sdpa_kernel([SDPBackend.FLASH_ATTENTION]):
        (fwd_ms,) = median_ms([forward])
        (fwdbwd_ms,) = median_ms([forward_backward])
    flops_fwd = 4.0 * B * HEADS * T * T * D / 2
    return {
        "precision": "bf16", "B": B, "H": HEADS, "T": T, "D": D,
        "fwd_ms": fwd_ms, "fwdbwd_ms": fwdbwd_ms,
        "fwd_tflops": flops_fwd / (fwd_ms * 1e9), "fwdbwd_tflops": 3.5 * flops_fwd / (fwdbwd_ms * 1e9),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="write the results as JSON to this file")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("bench_torch_attention: no CUDA device")

    results = []
    print(f"{'T':>5} {'D':>3} {'B':>4} {'fwd ms':>10} {'fwd TF/s':>8} {'fwd+bwd ms':>12} {'f+b TF/s':>10}")
    seed = 1
    for D in (64, 128):
        for T in (512, 2048, 8192):
            seed += 1
            r = measure(T, D, seed)
            results.append(r)
            print(f"{T:>5} {D:>3} {r['B']:>4} {r['fwd_ms']:>10.3f} {r['fwd_tflops']:>8.1f} "
                  f"{r['fwdbwd_ms']:>12.3f} {r['fwdbwd_tflops']:>10.1f}", flush=True)
    report = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "tokens": TOKENS,
              "causal": True, "results": results}
    if args.out:
        with open(args.out, "w") as f:
            json.dump(report, f, indent=2)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
