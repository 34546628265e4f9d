"""A plain PyTorch GLA language model: exactly the math of DESIGN.md section 1.

Parameter names are the checkpoint's tensor names (`model.layers.3.attn.gk_proj.1.bias`,
...), so `state_dict()` is the checkpoint, minus `lm_head.weight` when the embeddings are
tied. Everything runs in fp32.

Two forms of the attention, which must agree:

* `chunk_gla` (training and prefill): chunks of 16 tokens. Inside a chunk every decay
  exp(b_t - b_s) is taken of a difference s <= t, so it is <= 1 and never overflows,
  whatever the gates; between chunks the state is carried as in DESIGN.md section 3.
* `GlaForCausalLM.step` (decoding, and the test against the numpy reference): the
  recurrence S = diag(exp(a)) S + k^T v, o = q S, one token at a time.

Supported config: what DESIGN.md supports (grouped kv heads, tied or untied embeddings,
an output gate, clamp_min), with hidden_act swish and no short conv / feature map.
"""

import json
import math
import os
import sys

import torch
import torch.nn.functional as F
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import make_random_checkpoint  # noqa: E402  (config.json and the safetensors writer)

CHUNK = 16


class Dims:
    """config.json plus the derived sizes (make_random_checkpoint.derived_dims)."""

    def __init__(self, config):
        unsupported = {"use_short_conv": False, "feature_map": None, "attn": None,
                       "use_gv": False}
        for field, ok in unsupported.items():
            if config.get(field, ok) != ok:
                raise ValueError(f"unsupported config: {field}={json.dumps(config[field])}")
        if config.get("hidden_act", "swish") not in ("swish", "silu"):
            raise ValueError(f"unsupported config: hidden_act={config['hidden_act']!r}")
        self.config = config
        n = make_random_checkpoint.derived_dims(config)
        self.D, self.H, self.H_kv = n["D"], n["H"], n["H_kv"]
        self.Kd, self.Vd, self.dk, self.dv = n["Kd"], n["Vd"], n["dk"], n["dv"]
        self.Kd_kv, self.Vd_kv, self.I, self.R, self.V = (
            n["Kd_kv"], n["Vd_kv"], n["I"], n["R"], n["V"])
        self.L = config["num_hidden_layers"]
        self.eps = config.get("norm_eps", 1e-6)
        self.normalizer = config.get("gate_logit_normalizer", 16)
        self.clamp_min = config.get("clamp_min")
        self.use_output_gate = config.get("use_output_gate", True)
        self.tied = config.get("tie_word_embeddings", False)
        self.output_norm_name = make_random_checkpoint.output_norm_name(config)


def rms_norm(x, weight, eps):
    """x / sqrt(mean(x^2) + eps) * weight, over the last axis."""
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


