#!/usr/bin/env python3
"""PyTorch's side of `HEADGRAD_BENCH=peers npm run bench` (scripts/bench/peers.ts).

A line-oriented server: each stdin line is one JSON request, each stdout line one JSON answer,
so the benchmark can interleave single repetitions with headgrad's in one run. The model is the
engine's GPT-2 (learned positions, pre-LayerNorm, tanh-GELU MLP 4x, LM head tied to wte, biases
everywhere); attention is written out (PyTorch 1.13 has no scaled_dot_product_attention).

A Llama-family twin (config field "mlp": "swiglu": RMSNorm, RoPE, grouped-query attention,
SwiGLU MLP, no biases, tied LM head) runs the Llama-shaped rows; "weights": "bf16" stores its
weights in bf16 (no autocast), as a bf16 model is run for inference.

Requests:
  {"op": "init", "threads": n}                                   -> {"torch": version}
  {"op": "model", "cfg": {vocabSize, maxSeqLen, layers, heads, dim, kvHeads?, ffnDim?, mlp?, ropeTheta?},
   "weights": "f32"|"bf16"?}                                          (replaces the model)
  {"op": "pattern", "precision": "f32"|"bf16", "batch", "seqLen", "tokens", "targets", "weights"}
      the gate method: a gate xi per (layer, sample, head) on each head's output, weights frozen;
      loss = sum_t w_t * CE_t, the LM head only at positions with a target; returns
      {"seconds", "scores": [L*B*H]} with scores = dloss/dxi
  {"op": "train", "precision", "batch", "seqLen", "tokens", "targets"}
      forward (mean CE), backward, gradient clipping at 1, AdamW (lr 1e-4, wd 0.1) -> {"seconds"}
  {"op": "authors", "precision", "samples": [[tokens...], ...], "prompts": [prompt length, ...]}
      the authors' method, as their script runs it: each sample alone, padded to 1024 tokens,
      the full logits, mean CE over the response tokens, backward with retain_grad() on every
      attention-probability matrix; score per head = sum |A * dA| -> {"seconds"}
  {"op": "matmul", "n", "precision", "m"?, "k"?, "weight"?}
      rate of C[m,n] = A[m,k] @ B[k,n] (m = k = n when absent) -> {"gflops"}; "weight": true
      multiplies by a stored [n,k] weight, A @ W.t(), as a linear layer does
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

    def forward(self, x, mask, gate, keep=None):
        # x (B,T,C); mask (T,T) bool, True = masked; gate None or (B,H); keep: a list that
        # collects the attention matrices with retain_grad() (the authors' method)
        B, T, C = x.shape
        hs = C // self.heads
        q, k, v = self.qkv(self.ln1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.heads, hs).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))
        att = att.masked_fill(mask, float("-inf")).softmax(dim=-1)
        if keep is not None:
            att.retain_grad()
            keep.append(att)
        y = att @ v  # (B,H,T,hs)
        if gate is not None:
            y = y * gate.to(y.dtype)[:, :, None, None]
        x = x + self.proj(y.transpose(1, 2).reshape(B, T, C))
        return x + self.fcproj(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)).to(x.dtype) * self.weight


def rope(x, cos, sin):
    # x (B,H,T,hs); Hugging Face rotate_half convention
    h = x.shape[-1] // 2
    rot = torch.cat((-x[..., h:], x[..., :h]), dim=-1)
    return x * cos + rot * sin


class LlamaBlock(nn.Module):
    def __init__(self, dim, heads, kv_heads, ffn):
        super().__init__()
        self.heads, self.kv_heads = heads, kv_heads
        hs = dim // heads
        self.ln1 = RMSNorm(dim)
        self.q = nn.Linear(dim, heads * hs, bias=False)
        self.k = nn.Linear(dim, kv_heads * hs, bias=False)
        self.v = nn.Linear(dim, kv_heads * hs, bias=False)
        self.o = nn.Linear(heads * hs, dim, bias=False)
        self.ln2 = RMSNorm(dim)
        self.gate = nn.Linear(dim, ffn, bias=False)
        self.up = nn.Linear(dim, ffn, bias=False)
        self.down = nn.Linear(ffn, dim, bias=False)

    def forward(self, x, mask, gate, cos, sin, keep=None):
        B, T, C = x.shape
        H, KV = self.heads, self.kv_heads
        hs = C // H
        h = self.ln1(x)
        q = rope(self.q(h).view(B, T, H, hs).transpose(1, 2), cos, sin)
        k = rope(self.k(h).view(B, T, KV, hs).transpose(1, 2), cos, sin)
        v = self.v(h).view(B, T, KV, hs).transpose(1, 2)
        k, v = k.repeat_interleave(H // KV, dim=1), v.repeat_interleave(H // KV, dim=1)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))
        att = att.masked_fill(mask, float("-inf")).softmax(dim=-1)
        if keep is not None:
            att.retain_grad()
            keep.append(att)
        y = att @ v
        if gate is not None:
            y = y * gate.to(y.dtype)[:, :, None, None]
        x = x + self.o(y.transpose(1, 2).reshape(B, T, C))
        h = self.ln2(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Llama(nn.Module):
    def __init__(self, c):
        super().__init__()
        V, C, H = c["vocabSize"], c["dim"], c["heads"]
        self.heads_ = H
        self.theta = c.get("ropeTheta", 10000.0)
        self.wte = nn.Embedding(V, C)
        self.blocks = nn.ModuleList(
            LlamaBlock(C, H, c.get("kvHeads", H), c.get("ffnDim", 4 * C)) for _ in range(c["layers"])
        )
        self.lnf = RMSNorm(C)
        for p in self.parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02)

    def hidden(self, idx, gates=None, keep=None):
        B, T = idx.shape
        x = self.wte(idx)
        hs = x.shape[-1] // self.heads_
        inv = 1.0 / (self.theta ** (torch.arange(0, hs, 2, dtype=torch.float32) / hs))
        ang = torch.outer(torch.arange(T, dtype=torch.float32), inv)
        cos = torch.cat((ang.cos(), ang.cos()), dim=-1).to(x.dtype)
        sin = torch.cat((ang.sin(), ang.sin()), dim=-1).to(x.dtype)
        mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
        for l, b in enumerate(self.blocks):
            x = b(x, mask, None if gates is None else gates[l], cos, sin, keep)
        return self.lnf(x)


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

    def hidden(self, idx, gates=None, keep=None):
        B, T = idx.shape
        mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
        x = self.wte(idx) + self.wpe(torch.arange(T))
        for l, b in enumerate(self.blocks):
            x = b(x, mask, None if gates is None else gates[l], keep)
        return self.lnf(x)


state = {"model": None, "opt": None, "bf16_weights": False}


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
    if state["bf16_weights"]:  # bf16 weights: the model runs in bf16 without autocast
        h = m.hidden(idx, gates).view(B * T, -1)[rows]
        logits = h @ m.wte.weight.t()
        ce = F.cross_entropy(logits.float(), tgt[rows], reduction="none")
        loss = (ce * w[rows]).sum()
        (scores,) = torch.autograd.grad(loss, gates)
        return {"seconds": time.perf_counter() - t0, "loss": loss.item(), "scores": scores.flatten().tolist()}
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


def authors(req):
    m = state["model"]
    P = 1024
    t0 = time.perf_counter()
    for toks, prompt in zip(req["samples"], req["prompts"]):
        n = len(toks)
        idx = torch.zeros(1, P, dtype=torch.long)
        idx[0, :n] = torch.tensor(toks, dtype=torch.long)
        tgt = torch.full((P,), -100, dtype=torch.long)
        tgt[prompt - 1 : n - 1] = idx[0, prompt:n]
        keep = []
        with autocast(req["precision"]):
            logits = m.hidden(idx, None, keep) @ m.wte.weight.t()  # full logits [1, P, V]
            loss = F.cross_entropy(logits.float().view(P, -1), tgt, ignore_index=-100)
        m.zero_grad(set_to_none=True)
        loss.backward()
        scores = torch.stack([(a * a.grad).abs().sum(dim=(2, 3))[0] for a in keep])  # [L, H]
        scores.sum().item()
    return {"seconds": time.perf_counter() - t0}


def matmul(req):
    n = req["n"]
    M, K = req.get("m", n), req.get("k", n)
    dtype = torch.bfloat16 if req["precision"] == "bf16" else torch.float32
    a = torch.randn(M, K).to(dtype)
    if req.get("weight"):
        w = torch.randn(n, K).to(dtype)
        run = lambda: a @ w.t()
    else:
        b = torch.randn(K, n).to(dtype)
        run = lambda: a @ b
    run()
    reps, t0 = 0, time.perf_counter()
    while reps < 3 or time.perf_counter() - t0 < 0.5:
        run()
        reps += 1
    return {"gflops": 2.0 * M * n * K * reps / (time.perf_counter() - t0) / 1e9}


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
                if c.get("mlp") == "swiglu":
                    state["model"] = Llama(c)
                else:
                    state["model"] = GPT(c["vocabSize"], c["maxSeqLen"], c["layers"], c["heads"], c["dim"])
                state["bf16_weights"] = req.get("weights") == "bf16"
                if state["bf16_weights"]:
                    state["model"] = state["model"].to(torch.bfloat16)
                state["opt"] = None
                out = {}
            elif op == "pattern":
                out = pattern(req)
            elif op == "train":
                out = train(req)
            elif op == "authors":
                out = authors(req)
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
