#!/usr/bin/env python3
"""The test oracle: a plain float64 numpy GLA model, written straight from DESIGN.md
section 1 and sharing no code with the server.

It reads a flash-linear-attention checkpoint directory itself (config.json with fla's
defaults; one model.safetensors or HF shards + index; BF16 / F16 / F32 weights), runs
the model one token at a time with the recurrent form

    S_h = diag(exp(a_h)) S_h + k_h^T v_h ;   o_h = q_h S_h

and greedy-decodes. Clarity comes first: one function per step of the math, no
batching, no chunking. It is still fast enough for tests (a 2-layer D=64 model runs
100 tokens in a few tens of milliseconds).

    python3 tests/reference/gla_reference.py --model DIR --prompt-ids 1,2,3 \\
        --max-tokens 16 --logprobs 3
    python3 tests/reference/gla_reference.py --self-check

The first prints one JSON object: {"token_ids", "logprobs": [{"token_id", "logprob",
"top": [[id, lp], ...]}], "margins", "prompt_last_logits"}. --self-check checks this
file against an independent attention-form computation and the checkpoint tool against
this reader (see `self_check`).
"""

import argparse
import json
import math
import os
import struct
import sys
import tempfile
import time

try:
    import numpy as np
except ImportError:  # e.g. CMake found a Python (pyenv, venv) other than Debian's
    sys.exit(f"{sys.executable} has no numpy: install python3-numpy, or configure CMake "
             f"with -DPython3_EXECUTABLE=/usr/bin/python3")

# ----------------------------------------------------------------------------------------
# config.json

# fla's GLAConfig defaults for the fields the math depends on (DESIGN.md section 1).
CONFIG_DEFAULTS = {
    "num_kv_heads": None,
    "expand_k": 0.5,
    "expand_v": 1.0,
    "hidden_ratio": 4,
    "intermediate_size": None,
    "norm_eps": 1e-6,
    "tie_word_embeddings": False,
    "bos_token_id": 1,
    "eos_token_id": 2,
    "hidden_act": "swish",
    "use_output_gate": True,
    "use_short_conv": False,
    "feature_map": None,
    "clamp_min": None,
    "attn": None,
    "use_gv": False,
    "elementwise_affine": True,
    "fuse_norm": True,
    "gate_low_rank_dim": 16,
    "gate_logit_normalizer": 16,
}


class Config:
    """config.json with defaults filled in, plus the derived sizes of DESIGN.md."""

    def __init__(self, raw):
        c = dict(CONFIG_DEFAULTS)
        c.update(raw)
        self.raw = c
        self._refuse_unsupported(c)

        self.hidden_size = c["hidden_size"]                      # D
        self.num_layers = c["num_hidden_layers"]                 # L
        self.num_heads = c["num_heads"]                          # H
        self.num_kv_heads = c["num_kv_heads"] or self.num_heads  # H_kv
        self.vocab_size = c["vocab_size"]                        # V
        self.norm_eps = c["norm_eps"]
        self.tie_word_embeddings = c["tie_word_embeddings"]
        self.use_output_gate = c["use_output_gate"]
        self.clamp_min = c["clamp_min"]
        self.gate_logit_normalizer = c["gate_logit_normalizer"]
        self.bos_token_id = c["bos_token_id"]
        self.eos_token_id = c["eos_token_id"]

        self.key_dim = int(self.hidden_size * c["expand_k"])     # Kd
        self.value_dim = int(self.hidden_size * c["expand_v"])   # Vd
        if self.key_dim % self.num_heads or self.value_dim % self.num_heads:
            raise ValueError(f"num_heads={self.num_heads} must divide key dim {self.key_dim} "
                             f"and value dim {self.value_dim}")
        if self.num_heads % self.num_kv_heads:
            raise ValueError(f"num_kv_heads={self.num_kv_heads} must divide "
                             f"num_heads={self.num_heads}")
        self.head_k_dim = self.key_dim // self.num_heads         # dk
        self.head_v_dim = self.value_dim // self.num_heads       # dv
        self.kv_group_size = self.num_heads // self.num_kv_heads
        if c["intermediate_size"] is not None:
            self.intermediate_size = c["intermediate_size"]
        else:
            # 2/3 of hidden_ratio * D, rounded up to a multiple of 256 (fla's GatedMLP).
            width = int(self.hidden_size * c["hidden_ratio"] * 2 / 3)
            self.intermediate_size = 256 * math.ceil(width / 256)

        # fla fuses the output norm with the swish gate, and names the weight after it,
        # only when there is a gate, fuse_norm is on and the gate is swish.
        fused = self.use_output_gate and c["fuse_norm"] and c["hidden_act"] == "swish"
        self.output_norm_name = "g_norm_swish_gate" if fused else "g_norm"

    @staticmethod
    def _refuse_unsupported(c):
        """The options DESIGN.md says we do not implement, named with their value."""
        problems = []
        if c["use_short_conv"]:
            problems.append("use_short_conv")
        if c["feature_map"] is not None:
            problems.append("feature_map")
        if c["attn"] is not None:
            problems.append("attn")
        if c["use_gv"]:
            problems.append("use_gv")
        if c["hidden_act"] not in ("swish", "silu"):
            problems.append("hidden_act")
        if not c["elementwise_affine"]:
            problems.append("elementwise_affine")
        if problems:
            raise ValueError("unsupported config: " +
                             ", ".join(f"{p}={json.dumps(c[p])}" for p in problems))


