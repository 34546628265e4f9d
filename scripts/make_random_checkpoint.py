#!/usr/bin/env python3
"""Writes a random GLA checkpoint in flash-linear-attention's format (DESIGN.md section 1).

Tests need checkpoints of many shapes (odd head counts, grouped kv heads, every dtype,
sharded files, unsupported options) without downloading anything. This tool writes
config.json + safetensors exactly as fla / Hugging Face would, with weights drawn from
a seed so that every run of a test sees the same model.

The weights are chosen so that the random model behaves like a usable one: activations
stay O(1) through every layer, forget gates cover short and long memories, and the
logits have clear winners so greedy decoding is well defined (see `_init_tensor`).

    python3 scripts/make_random_checkpoint.py --out /tmp/gla --hidden-size 96 \\
        --num-layers 3 --num-heads 3 --dtype f32

or, from Python: `write_checkpoint("/tmp/gla", hidden_size=96, num_heads=3)`.
Only the standard library and numpy are used (CI runs Debian's python3-numpy).
"""

import argparse
import json
import math
import os
import shutil
import struct
import sys
import zlib

try:
    import numpy as np
except ImportError:  # e.g. CMake found a Python (pyenv, venv) other than Debian's
    sys.exit(f"{sys.executable} has no numpy: install python3-numpy, or configure CMake "
             f"with -DPython3_EXECUTABLE=/usr/bin/python3")

# Tokenizer files copied along with --tokenizer DIR (when present there).
TOKENIZER_FILES = ("tokenizer.model", "tokenizer_config.json")

# safetensors dtype names and their on-disk element sizes.
DTYPE_NAMES = {"bf16": "BF16", "f16": "F16", "f32": "F32"}
DTYPE_SIZES = {"BF16": 2, "F16": 2, "F32": 4}
TORCH_DTYPE = {"bf16": "bfloat16", "f16": "float16", "f32": "float32"}


# ----------------------------------------------------------------------------------------
# config.json


def _plain_number(x):
    """4.0 -> 4 so ratios look like fla's configs ("expand_v": 1, "hidden_ratio": 4)."""
    if isinstance(x, float) and x.is_integer():
        return int(x)
    return x


def make_config(hidden_size=64, num_layers=2, num_heads=2, num_kv_heads=None, expand_k=0.5,
                expand_v=1.0, hidden_ratio=4, intermediate_size=None, vocab_size=256,
                tie_word_embeddings=True, dtype="bf16", use_output_gate=True, clamp_min=None,
                norm_eps=1e-6, bos_token_id=1, eos_token_id=2, overrides=None):
    """Returns the config.json dict: every field of fla's GLAConfig, plus the two gate
    constants the layer uses (fla leaves them at their defaults; we write them out so
    the files say everything the math depends on). `overrides` replaces or adds raw
    fields last, which is how tests write options we refuse (use_short_conv=true)."""
    config = {
        "architectures": ["GLAForCausalLM"],
        "attn": None,
        "attn_mode": "chunk",
        "bos_token_id": bos_token_id,
        "clamp_min": clamp_min,
        "conv_size": 4,
        "elementwise_affine": True,
        "eos_token_id": eos_token_id,
        "expand_k": _plain_number(expand_k),
        "expand_v": _plain_number(expand_v),
        "feature_map": None,
        "fuse_cross_entropy": True,
        "fuse_norm": True,
        "fuse_swiglu": True,
        "gate_logit_normalizer": 16,
        "gate_low_rank_dim": 16,
        "hidden_act": "swish",
        "hidden_ratio": _plain_number(hidden_ratio),
        "hidden_size": hidden_size,
        "initializer_range": 0.02,
        "intermediate_size": intermediate_size,
        "max_position_embeddings": 2048,
        "model_type": "gla",
        "norm_eps": norm_eps,
        "num_heads": num_heads,
        "num_hidden_layers": num_layers,
        "num_kv_heads": num_kv_heads,
        "pad_token_id": None,
        "tie_word_embeddings": tie_word_embeddings,
        "torch_dtype": TORCH_DTYPE[dtype],
        "use_cache": True,
        "use_gk": True,
        "use_gv": False,
        "use_output_gate": use_output_gate,
        "use_short_conv": False,
        "vocab_size": vocab_size,
    }
    config.update(overrides or {})
    return config


