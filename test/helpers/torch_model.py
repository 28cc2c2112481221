# A second, PyTorch re-implementation of the model (same configuration fields and canonical
# parameter layout as reference_model.ts), for cross-checking that reference: logits and loss in
# float64, and the per-sample head-gate gradients by autograd instead of finite differences.
# Reads a JSON array of requests on stdin, each {config, params, tokens, B, T, targets,
# lossWeights|null, gates}; writes an array of {logits, loss, gateGrads} ([B*T*V], scalar,
# [L*B*H]) on stdout. One process for all requests: importing torch takes seconds.
import json
import math
import sys

import torch


def layout(c):
    V, P, L, C, H = c["vocabSize"], c["maxSeqLen"], c["layers"], c["dim"], c["heads"]
    KV, F, hs = c["kvHeads"], c["ffnDim"], c["headDim"]
    qkv = (H + 2 * KV) * hs
    fc = F if c["mlp"] == "gelu" else 2 * F  # swiglu, geglu: [gate; up]
    pre, post = c["normPlacement"] != "post", c["normPlacement"] != "pre"
    ln, lb = c["norm"] == "layernorm", c["linearBias"]
    head = c["qkNorm"] == "head"
    qk = c["qkNorm"] != "none"
    return [
        ("wte", [V, C]), ("wpe", [P, C] if c["positions"] == "learned" else [0]),
        ("ln1w", [L, C] if pre else [0]), ("ln1b", [L, C] if ln and pre else [0]),
        ("qkvw", [L, qkv, C]), ("qkvb", [L, qkv] if c["qkvBias"] else [0]),
        ("attprojw", [L, C, H * hs]), ("attprojb", [L, C] if lb else [0]),
        ("ln2w", [L, C] if pre else [0]), ("ln2b", [L, C] if ln and pre else [0]),
        ("fcw", [L, fc, C]), ("fcb", [L, fc] if lb else [0]),
        ("fcprojw", [L, C, F]), ("fcprojb", [L, C] if lb else [0]),
        ("lnfw", [C]), ("lnfb", [C] if ln else [0]),
        ("lmhead", [0] if c["tiedEmbeddings"] else [V, C]),
        ("qnw", [L, hs if head else H * hs] if qk else [0]), ("knw", [L, hs if head else KV * hs] if qk else [0]),
        ("postattnw", [L, C] if post else [0]), ("postffnw", [L, C] if post else [0]),
    ]


def defaults(c):
    d = dict(kvHeads=c["heads"], ffnDim=4 * c["dim"], norm="layernorm", normEps=1e-5, positions="learned",
             ropeTheta=10000.0, ropeScaling=None, mlp="gelu", qkvBias=True, linearBias=True, tiedEmbeddings=True,
             headDim=c["dim"] // c["heads"], qkNorm="none", normPlacement="pre", slidingWindow=0,
             layerTypes=None, ropeLocalTheta=0, normWeightOffset=0, embedScale=1, attnSoftcap=0, finalSoftcap=0,
             queryScale=0)
    d.update({k: v for k, v in c.items() if v is not None or k in ("ropeScaling", "layerTypes")})
    return d


def inv_freq(c, hs, long_context=False):
    f = 1.0 / (c["ropeTheta"] ** (torch.arange(0, hs, 2, dtype=torch.float64) / hs))
    s = c["ropeScaling"]
    if s is None:
        return f
    if s["type"] == "linear":
        return f / s["factor"]
    if s["type"] == "longrope":  # Phi-3 128k: per-frequency divisors, the long ones past the original context
        return f / torch.tensor(s["longFactor"] if long_context else s["shortFactor"], dtype=torch.float64)
    wavelen = 2 * math.pi / f
    low_wl = s["originalMaxPositions"] / s["lowFreqFactor"]
    high_wl = s["originalMaxPositions"] / s["highFreqFactor"]
    scaled = torch.where(wavelen > low_wl, f / s["factor"], f)
    smooth = (s["originalMaxPositions"] / wavelen - s["lowFreqFactor"]) / (s["highFreqFactor"] - s["lowFreqFactor"])
    blended = (1 - smooth) * scaled / s["factor"] + smooth * scaled
    medium = (wavelen >= high_wl) & (wavelen <= low_wl)
    return torch.where(medium, blended, scaled)


