#!/usr/bin/env python3
"""PyTorch's side of `HEADGRAD_BENCH=peers npm run bench` (scripts/bench/peers.ts).

A line-oriented server: each stdin line is one JSON request, each stdout line one JSON answer,
so the benchmark can interleave single repetitions with headgrad's in one run. The model is the
engine's GPT-2 (learned positions, pre-LayerNorm, tanh-GELU MLP 4x, LM head tied to wte, biases
everywhere); attention is written out (PyTorch 1.13 has no scaled_dot_product_attention).

Requests:
  {"op": "init", "threads": n}                                   -> {"torch": version}
  {"op": "model", "cfg": {vocabSize, maxSeqLen, layers, heads, dim}}   (replaces the model)
  {"op": "pattern", "precision": "f32"|"bf16", "batch", "seqLen", "tokens", "targets", "weights"}
      the gate method: a gate xi per (layer, sample, head) on each head's output, weights frozen;
      loss = sum_t w_t * CE_t, the LM head only at positions with a target; returns
      {"seconds", "scores": [L*B*H]} with scores = dloss/dxi
  {"op": "train", "precision", "batch", "seqLen", "tokens", "targets"}
      forward (mean CE), backward, gradient clipping at 1, AdamW (lr 1e-4, wd 0.1) -> {"seconds"}
  {"op": "matmul", "n", "precision"}    n^3 matmul rate -> {"gflops"}
bf16 is torch.autocast("cpu", torch.bfloat16) around forward and loss; weights stay f32.
"""
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.ln2 = nn.LayerNorm(dim)
        self.fc = nn.Linear(dim, 4 * dim)
        self.fcproj = nn.Linear(4 * dim, dim)

    def forward(self, x, mask, gate):
        # x (B,T,C); mask (T,T) bool, True = masked; gate None or (B,H)
        B, T, C = x.shape
        hs = C // self.heads
        q, k, v = self.qkv(self.ln1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.heads, hs).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))
        att = att.masked_fill(mask, float("-inf")).softmax(dim=-1)
        y = att @ v  # (B,H,T,hs)
        if gate is not None:
            y = y * gate.to(y.dtype)[:, :, None, None]
        x = x + self.proj(y.transpose(1, 2).reshape(B, T, C))
        return x + self.fcproj(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, V, P, L, H, C):
        super().__init__()
        self.wte = nn.Embedding(V, C)
        self.wpe = nn.Embedding(P, C)
        self.blocks = nn.ModuleList(Block(C, H) for _ in range(L))
        self.lnf = nn.LayerNorm(C)
        for p in self.parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02)

    def hidden(self, idx, gates=None):
        B, T = idx.shape
        mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
        x = self.wte(idx) + self.wpe(torch.arange(T))
        for l, b in enumerate(self.blocks):
            x = b(x, mask, None if gates is None else gates[l])
        return self.lnf(x)


state = {"model": None, "opt": None}


def autocast(precision):
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16")


def tensors(req):
    B, T = req["batch"], req["seqLen"]
    idx = torch.tensor(req["tokens"], dtype=torch.long).view(B, T)
    tgt = torch.tensor(req["targets"], dtype=torch.long).view(B * T)
    return B, T, idx, tgt


def pattern(req):
    m = state["model"]
    B, T, idx, tgt = tensors(req)
    w = torch.tensor(req["weights"], dtype=torch.float32)
    rows = (tgt >= 0).nonzero().squeeze(1)
    L, H = len(m.blocks), m.blocks[0].heads
    t0 = time.perf_counter()
    gates = torch.ones(L, B, H, requires_grad=True)
    with autocast(req["precision"]):
        h = m.hidden(idx, gates).view(B * T, -1)[rows]
        logits = h @ m.wte.weight.t()  # the LM head only where a target is
        ce = F.cross_entropy(logits.float(), tgt[rows], reduction="none")
        loss = (ce * w[rows]).sum()
    (scores,) = torch.autograd.grad(loss, gates)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "loss": loss.item(), "scores": scores.flatten().tolist()}


def train(req):
    m = state["model"]
    if state["opt"] is None:
        decay = [p for p in m.parameters() if p.dim() == 2]
        rest = [p for p in m.parameters() if p.dim() != 2]
        state["opt"] = torch.optim.AdamW(
            [{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}], lr=1e-4
        )
    B, T, idx, tgt = tensors(req)
    t0 = time.perf_counter()
    with autocast(req["precision"]):
        logits = m.hidden(idx) @ m.wte.weight.t()
        loss = F.cross_entropy(logits.float().view(B * T, -1), tgt)
    state["opt"].zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
    state["opt"].step()
    return {"seconds": time.perf_counter() - t0, "loss": loss.item()}


def matmul(req):
    n = req["n"]
    dtype = torch.bfloat16 if req["precision"] == "bf16" else torch.float32
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    a @ b
    reps, t0 = 0, time.perf_counter()
    while reps < 3 or time.perf_counter() - t0 < 0.5:
        a @ b
        reps += 1
    return {"gflops": 2.0 * n ** 3 * reps / (time.perf_counter() - t0) / 1e9}


def main():
    for line in sys.stdin:
        req = json.loads(line)
        op = req["op"]
        try:
            if op == "init":
                torch.set_num_threads(req["threads"])
                torch.manual_seed(0)
                out = {"torch": torch.__version__, "threads": torch.get_num_threads()}
            elif op == "model":
                c = req["cfg"]
                state["model"] = GPT(c["vocabSize"], c["maxSeqLen"], c["layers"], c["heads"], c["dim"])
                state["opt"] = None
                out = {}
            elif op == "pattern":
                out = pattern(req)
            elif op == "train":
                out = train(req)
            elif op == "matmul":
                out = matmul(req)
            else:
                out = {"error": "unknown op " + op}
        except Exception as e:  # report, keep serving
            out = {"error": "%s: %s" % (type(e).__name__, e)}
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