def load_config(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        return Config(json.load(f))


# ----------------------------------------------------------------------------------------
# safetensors


def _decode(dtype, raw, shape):
    """Raw little-endian bytes -> float64 array."""
    if dtype == "BF16":
        # bf16 is the top half of an fp32: shift the bits back up.
        bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
        values = bits.view(np.float32)
    elif dtype == "F16":
        values = np.frombuffer(raw, dtype="<f2")
    elif dtype == "F32":
        values = np.frombuffer(raw, dtype="<f4")
    else:
        raise ValueError(f"unsupported safetensors dtype {dtype}")
    return values.astype(np.float64).reshape(shape)


def read_safetensors(path):
    """{name: float64 array} from one .safetensors file."""
    with open(path, "rb") as f:
        data = f.read()
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + header_len])
    base = 8 + header_len
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        count = int(np.prod(info["shape"], dtype=np.int64))
        item_size = {"BF16": 2, "F16": 2, "F32": 4}.get(info["dtype"], 0)
        if end - begin != count * item_size or base + end > len(data):
            raise ValueError(f"{path}: tensor {name} has bad offsets {info['data_offsets']}")
        tensors[name] = _decode(info["dtype"], data[base + begin:base + end], info["shape"])
    return tensors


def load_tensors(model_dir):
    """All tensors of a checkpoint: model.safetensors, or the shards its index names."""
    single = os.path.join(model_dir, "model.safetensors")
    if os.path.exists(single):
        return read_safetensors(single)
    with open(os.path.join(model_dir, "model.safetensors.index.json")) as f:
        weight_map = json.load(f)["weight_map"]
    tensors = {}
    for file_name in sorted(set(weight_map.values())):
        tensors.update(read_safetensors(os.path.join(model_dir, file_name)))
    missing = set(weight_map) - set(tensors)
    if missing:
        raise ValueError(f"index names tensors missing from the shards: {sorted(missing)}")
    return tensors


# ----------------------------------------------------------------------------------------
# The math


def rms_norm(x, weight, eps):
    """x / sqrt(mean(x^2) + eps) * weight, over the last axis."""
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * weight


def log_sigmoid(z):
    """log(1 / (1 + e^-z)), without overflow for large |z|."""
    return -np.logaddexp(0.0, -z)


def sigmoid(z):
    return np.exp(log_sigmoid(z))


def silu(z):
    return z * sigmoid(z)