def run(req):
    c = defaults(req["config"])
    B, T = req["B"], req["T"]
    V, L, H, KV, C = c["vocabSize"], c["layers"], c["heads"], c["kvHeads"], c["dim"]
    hs, F = c["headDim"], c["ffnDim"]
    pre, post = c["normPlacement"] != "post", c["normPlacement"] != "pre"
    flat = torch.tensor(req["params"], dtype=torch.float64)
    w, off = {}, 0
    for name, shape in layout(c):
        n = math.prod(shape)
        w[name] = flat[off:off + n].reshape(shape) if n else None
        off += n
    tokens = torch.tensor(req["tokens"]).reshape(B, T)
    targets = torch.tensor(req["targets"]).reshape(B, T)
    valid = targets >= 0
    if req.get("lossWeights") is not None:
        weights = torch.tensor(req["lossWeights"], dtype=torch.float64).reshape(B, T) * valid
    else:
        weights = valid.double() / valid.sum()
    # one gate per (layer, sample, head) so that autograd gives per-sample derivatives
    g = torch.tensor(req["gates"], dtype=torch.float64).reshape(L, 1, H).repeat(1, B, 1).requires_grad_(True)

    def norm(x, wt, b):
        if c["norm"] == "layernorm":
            return torch.nn.functional.layer_norm(x, (C,), wt, b, c["normEps"])
        return rms(x, wt)

    def rms(x, wt):  # Gemma: the weight is (normWeightOffset + w)
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + c["normEps"]) * (c["normWeightOffset"] + wt)

    def cap(z, k):  # soft-capping: k·tanh(z/k), none for k = 0
        return k * torch.tanh(z / k) if k > 0 else z

    # per layer: local layers (layerTypes, or every layer with a window) see the window and, with
    # ropeLocalTheta, their own unscaled RoPE base
    def is_local(l):
        return c["layerTypes"][l] == "local" if c["layerTypes"] is not None else c["slidingWindow"] > 0

    # longrope: the long factors for a sequence past originalMaxPositions, cos and sin times attentionFactor
    longrope = c["ropeScaling"] if c["ropeScaling"] is not None and c["ropeScaling"]["type"] == "longrope" else None

    def rot(x, local):  # x [B, heads, T, hs]
        own = local and c["ropeLocalTheta"] > 0
        f = inv_freq({**c, "ropeTheta": c["ropeLocalTheta"], "ropeScaling": None}, hs) if own \
            else inv_freq(c, hs, longrope is not None and T > longrope["originalMaxPositions"])
        m = longrope["attentionFactor"] if longrope is not None and not own else 1.0
        ang = torch.arange(T, dtype=torch.float64)[:, None] * f[None, :]
        emb = torch.cat([ang, ang], -1)
        half = torch.cat([-x[..., hs // 2:], x[..., :hs // 2]], -1)
        return x * (m * emb.cos()) + half * (m * emb.sin())

    x = w["wte"][tokens]
    if c["positions"] == "learned":
        x = x + w["wpe"][:T]
    x = x * c["embedScale"]
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    windowed = causal
    if c["slidingWindow"] > 0:  # key j visible to query i when i - window < j <= i
        windowed = causal & torch.ones(T, T, dtype=torch.bool).triu(-(c["slidingWindow"] - 1))
    scale = c["queryScale"] ** -0.5 if c["queryScale"] > 0 else 1 / math.sqrt(hs)
    for l in range(L):
        mask = windowed if is_local(l) else causal
        h = norm(x, w["ln1w"][l], w["ln1b"][l] if w["ln1b"] is not None else None) if pre else x
        qkv = h @ w["qkvw"][l].T + (w["qkvb"][l] if w["qkvb"] is not None else 0)
        q, k = qkv[..., :H * hs], qkv[..., H * hs:(H + KV) * hs]
        if c["qkNorm"] == "projection":  # OLMo 2: over the whole projection
            q, k = rms(q, w["qnw"][l]), rms(k, w["knw"][l])
        q = q.reshape(B, T, H, hs)
        k = k.reshape(B, T, KV, hs)
        if c["qkNorm"] == "head":  # Qwen3: per head, one weight shared by the heads
            q, k = rms(q, w["qnw"][l]), rms(k, w["knw"][l])
        q, k = q.transpose(1, 2), k.transpose(1, 2)
        v = qkv[..., (H + KV) * hs:].reshape(B, T, KV, hs).transpose(1, 2)
        if c["positions"] == "rope":
            q, k = rot(q, is_local(l)), rot(k, is_local(l))
        k = k.repeat_interleave(H // KV, dim=1)
        v = v.repeat_interleave(H // KV, dim=1)
        s = cap((q @ k.transpose(-1, -2)) * scale, c["attnSoftcap"])
        p = s.masked_fill(~mask, float("-inf")).softmax(-1)
        o = (p @ v) * g[l][:, :, None, None]
        y = o.transpose(1, 2).reshape(B, T, H * hs)
        a = y @ w["attprojw"][l].T + (w["attprojb"][l] if w["attprojb"] is not None else 0)
        x = x + (rms(a, w["postattnw"][l]) if post else a)
        h = norm(x, w["ln2w"][l], w["ln2b"][l] if w["ln2b"] is not None else None) if pre else x
        u = h @ w["fcw"][l].T + (w["fcb"][l] if w["fcb"] is not None else 0)
        if c["mlp"] == "swiglu":
            m = torch.nn.functional.silu(u[..., :F]) * u[..., F:]
        elif c["mlp"] == "geglu":
            m = torch.nn.functional.gelu(u[..., :F], approximate="tanh") * u[..., F:]
        else:
            m = torch.nn.functional.gelu(u, approximate="tanh")
        f = m @ w["fcprojw"][l].T + (w["fcprojb"][l] if w["fcprojb"] is not None else 0)
        x = x + (rms(f, w["postffnw"][l]) if post else f)
    x = norm(x, w["lnfw"], w["lnfb"])
    logits = cap(x @ (w["wte"] if w["lmhead"] is None else w["lmhead"]).T, c["finalSoftcap"])
    ce = torch.nn.functional.cross_entropy(logits.reshape(B * T, V), targets.clamp(min=0).reshape(-1), reduction="none")
    loss = (ce * weights.reshape(-1)).sum()
    loss.backward()
    return {"logits": logits.detach().reshape(-1).tolist(), "loss": loss.item(), "gateGrads": g.grad.reshape(-1).tolist()}


json.dump([run(req) for req in json.load(sys.stdin)], sys.stdout)
