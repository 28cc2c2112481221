# PyTorch's peak memory on the same pattern extraction as scripts/measure-llama.ts: a random
# Llama-shaped model built directly in bf16 (as `torch_dtype=torch.bfloat16` loads one: no f32
# copy at any time), the gate method (a gate per head and sample, weights frozen, the LM head
# only at target rows), samples of --tokens tokens with targets on their second half.
#   /usr/bin/time -v /usr/bin/python3 scripts/measure_torch_llama.py --shape 1b --samples 8 --batch 4 --tokens 128
# Prints the peak RSS after building the model and after the pattern run (ru_maxrss), and tokens/s.
import argparse, os, resource, sys, time
import torch
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_peers_torch as peers  # the Llama twin of the peers benchmark

SHAPES = {
    "1b": dict(vocabSize=128256, maxSeqLen=2048, layers=16, heads=32, kvHeads=8, dim=2048, ffnDim=8192, ropeTheta=500000.0, mlp="swiglu"),
    "tiny": dict(vocabSize=1000, maxSeqLen=256, layers=2, heads=4, kvHeads=2, dim=128, ffnDim=256, ropeTheta=500000.0, mlp="swiglu"),
}
ap = argparse.ArgumentParser()
ap.add_argument("--shape", default="1b"); ap.add_argument("--samples", type=int, default=8)
ap.add_argument("--batch", type=int, default=4); ap.add_argument("--tokens", type=int, default=128)
a = ap.parse_args()
torch.set_num_threads(int(os.environ.get("HEADGRAD_THREADS", os.cpu_count())))
peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9
torch.set_default_dtype(torch.bfloat16)
torch.manual_seed(0)
t0 = time.perf_counter()
with torch.no_grad():
    model = peers.Llama(SHAPES[a.shape])
torch.set_default_dtype(torch.float32)
peers.state["model"], peers.state["bf16_weights"] = model, True
print(f"model: {sum(p.numel() for p in model.parameters()):,} parameters, dtype {next(model.parameters()).dtype}, "
      f"built in {time.perf_counter() - t0:.1f} s; peak RSS {peak():.2f} GB", flush=True)
for p in model.parameters():
    p.requires_grad_(False)
g = torch.Generator().manual_seed(1)
V, B, T = SHAPES[a.shape]["vocabSize"], a.batch, a.tokens
seconds, tokens = 0.0, 0
for s in range(0, a.samples, B):
    idx = torch.randint(V, (B * T,), generator=g)
    tgt = torch.randint(V, (B * T,), generator=g)
    w = torch.zeros(B * T)
    for b in range(B):
        tgt[b * T : b * T + T // 2] = -1
        w[b * T + T // 2 : b * T + T] = 1.0 / ((T - T // 2) * B)
    out = peers.pattern({"batch": B, "seqLen": T, "tokens": idx.tolist(), "targets": tgt.tolist(), "weights": w.tolist(), "precision": "bf16"})
    if "error" in out:
        raise SystemExit(out["error"])
    seconds += out["seconds"]; tokens += B * T
print(f"patterns: {a.samples} samples x {T} tokens, batch {B}: {tokens / seconds:.1f} tokens/s; peak RSS {peak():.2f} GB", flush=True)