# ----------------------------------------------------------------------------------------
# Tensor shapes (DESIGN.md section 1), derived from the final config so that --set
# overrides of shape fields (fuse_norm, gate_low_rank_dim, ...) stay consistent.


def derived_dims(config):
    """The sizes the tensor table is written in terms of."""
    d = config["hidden_size"]
    h = config["num_heads"]
    h_kv = config.get("num_kv_heads") or h
    key_dim = int(d * config.get("expand_k", 0.5))
    value_dim = int(d * config.get("expand_v", 1.0))
    if key_dim % h or value_dim % h:
        raise ValueError(f"key dim {key_dim} and value dim {value_dim} must divide by "
                         f"num_heads={h}")
    if h % h_kv:
        raise ValueError(f"num_kv_heads={h_kv} must divide num_heads={h}")
    intermediate = config.get("intermediate_size")
    if intermediate is None:
        # fla's GatedMLP: 2/3 of hidden_ratio * D, rounded up to a multiple of 256.
        intermediate = int(d * config.get("hidden_ratio", 4) * 2 / 3)
        intermediate = 256 * ((intermediate + 256 - 1) // 256)
    group = h // h_kv
    return {
        "D": d, "H": h, "H_kv": h_kv, "Kd": key_dim, "Vd": value_dim,
        "dk": key_dim // h, "dv": value_dim // h,
        "Kd_kv": key_dim // group, "Vd_kv": value_dim // group,
        "I": intermediate, "R": config.get("gate_low_rank_dim", 16),
        "V": config["vocab_size"],
    }


def output_norm_name(config):
    """fla fuses the output norm with the swish gate (and names it g_norm_swish_gate)
    only when there is a gate, fuse_norm is on and the gate function is swish;
    otherwise the plain norm is called g_norm."""
    fused = (config.get("use_output_gate", True) and config.get("fuse_norm", True)
             and config.get("hidden_act", "swish") == "swish")
    return "g_norm_swish_gate" if fused else "g_norm"


def tensor_shapes(config):
    """[(name, shape)] of every tensor, in the order fla's state_dict lists them."""
    n = derived_dims(config)
    shapes = [("model.embeddings.weight", (n["V"], n["D"]))]
    for i in range(config["num_hidden_layers"]):
        p = f"model.layers.{i}."
        shapes += [
            (p + "attn_norm.weight", (n["D"],)),
            (p + "attn.q_proj.weight", (n["Kd"], n["D"])),
            (p + "attn.k_proj.weight", (n["Kd_kv"], n["D"])),
            (p + "attn.v_proj.weight", (n["Vd_kv"], n["D"])),
        ]
        if config.get("use_output_gate", True):
            shapes.append((p + "attn.g_proj.weight", (n["Vd"], n["D"])))
        shapes += [
            (p + "attn.gk_proj.0.weight", (n["R"], n["D"])),
            (p + "attn.gk_proj.1.weight", (n["Kd_kv"], n["R"])),
            (p + "attn.gk_proj.1.bias", (n["Kd_kv"],)),
            (p + "attn.o_proj.weight", (n["D"], n["Vd"])),
            (p + f"attn.{output_norm_name(config)}.weight", (n["dv"],)),
            (p + "mlp_norm.weight", (n["D"],)),
            (p + "mlp.gate_proj.weight", (n["I"], n["D"])),
            (p + "mlp.up_proj.weight", (n["I"], n["D"])),
            (p + "mlp.down_proj.weight", (n["D"], n["I"])),
        ]
    shapes.append(("model.norm.weight", (n["D"],)))
    if not config.get("tie_word_embeddings", False):
        shapes.append(("lm_head.weight", (n["V"], n["D"])))
    return shapes


# ----------------------------------------------------------------------------------------
# Initialisation


def _gate_bias(rng, size, normalizer):
    """Bias of gk_proj.1, chosen so the per-channel decays exp(a) spread over short and
    long memories: -a is log-uniform in [1e-3, 1.5] (decay 0.999 .. 0.22 per token), then
    inverted through a = logsigmoid(z) / normalizer. The strong decays matter: summed over
    a 64-token chunk they exceed the fp32 range of exp(-b), which is exactly what the
    chunkwise kernels' sub-chunking must survive."""
    neg_a = np.exp(rng.uniform(math.log(1e-3), math.log(1.5), size))
    # logsigmoid(z) = -log(1 + e^-z) = -normalizer * neg_a  =>  z = -log(expm1(...)).
    return -np.log(np.expm1(normalizer * neg_a))


# Scales of the random model (see _init_tensor). Token embeddings are small next to what
# the layers add to the residual stream, and the logits have a standard deviation of
# LOGIT_STD whether or not the embeddings are tied.
EMBED_STD = 0.05
LOGIT_STD = 4.0


def _init_tensor(name, shape, rng, config):
    """One tensor's values (float64), by role.

    Linear weights are N(0, 1/in_features), so each projection keeps unit-scale inputs at
    unit scale; norm weights are near 1 but not exactly, so a kernel that forgets one fails.

    Greedy decoding must have clear winners and must not degenerate. With tied embeddings
    the logit of token j is e_j . rms(x), and if the current token's own embedding e_t
    dominated the residual x, e_t . e_t would win every step and the model would repeat
    its last token forever. So embeddings are N(0, EMBED_STD^2), small next to the O(1)
    outputs of the layers (pre-norm layers do not care about the scale of their input),
    and the logit scale is set by lm_head, or by model.norm.weight when tied, to about
    LOGIT_STD: top-1 / top-2 gaps are then typically far above kernel rounding.
    """
    d = config["hidden_size"]
    if name == "model.norm.weight" and config.get("tie_word_embeddings", False):
        return (1.0 + 0.1 * rng.standard_normal(shape)) * LOGIT_STD / (EMBED_STD * math.sqrt(d))
    if name.endswith("norm.weight") or name.endswith("norm_swish_gate.weight"):
        return 1.0 + 0.1 * rng.standard_normal(shape)
    if name.endswith("gk_proj.1.bias"):
        return _gate_bias(rng, shape, config.get("gate_logit_normalizer", 16))
    if name == "model.embeddings.weight":
        return EMBED_STD * rng.standard_normal(shape)
    gain = LOGIT_STD if name == "lm_head.weight" else 1.0
    return rng.standard_normal(shape) * (gain / math.sqrt(shape[1]))


def random_weights(config, seed):
    """{name: float64 array}. Each tensor has its own generator seeded by (seed, name), so
    a tensor's values do not depend on which other tensors exist (e.g. untying lm_head
    leaves every layer as it was)."""
    weights = {}
    for name, shape in tensor_shapes(config):
        rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
        weights[name] = _init_tensor(name, shape, rng, config)
    return weights


# ----------------------------------------------------------------------------------------
# safetensors


def float_to_bf16_bits(x):
    """fp32 -> bf16 bit patterns (uint16), rounding to nearest, ties to even, as torch
    does: add 0x7FFF plus the lowest kept bit, then keep the top 16 bits."""
    bits = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    return rounded.astype(np.uint16)


def encode_tensor(values, dtype):
    """Little-endian bytes of `values` in safetensors dtype `dtype` ("BF16", "F16", "F32")."""
    if dtype == "BF16":
        return float_to_bf16_bits(values).astype("<u2").tobytes()
    if dtype == "F16":
        return np.asarray(values).astype("<f2").tobytes()
    if dtype == "F32":
        return np.asarray(values).astype("<f4").tobytes()
    raise ValueError(f"unsupported dtype {dtype}")


def write_safetensors(path, tensors, dtype):
    """Writes {name: array} to `path`: an 8-byte little-endian header length, the JSON
    header (padded with spaces to a multiple of 8, as the Rust writer does, so the data
    starts aligned), then each tensor's bytes back to back. Returns the data size."""
    header = {"__metadata__": {"format": "pt"}}
    blobs = []
    offset = 0
    for name, values in tensors.items():
        blob = encode_tensor(values, dtype)
        header[name] = {"dtype": dtype, "shape": list(np.shape(values)),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    header_bytes = json.dumps(header, separators=(",", ":")).encode()
    header_bytes += b" " * (-len(header_bytes) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header_bytes)))
        f.write(header_bytes)
        for blob in blobs:
            f.write(blob)
    return offset