def log_softmax(logits):
    shifted = logits - np.max(logits)
    return shifted - np.log(np.sum(np.exp(shifted)))


def recurrent_step(state, q, k, v, a, kv_group_size):
    """One token of gated linear attention, updating `state` in place.

    state [H_kv, dk, dv]; q [H, dk] (already scaled); k, a [H_kv, dk]; v [H_kv, dv].
    Returns o [H, dv]. Query head i reads the state of kv head i // kv_group_size.
    """
    num_kv_heads = state.shape[0]
    for j in range(num_kv_heads):
        # S = diag(exp(a)) S + k^T v: every key channel c forgets by exp(a[c]).
        state[j] = np.exp(a[j])[:, None] * state[j] + np.outer(k[j], v[j])
    o = np.empty((q.shape[0], state.shape[2]))
    for i in range(q.shape[0]):
        o[i] = q[i] @ state[i // kv_group_size]  # the current token is included
    return o


class GlaModel:
    """A checkpoint's weights and the forward pass, one token at a time."""

    def __init__(self, config, tensors):
        self.config = config
        self.tensors = tensors
        c = config
        expected = {"model.embeddings.weight": (c.vocab_size, c.hidden_size),
                    "model.norm.weight": (c.hidden_size,)}
        if not c.tie_word_embeddings:
            expected["lm_head.weight"] = (c.vocab_size, c.hidden_size)
        for name, shape in expected.items():
            self._check_shape(name, shape)
        self.layers = [self._layer(i) for i in range(c.num_layers)]
        self.lm_head = tensors["model.embeddings.weight" if c.tie_word_embeddings
                               else "lm_head.weight"]

    @classmethod
    def load(cls, model_dir):
        return cls(load_config(model_dir), load_tensors(model_dir))

    def _check_shape(self, name, shape):
        if name not in self.tensors:
            raise ValueError(f"checkpoint lacks tensor {name}")
        if tuple(self.tensors[name].shape) != tuple(shape):
            raise ValueError(f"{name} has shape {list(self.tensors[name].shape)}, "
                             f"expected {list(shape)}")

    def _layer(self, i):
        """Layer i's weights as a dict of short names, shapes checked against DESIGN.md."""
        c = self.config
        d, dk, dv = c.hidden_size, c.head_k_dim, c.head_v_dim
        kd_kv, vd_kv = c.num_kv_heads * dk, c.num_kv_heads * dv
        r = c.raw["gate_low_rank_dim"]
        shapes = {
            "attn_norm.weight": (d,),
            "attn.q_proj.weight": (c.key_dim, d),
            "attn.k_proj.weight": (kd_kv, d),
            "attn.v_proj.weight": (vd_kv, d),
            "attn.gk_proj.0.weight": (r, d),
            "attn.gk_proj.1.weight": (kd_kv, r),
            "attn.gk_proj.1.bias": (kd_kv,),
            "attn.o_proj.weight": (d, c.value_dim),
            f"attn.{c.output_norm_name}.weight": (dv,),
            "mlp_norm.weight": (d,),
            "mlp.gate_proj.weight": (c.intermediate_size, d),
            "mlp.up_proj.weight": (c.intermediate_size, d),
            "mlp.down_proj.weight": (d, c.intermediate_size),
        }
        if c.use_output_gate:
            shapes["attn.g_proj.weight"] = (c.value_dim, d)
        layer = {}
        for name, shape in shapes.items():
            full = f"model.layers.{i}.{name}"
            self._check_shape(full, shape)
            layer[name] = self.tensors[full]
        layer["output_norm.weight"] = layer[f"attn.{c.output_norm_name}.weight"]
        return layer

    def initial_state(self):
        """Zero state for a new sequence: per layer [H_kv, dk, dv]."""
        c = self.config
        return [np.zeros((c.num_kv_heads, c.head_k_dim, c.head_v_dim))
                for _ in range(c.num_layers)]

    # The layer is split in three so that the self-check can run the same projections
    # with a different (attention-form) middle: attention_inputs -> mix -> finish_layer.

    def attention_inputs(self, layer, x):
        """q, k, v, a, g for the residual x ([D] or [T, D]), split into heads."""
        c = self.config
        lead = x.shape[:-1]
        h = rms_norm(x, layer["attn_norm.weight"], c.norm_eps)
        q = h @ layer["attn.q_proj.weight"].T * c.head_k_dim ** -0.5  # the scale goes on q
        k = h @ layer["attn.k_proj.weight"].T
        v = h @ layer["attn.v_proj.weight"].T
        gate_logits = ((h @ layer["attn.gk_proj.0.weight"].T) @ layer["attn.gk_proj.1.weight"].T
                       + layer["attn.gk_proj.1.bias"])
        a = log_sigmoid(gate_logits) / c.gate_logit_normalizer  # log forget gate, <= 0
        if c.clamp_min is not None:
            a = np.maximum(a, c.clamp_min)
        g = h @ layer["attn.g_proj.weight"].T if c.use_output_gate else None

        def heads(t, num, dim):
            return t.reshape(lead + (num, dim))

        return (heads(q, c.num_heads, c.head_k_dim),
                heads(k, c.num_kv_heads, c.head_k_dim),
                heads(v, c.num_kv_heads, c.head_v_dim),
                heads(a, c.num_kv_heads, c.head_k_dim),
                None if g is None else heads(g, c.num_heads, c.head_v_dim))

    def finish_layer(self, layer, x, o, g):
        """Output norm and gate, o_proj, residual, then the MLP block. o, g: [..., H, dv]."""
        c = self.config
        o = rms_norm(o, layer["output_norm.weight"], c.norm_eps)  # per head, over dv
        if g is not None:
            o = o * silu(g)  # g * sigmoid(g)
        x = x + o.reshape(x.shape[:-1] + (c.value_dim,)) @ layer["attn.o_proj.weight"].T
        h = rms_norm(x, layer["mlp_norm.weight"], c.norm_eps)
        mlp = silu(h @ layer["mlp.gate_proj.weight"].T) * (h @ layer["mlp.up_proj.weight"].T)
        return x + mlp @ layer["mlp.down_proj.weight"].T

    def logits(self, x):
        return rms_norm(x, self.tensors["model.norm.weight"], self.config.norm_eps) @ self.lm_head.T

    def step(self, token_id, state):
        """Runs one token through every layer, updating `state`; returns logits [V]."""
        x = self.tensors["model.embeddings.weight"][token_id]
        for layer, layer_state in zip(self.layers, state):
            q, k, v, a, g = self.attention_inputs(layer, x)
            o = recurrent_step(layer_state, q, k, v, a, self.config.kv_group_size)
            x = self.finish_layer(layer, x, o, g)
        return self.logits(x)


# ----------------------------------------------------------------------------------------
# Greedy decoding and its report


def greedy_decode(model, prompt_ids, max_tokens):
    """Greedy-decodes `max_tokens` tokens (no EOS stop). Returns (token_ids, step_logits)
    where step_logits[i] are the logits token_ids[i] was chosen from (step_logits[0]:
    after the last prompt token). Exact ties go to the lowest id."""
    if not prompt_ids:
        raise ValueError("the prompt must have at least one token")
    state = model.initial_state()
    for token_id in prompt_ids:
        logits = model.step(token_id, state)
    token_ids, step_logits = [], []
    for i in range(max_tokens):
        token_id = int(np.argmax(logits))
        token_ids.append(token_id)
        step_logits.append(logits)
        if i + 1 < max_tokens:
            logits = model.step(token_id, state)
    return token_ids, step_logits


def top_two_margin(logits):
    """Gap between the best and second-best logit: below rounding noise, the greedy
    choice is a coin toss between implementations."""
    top2 = np.partition(logits, -2)[-2:]
    return float(top2[1] - top2[0])


def top_logprobs(logprobs, k):
    """[[id, lp], ...] for the k most likely tokens, most likely first, ties by id."""
    order = sorted(range(len(logprobs)), key=lambda t: (-logprobs[t], t))[:k]
    return [[t, float(logprobs[t])] for t in order]


def decode_report(token_ids, step_logits, num_top):
    """The JSON object the CLI prints (see the module docstring)."""
    entries, margins = [], []
    for token_id, logits in zip(token_ids, step_logits):
        lp = log_softmax(logits)
        entries.append({"token_id": token_id, "logprob": float(lp[token_id]),
                        "top": top_logprobs(lp, num_top)})
        margins.append(top_two_margin(logits))
    return {"token_ids": token_ids, "logprobs": entries, "margins": margins,
            "prompt_last_logits": [float(v) for v in step_logits[0]] if step_logits else []}


# ----------------------------------------------------------------------------------------
# Self-check: the recurrence against the attention form, the reader against the writer.


def attention_form(q, k, v, a, kv_group_size, initial_state=None):
    """Gated linear attention without a state, for checking `recurrent_step`:

        o_t = (q_t * exp(b_t)) S0 + sum_{s<=t} (q_t . (k_s * exp(b_t - b_s))) v_s

    where b_t is the running sum of a up to and including t, so exp(b_t - b_s) is the
    product of the forget gates of tokens s+1..t. Also returns the final state
    S_T = exp(b_T) S0 + sum_s (k_s * exp(b_T - b_s))^T v_s.
    q [T, H, dk]; k, a [T, H_kv, dk]; v [T, H_kv, dv]; S0 [H_kv, dk, dv].
    """
    num_tokens, num_heads, _ = q.shape
    num_kv_heads, dv = v.shape[1], v.shape[2]
    b = np.cumsum(a, axis=0)
    o = np.zeros((num_tokens, num_heads, dv))
    for t in range(num_tokens):
        for i in range(num_heads):
            j = i // kv_group_size
            if initial_state is not None:
                o[t, i] += (q[t, i] * np.exp(b[t, j])) @ initial_state[j]
            for s in range(t + 1):
                o[t, i] += (q[t, i] @ (k[s, j] * np.exp(b[t, j] - b[s, j]))) * v[s, j]
    final = np.zeros((num_kv_heads, q.shape[2], dv))
    for j in range(num_kv_heads):
        if initial_state is not None:
            final[j] = np.exp(b[-1, j])[:, None] * initial_state[j]
        for s in range(num_tokens):
            final[j] += np.outer(k[s, j] * np.exp(b[-1, j] - b[s, j]), v[s, j])
    return o, final


def forward_all_tokens(model, token_ids):
    """Logits at every position, computing each layer over the whole sequence with the
    attention form instead of the state: an independent path to compare `step` with."""
    x = model.tensors["model.embeddings.weight"][list(token_ids)]
    for layer in model.layers:
        q, k, v, a, g = model.attention_inputs(layer, x)
        o, _ = attention_form(q, k, v, a, model.config.kv_group_size)
        x = model.finish_layer(layer, x, o, g)
    return model.logits(x)


def _import_checkpoint_tool():
    """scripts/make_random_checkpoint.py, found relative to this file."""
    scripts = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts")
    sys.path.insert(0, os.path.normpath(scripts))
    import make_random_checkpoint
    return make_random_checkpoint


class _Checks:
    """Collects named pass/fail results so one run reports every failure."""

    def __init__(self):
        self.failures = []

    def expect(self, ok, what):
        print(("ok   " if ok else "FAIL ") + what)
        if not ok:
            self.failures.append(what)

    def close(self, name, got, want, tol):
        err = float(np.max(np.abs(np.asarray(got) - np.asarray(want))))
        self.expect(err <= tol, f"{name}: max abs diff {err:.3g} <= {tol:g}")


def _check_recurrence(checks):
    rng = np.random.default_rng(1)
    for num_heads, num_kv_heads, clamp in ((2, 2, None), (4, 2, None), (3, 1, -0.05)):
        t, dk, dv = 37, 8, 12
        q = rng.standard_normal((t, num_heads, dk)) * dk ** -0.5
        k = rng.standard_normal((t, num_kv_heads, dk))
        v = rng.standard_normal((t, num_kv_heads, dv))
        # Strong and weak decays both, as the checkpoint tool draws them.
        a = -np.exp(rng.uniform(math.log(1e-3), math.log(1.5), (t, num_kv_heads, dk)))
        if clamp is not None:
            a = np.maximum(a, clamp)
        s0 = rng.standard_normal((num_kv_heads, dk, dv))
        want_o, want_state = attention_form(q, k, v, a, num_heads // num_kv_heads, s0)
        state = s0.copy()
        got_o = np.stack([recurrent_step(state, q[i], k[i], v[i], a[i],
                                         num_heads // num_kv_heads) for i in range(t)])
        name = f"recurrence vs attention form (H={num_heads} H_kv={num_kv_heads} clamp={clamp})"
        checks.close(name + " outputs", got_o, want_o, 1e-10)
        checks.close(name + " final state", state, want_state, 1e-10)


def _check_safetensors(checks, tool, tmp):
    # bf16 rounding: nearest, ties to even (1 + 2^-8 is halfway between 1 and 1 + 2^-7).
    samples = np.array([1.0, 1 + 2 ** -8, 1 + 3 * 2 ** -8, -2.5, 1 + 2 ** -9], np.float32)
    checks.expect(list(tool.float_to_bf16_bits(samples)) == [0x3F80, 0x3F80, 0x3F82, 0xC020,
                                                             0x3F80],
                  "bf16 rounds to nearest even")
    values = np.random.default_rng(2).standard_normal((3, 5)) * 100
    for dtype, tol in (("F32", 1e-4), ("F16", 0.1), ("BF16", 1.0)):
        path = os.path.join(tmp, f"t_{dtype}.safetensors")
        tool.write_safetensors(path, {"w": values, "b": values[0]}, dtype)
        with open(path, "rb") as f:
            (header_len,) = struct.unpack("<Q", f.read(8))
        back = read_safetensors(path)
        checks.expect(header_len % 8 == 0, f"{dtype}: header padded to a multiple of 8")
        checks.close(f"{dtype}: round trip", back["w"], values, tol)
        checks.expect(np.array_equal(back["b"], back["w"][0]), f"{dtype}: second tensor intact")
    f32 = values.astype(np.float32).astype(np.float64)
    bf16 = read_safetensors(os.path.join(tmp, "t_BF16.safetensors"))["w"]
    checks.expect(np.array_equal(bf16.astype(np.float32).view(np.uint32) & 0xFFFF,
                                 np.zeros_like(bf16, dtype=np.uint32)),
                  "BF16: values read back are exact bf16 numbers")
    checks.expect(np.all(np.abs(bf16 - f32) <= np.abs(f32) * 2 ** -8),
                  "BF16: within half an ulp of the fp32 value")

    # One file and shards hold the same tensors.
    single = os.path.join(tmp, "single")
    sharded = os.path.join(tmp, "sharded")
    tool.write_checkpoint(single, seed=3, tie_word_embeddings=False, dtype="f16")
    tool.write_checkpoint(sharded, seed=3, tie_word_embeddings=False, dtype="f16", shards=3)
    with open(os.path.join(sharded, "model.safetensors.index.json")) as f:
        index = json.load(f)
    files = sorted(set(index["weight_map"].values()))
    checks.expect(files == [f"model-0000{i}-of-00003.safetensors" for i in (1, 2, 3)],
                  f"shards named as HF names them: {files}")
    total = sum(t.size * 2 for t in load_tensors(sharded).values())
    checks.expect(index["metadata"]["total_size"] == total, "index total_size = tensor bytes")
    a, b = load_tensors(single), load_tensors(sharded)
    checks.expect(a.keys() == b.keys() and all(np.array_equal(a[n], b[n]) for n in a),
                  "sharded checkpoint holds the same tensors as the single file")


def _check_checkpoints(checks, tool, tmp):
    cases = [
        ("tied bf16", dict(seed=0)),
        ("odd heads f32", dict(seed=1, hidden_size=96, num_layers=3, num_heads=3, dtype="f32")),
        ("kv groups untied", dict(seed=2, hidden_size=128, num_heads=4, num_kv_heads=2,
                                  tie_word_embeddings=False, dtype="f16", shards=2)),
        ("no gate, clamp", dict(seed=3, use_output_gate=False, clamp_min=-0.05)),
        ("silu, unfused norm", dict(seed=4, overrides={"hidden_act": "silu",
                                                       "fuse_norm": False})),
    ]
    rng = np.random.default_rng(4)
    for name, options in cases:
        model_dir = os.path.join(tmp, name.replace(" ", "_").replace(",", ""))
        tool.write_checkpoint(model_dir, **options)
        model = GlaModel.load(model_dir)
        ids = [int(t) for t in rng.integers(0, model.config.vocab_size, 20)]
        state = model.initial_state()
        recurrent = np.stack([model.step(t, state) for t in ids])
        checks.close(f"{name}: token-by-token logits vs attention form",
                     recurrent, forward_all_tokens(model, ids), 1e-9)

        # The random model must be usable for greedy tests: a spread of logits and a
        # non-degenerate continuation (not just the last token over and over).
        tokens, step_logits = greedy_decode(model, ids[:5], 32)
        margins = [top_two_margin(l) for l in step_logits]
        spread = float(np.mean([np.std(l) for l in step_logits]))
        checks.expect(len(set(tokens)) >= 4,
                      f"{name}: greedy output varies ({len(set(tokens))} distinct of 32)")
        checks.expect(spread > 1.0, f"{name}: logit spread {spread:.2f} > 1")
        checks.expect(sum(m < 1e-3 for m in margins) <= 1,
                      f"{name}: near-ties (margin < 1e-3) at most once in 32 "
                      f"(min margin {min(margins):.3g})")

    # Grouped kv heads = full heads whose k, v and gate rows are repeated per group: query
    # head i must read kv head i // (H / H_kv), as fla's repeat '(h d) -> (h g) d' does.
    grouped = GlaModel.load(os.path.join(tmp, "kv_groups_untied"))
    c = grouped.config
    expanded = dict(grouped.tensors)
    for i in range(c.num_layers):
        for name, dim in (("k_proj.weight", c.head_k_dim), ("v_proj.weight", c.head_v_dim),
                          ("gk_proj.1.weight", c.head_k_dim), ("gk_proj.1.bias", c.head_k_dim)):
            full = f"model.layers.{i}.attn.{name}"
            per_head = expanded[full].reshape((c.num_kv_heads, dim) + expanded[full].shape[1:])
            expanded[full] = np.repeat(per_head, c.kv_group_size, axis=0).reshape(
                (c.num_heads * dim,) + expanded[full].shape[1:])
    full_heads = GlaModel(Config(dict(c.raw, num_kv_heads=None)), expanded)
    ids = [5, 17, 200, 3, 3, 99, 1]
    s1, s2 = grouped.initial_state(), full_heads.initial_state()
    checks.close("grouped kv heads vs repeated full heads",
                 [grouped.step(t, s1) for t in ids], [full_heads.step(t, s2) for t in ids], 1e-9)

    # The same seed gives the same bytes; another seed another model.
    again = os.path.join(tmp, "again")
    tool.write_checkpoint(again, seed=0)
    same = open(os.path.join(again, "model.safetensors"), "rb").read() == open(
        os.path.join(tmp, "tied_bf16", "model.safetensors"), "rb").read()
    checks.expect(same, "checkpoint tool is deterministic")
    tool.write_checkpoint(again, seed=9)
    diff = open(os.path.join(again, "model.safetensors"), "rb").read() != open(
        os.path.join(tmp, "tied_bf16", "model.safetensors"), "rb").read()
    checks.expect(diff, "another seed gives other weights")


def _check_config(checks, tool, tmp):
    model_dir = os.path.join(tmp, "config")
    tool.write_checkpoint(model_dir)
    with open(os.path.join(model_dir, "config.json")) as f:
        raw = json.load(f)
    checks.expect(raw["model_type"] == "gla" and raw["architectures"] == ["GLAForCausalLM"],
                  "config.json names the gla architecture")
    checks.expect(raw["num_kv_heads"] is None and raw["intermediate_size"] is None
                  and raw["clamp_min"] is None, "unset options are written as null")
    config = Config(raw)
    checks.expect(config.intermediate_size == 256 and config.head_k_dim == 16
                  and config.head_v_dim == 32, "derived sizes for D=64 H=2")
    checks.expect(Config(dict(raw, hidden_size=2048, num_heads=4)).intermediate_size == 5632,
                  "derived MLP width of gla-1.3B is 5632")
    for field, value in (("use_short_conv", True), ("feature_map", "relu"), ("use_gv", True),
                         ("attn", {"layers": [1], "num_heads": 2}), ("hidden_act", "gelu")):
        tool.write_checkpoint(model_dir, overrides={field: value})
        try:
            load_config(model_dir)
            checks.expect(False, f"{field}={json.dumps(value)} is refused")
        except ValueError as e:
            checks.expect(field in str(e), f"{field}={json.dumps(value)} is refused: {e}")


def _check_speed(checks, tool, tmp):
    model_dir = os.path.join(tmp, "speed")
    tool.write_checkpoint(model_dir)
    model = GlaModel.load(model_dir)
    start = time.perf_counter()
    greedy_decode(model, [1], 100)
    seconds = time.perf_counter() - start
    # The brief is "well under a second"; the bound is loose for busy CI machines.
    checks.expect(seconds < 5.0, f"100 tokens of a 2-layer D=64 model in {seconds:.3f} s")


def self_check():
    tool = _import_checkpoint_tool()
    checks = _Checks()
    with tempfile.TemporaryDirectory(prefix="gla_reference_") as tmp:
        _check_recurrence(checks)
        _check_safetensors(checks, tool, tmp)
        _check_config(checks, tool, tmp)
        _check_checkpoints(checks, tool, tmp)
        _check_speed(checks, tool, tmp)
    if checks.failures:
        print(f"\n{len(checks.failures)} self-check(s) failed:")
        for what in checks.failures:
            print("  " + what)
        return 1
    print("\nall self-checks passed")
    return 0


# ----------------------------------------------------------------------------------------
# Command line


def main(argv=None):
    parser = argparse.ArgumentParser(description="float64 reference GLA model (test oracle)")
    parser.add_argument("--model", help="checkpoint directory")
    parser.add_argument("--prompt-ids", help="comma-separated prompt token ids")
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--logprobs", type=int, default=0, metavar="K",
                        help="report the K most likely tokens of each step")
    parser.add_argument("--self-check", action="store_true",
                        help="check the reference and the checkpoint tool, then exit")
    args = parser.parse_args(argv)
    if args.self_check:
        return self_check()
    if not args.model or not args.prompt_ids:
        parser.error("--model and --prompt-ids are required (or --self-check)")
    prompt_ids = [int(t) for t in args.prompt_ids.split(",") if t.strip()]
    try:
        model = GlaModel.load(args.model)
        if any(not 0 <= t < model.config.vocab_size for t in prompt_ids):
            raise ValueError(f"prompt ids must lie in [0, {model.config.vocab_size})")
        token_ids, step_logits = greedy_decode(model, prompt_ids, args.max_tokens)
    except (OSError, ValueError) as e:
        print(f"gla_reference: {e}", file=sys.stderr)
        return 2
    print(json.dumps(decode_report(token_ids, step_logits, args.logprobs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