class RMSNorm(nn.Module):
    def __init__(self, size, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.eps = eps

    def forward(self, x):
        return rms_norm(x, self.weight, self.eps)


def chunk_gla(q, k, v, a, initial_state=None, chunk=CHUNK):
    """Gated linear attention over whole sequences, chunk by chunk.

    q, k, a: [B, H, T, dk] (q already scaled, a = log forget gate <= 0); v: [B, H, T, dv];
    initial_state: [B, H, dk, dv] or None. Returns (o [B, H, T, dv], final state)."""
    batch, heads, length, dk = q.shape
    dv = v.shape[-1]
    pad = -length % chunk
    if pad:  # trailing padding cannot reach earlier outputs; the final state is not used
        q, k, v, a = (F.pad(t, (0, 0, 0, pad)) for t in (q, k, v, a))
    n = (length + pad) // chunk
    q, k, a = (t.reshape(batch, heads, n, chunk, dk) for t in (q, k, a))
    v = v.reshape(batch, heads, n, chunk, dv)
    b = a.cumsum(3)                                       # running log-decay in the chunk
    # Inside the chunk: A[t, s] = sum_c q[t,c] k[s,c] exp(b[t,c] - b[s,c]), s <= t.
    diff = b.unsqueeze(4) - b.unsqueeze(3)                # [B, H, n, t, s, dk]
    causal = torch.ones(chunk, chunk, dtype=torch.bool, device=q.device).tril()
    diff = diff.masked_fill(~causal[:, :, None], float("-inf"))
    scores = (q.unsqueeze(4) * k.unsqueeze(3) * diff.exp()).sum(-1)
    o = scores @ v
    # Across chunks: o_t += (q_t exp(b_t)) S_in;  S_out = exp(b_C) S_in + sum_s (k_s exp(b_C - b_s))^T v_s
    b_last = b[:, :, :, -1:, :]
    q_in = q * b.exp()
    k_out = k * (b_last - b).exp()
    decay = b_last.squeeze(3).exp()                       # [B, H, n, dk]
    state = (initial_state if initial_state is not None
             else q.new_zeros(batch, heads, dk, dv))
    inter = []
    for i in range(n):
        inter.append(q_in[:, :, i] @ state)
        state = decay[:, :, i, :, None] * state + k_out[:, :, i].transpose(-1, -2) @ v[:, :, i]
    o = o + torch.stack(inter, 2)
    return o.reshape(batch, heads, n * chunk, dv)[:, :, :length], state


class GlaAttention(nn.Module):
    def __init__(self, dims):
        super().__init__()
        d = dims
        self.dims = d
        self.q_proj = nn.Linear(d.D, d.Kd, bias=False)
        self.k_proj = nn.Linear(d.D, d.Kd_kv, bias=False)
        self.v_proj = nn.Linear(d.D, d.Vd_kv, bias=False)
        if d.use_output_gate:
            self.g_proj = nn.Linear(d.D, d.Vd, bias=False)
        self.gk_proj = nn.Sequential(nn.Linear(d.D, d.R, bias=False),
                                     nn.Linear(d.R, d.Kd_kv, bias=True))
        self.o_proj = nn.Linear(d.Vd, d.D, bias=False)
        setattr(self, d.output_norm_name, RMSNorm(d.dv, d.eps))

    def inputs(self, h):
        """q, k, v, a, g for normed inputs h [B, T, D], as [B, heads, T, dim]; k, v, a are
        repeated to the query heads (query head i reads kv head i // group)."""
        d = self.dims
        batch, length, _ = h.shape

        def heads(t, num, dim):
            t = t.view(batch, length, num, dim).transpose(1, 2)
            return t.repeat_interleave(d.H // num, dim=1) if num != d.H else t

        q = self.q_proj(h) * d.dk ** -0.5
        a = F.logsigmoid(self.gk_proj(h)) / d.normalizer
        if d.clamp_min is not None:
            a = a.clamp(min=d.clamp_min)
        g = self.g_proj(h) if d.use_output_gate else None
        return (heads(q, d.H, d.dk), heads(self.k_proj(h), d.H_kv, d.dk),
                heads(self.v_proj(h), d.H_kv, d.dv), heads(a, d.H_kv, d.dk),
                None if g is None else heads(g, d.H, d.dv))

    def finish(self, o, g):
        """Per-head norm over dv, the swish gate, o_proj. o, g: [B, H, T, dv]."""
        d = self.dims
        o = getattr(self, d.output_norm_name)(o)
        if g is not None:
            o = o * F.silu(g)
        batch, _, length, _ = o.shape
        return self.o_proj(o.transpose(1, 2).reshape(batch, length, d.Vd))

    def forward(self, h):
        q, k, v, a, g = self.inputs(h)
        o, _ = chunk_gla(q, k, v, a)
        return self.finish(o, g)


class GatedMLP(nn.Module):
    def __init__(self, dims):
        super().__init__()
        self.gate_proj = nn.Linear(dims.D, dims.I, bias=False)
        self.up_proj = nn.Linear(dims.D, dims.I, bias=False)
        self.down_proj = nn.Linear(dims.I, dims.D, bias=False)

    def forward(self, h):
        return self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


class GlaBlock(nn.Module):
    def __init__(self, dims):
        super().__init__()
        self.attn_norm = RMSNorm(dims.D, dims.eps)
        self.attn = GlaAttention(dims)
        self.mlp_norm = RMSNorm(dims.D, dims.eps)
        self.mlp = GatedMLP(dims)

    def forward(self, x):
        x = x + self.attn(self.attn_norm(x))
        return x + self.mlp(self.mlp_norm(x))


class GlaBackbone(nn.Module):
    def __init__(self, dims):
        super().__init__()
        self.embeddings = nn.Embedding(dims.V, dims.D)
        self.layers = nn.ModuleList(GlaBlock(dims) for _ in range(dims.L))
        self.norm = RMSNorm(dims.D, dims.eps)


class GlaForCausalLM(nn.Module):
    """`model.*` and `lm_head.*` as in fla's GLAForCausalLM."""

    def __init__(self, config):
        super().__init__()
        self.dims = Dims(config)
        self.config = config
        self.model = GlaBackbone(self.dims)
        if not self.dims.tied:
            self.lm_head = nn.Linear(self.dims.D, self.dims.V, bias=False)

    def output_weight(self):
        return self.model.embeddings.weight if self.dims.tied else self.lm_head.weight

    def forward(self, ids):
        """Logits [B, T, V] for token ids [B, T], every sequence from the zero state."""
        x = self.model.embeddings(ids)
        for layer in self.model.layers:
            x = layer(x)
        return F.linear(self.model.norm(x), self.output_weight())

    # -- one token at a time ---------------------------------------------------------

    def initial_state(self):
        d = self.dims
        w = self.model.embeddings.weight
        return [w.new_zeros(d.H, d.dk, d.dv) for _ in range(d.L)]

    @torch.no_grad()
    def step(self, token_id, state):
        """Runs one token through the recurrent form, updating `state` (a list of
        [H, dk, dv]; kv heads stored once per query head); returns logits [V]."""
        x = self.model.embeddings.weight[token_id].view(1, 1, -1)
        for layer, s in zip(self.model.layers, state):
            q, k, v, a, g = layer.attn.inputs(layer.attn_norm(x))   # [1, H, 1, dim]
            q, k, v, a = q[0, :, 0], k[0, :, 0], v[0, :, 0], a[0, :, 0]
            s.mul_(a.exp()[:, :, None]).add_(k[:, :, None] * v[:, None, :])
            o = (q[:, None, :] @ s)[None, :, :, :]                 # [1, H, 1, dv]
            x = x + layer.attn.finish(o, g)
            x = x + layer.mlp(layer.mlp_norm(x))
        return F.linear(self.model.norm(x), self.output_weight())[0, 0]


# ----------------------------------------------------------------------------------------
# Initialisation (fla's: N(0, initializer_range) weights, zero biases, unit norms, and the
# residual-writing projections scaled down by sqrt(2 L) as in GPT-2).


def init_weights(model, seed):
    gen = torch.Generator().manual_seed(seed)
    std = model.config.get("initializer_range", 0.02)
    for name, p in model.named_parameters():
        with torch.no_grad():
            if name.endswith("norm.weight") or name.endswith("norm_swish_gate.weight"):
                p.fill_(1.0)
            elif name.endswith(".bias"):
                p.zero_()
            else:
                scale = std
                if name.endswith("o_proj.weight") or name.endswith("down_proj.weight"):
                    scale /= math.sqrt(2 * model.dims.L)
                p.copy_(torch.randn(p.shape, generator=gen) * scale)


# ----------------------------------------------------------------------------------------
# Checkpoint files


def tensors_for_export(model):
    """{name: float32 numpy array} in the order fla lists them (tensor_shapes)."""
    state = {k: v.detach().float().cpu().numpy() for k, v in model.state_dict().items()}
    names = [name for name, _ in make_random_checkpoint.tensor_shapes(model.config)]
    if set(names) != set(state):
        raise ValueError(f"state_dict names differ from the checkpoint's: "
                         f"extra {sorted(set(state) - set(names))}, "
                         f"missing {sorted(set(names) - set(state))}")
    for name, shape in make_random_checkpoint.tensor_shapes(model.config):
        if tuple(state[name].shape) != tuple(shape):
            raise ValueError(f"{name}: shape {state[name].shape}, expected {shape}")
    return {name: state[name] for name in names}


def load_checkpoint(model_dir):
    """A GlaForCausalLM with the weights of a checkpoint directory, converted to fp32
    (reads the files with the numpy reference's safetensors reader)."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "reference"))
    import gla_reference
    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    model = GlaForCausalLM(config)
    tensors = gla_reference.load_tensors(model_dir)
    state = {name: torch.from_numpy(tensors[name]).float() for name in model.state_dict()}
    model.load_state_dict(state)
    return model.eval()