def split_into_shards(names, sizes, num_shards):
    """Splits the ordered tensor list into `num_shards` contiguous, non-empty groups of
    roughly equal bytes (HF fills each shard up to a size limit, in order, the same way)."""
    if num_shards > len(names):
        raise ValueError(f"--shards {num_shards} exceeds the number of tensors ({len(names)})")
    target = sum(sizes) / num_shards
    shards = [[] for _ in range(num_shards)]
    shard_bytes = [0] * num_shards
    s = 0
    for i, (name, size) in enumerate(zip(names, sizes)):
        tensors_left = len(names) - i  # including this one
        later_shards = num_shards - 1 - s
        if shards[s] and later_shards > 0 and (shard_bytes[s] >= target
                                               or tensors_left <= later_shards):
            s += 1
        shards[s].append(name)
        shard_bytes[s] += size
    return shards


# ----------------------------------------------------------------------------------------
# The checkpoint


def write_checkpoint(out_dir, seed=0, hidden_size=64, num_layers=2, num_heads=2,
                     num_kv_heads=None, expand_k=0.5, expand_v=1.0, hidden_ratio=4,
                     intermediate_size=None, vocab_size=256, tie_word_embeddings=True,
                     dtype="bf16", shards=1, use_output_gate=True, clamp_min=None,
                     norm_eps=1e-6, bos_token_id=1, eos_token_id=2, overrides=None,
                     tokenizer=None):
    """Writes a checkpoint directory and returns its config dict.

    `dtype` is "bf16", "f16" or "f32"; `shards` > 1 writes HF-style shards plus
    model.safetensors.index.json; `overrides` is {field: value} applied to config.json
    last; `tokenizer` is a directory whose tokenizer.model / tokenizer_config.json are
    copied when present."""
    if dtype not in DTYPE_NAMES:
        raise ValueError(f"dtype must be one of {sorted(DTYPE_NAMES)}, got {dtype!r}")
    if shards < 1:
        raise ValueError(f"shards must be >= 1, got {shards}")
    base_config = make_config(
        hidden_size=hidden_size, num_layers=num_layers, num_heads=num_heads,
        num_kv_heads=num_kv_heads, expand_k=expand_k, expand_v=expand_v,
        hidden_ratio=hidden_ratio, intermediate_size=intermediate_size, vocab_size=vocab_size,
        tie_word_embeddings=tie_word_embeddings, dtype=dtype, use_output_gate=use_output_gate,
        clamp_min=clamp_min, norm_eps=norm_eps, bos_token_id=bos_token_id,
        eos_token_id=eos_token_id)
    config = dict(base_config, **(overrides or {}))
    try:
        # Shapes follow the final config, so an override of a shape field stays consistent.
        weights = random_weights(config, seed)
    except (ValueError, TypeError, KeyError, ZeroDivisionError):
        if not overrides:
            raise
        # The overrides make the shapes impossible (a test writing a config the server must
        # refuse, e.g. num_kv_heads not dividing num_heads): write the tensors of the
        # config as it was before the overrides.
        weights = random_weights(base_config, seed)
    st_dtype = DTYPE_NAMES[dtype]

    os.makedirs(out_dir, exist_ok=True)
    # Rewriting a directory: drop weights of an earlier run, which a reader could pick up
    # instead of (or mixed with) the new ones.
    for file_name in os.listdir(out_dir):
        if file_name.startswith("model") and (file_name.endswith(".safetensors")
                                               or file_name == "model.safetensors.index.json"):
            os.remove(os.path.join(out_dir, file_name))
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")

    if shards == 1:
        write_safetensors(os.path.join(out_dir, "model.safetensors"), weights, st_dtype)
    else:
        names = list(weights)
        sizes = [weights[n].size * DTYPE_SIZES[st_dtype] for n in names]
        weight_map = {}
        total_size = 0
        for i, group in enumerate(split_into_shards(names, sizes, shards)):
            file_name = f"model-{i + 1:05d}-of-{shards:05d}.safetensors"
            total_size += write_safetensors(os.path.join(out_dir, file_name),
                                            {n: weights[n] for n in group}, st_dtype)
            weight_map.update({n: file_name for n in group})
        index = {"metadata": {"total_size": total_size}, "weight_map": weight_map}
        with open(os.path.join(out_dir, "model.safetensors.index.json"), "w") as f:
            json.dump(index, f, indent=2, sort_keys=True)
            f.write("\n")

    if tokenizer:
        for file_name in TOKENIZER_FILES:
            source = os.path.join(tokenizer, file_name)
            if os.path.exists(source):
                shutil.copyfile(source, os.path.join(out_dir, file_name))
    return config


# ----------------------------------------------------------------------------------------
# Command line


def _parse_set(text):
    """--set key=jsonvalue; a value that is not JSON is taken as a string."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"--set expects key=jsonvalue, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="checkpoint directory (created)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hidden-size", type=int, default=64)
    parser.add_argument("--num-layers", type=int, default=2)
    parser.add_argument("--num-heads", type=int, default=2)
    parser.add_argument("--num-kv-heads", type=int, default=None,
                        help="default: null in config.json (= num_heads)")
    parser.add_argument("--expand-k", type=float, default=0.5)
    parser.add_argument("--expand-v", type=float, default=1.0)
    parser.add_argument("--hidden-ratio", type=float, default=4)
    parser.add_argument("--intermediate-size", type=int, default=None,
                        help="default: null in config.json (derived from hidden_ratio)")
    parser.add_argument("--vocab-size", type=int, default=256)
    parser.add_argument("--tie-word-embeddings", action=argparse.BooleanOptionalAction,
                        default=True)
    parser.add_argument("--dtype", choices=sorted(DTYPE_NAMES), default="bf16")
    parser.add_argument("--shards", type=int, default=1)
    parser.add_argument("--no-output-gate", dest="use_output_gate", action="store_false",
                        help="use_output_gate=false: no g_proj, norm named attn.g_norm")
    parser.add_argument("--clamp-min", type=float, default=None)
    parser.add_argument("--norm-eps", type=float, default=1e-6)
    parser.add_argument("--bos-token-id", type=int, default=1)
    parser.add_argument("--eos-token-id", type=int, default=2)
    parser.add_argument("--set", dest="overrides", type=_parse_set, action="append",
                        default=[], metavar="KEY=JSON",
                        help="override or add a raw config.json field (repeatable)")
    parser.add_argument("--tokenizer", default=None,
                        help="copy tokenizer.model and tokenizer_config.json from this dir")
    args = parser.parse_args(argv)

    try:
        _write_from_args(args)
    except (OSError, ValueError) as e:
        print(f"make_random_checkpoint: {e}", file=sys.stderr)
        return 2
    return 0


def _write_from_args(args):
    write_checkpoint(args.out, seed=args.seed, hidden_size=args.hidden_size,
                     num_layers=args.num_layers, num_heads=args.num_heads,
                     num_kv_heads=args.num_kv_heads, expand_k=args.expand_k,
                     expand_v=args.expand_v, hidden_ratio=args.hidden_ratio,
                     intermediate_size=args.intermediate_size, vocab_size=args.vocab_size,
                     tie_word_embeddings=args.tie_word_embeddings, dtype=args.dtype,
                     shards=args.shards, use_output_gate=args.use_output_gate,
                     clamp_min=args.clamp_min, norm_eps=args.norm_eps,
                     bos_token_id=args.bos_token_id, eos_token_id=args.eos_token_id,
                     overrides=dict(args.overrides), tokenizer=args.tokenizer)


if __name__ == "__main__":
    sys.exit(main())
