#!/usr/bin/env python3
"""Writes the seed corpora of tests/fuzz/corpus/ (committed; rerun after changing this).

Seeds are small valid inputs plus typical corruptions of them, so that the fuzzers start
from the formats' interesting corners. Needs protoc (GenerateRequest bytes), spm_train
(small tokenizer models) and the shipped models/gla-brown-4m. The state_blob seeds are a
real engine's exports instead, written by make_state_blob_seeds.cc.
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")
BROWN = os.path.join(ROOT, "models", "gla-brown-4m")


def write(target, name, data):
    path = os.path.join(CORPUS, target, name)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))


def safetensors(tensors, metadata=None, header=None):
    """tensors: name -> (dtype, shape, raw bytes); returns the file's bytes."""
    entries, data = {}, b""
    for name, (dtype, shape, raw) in tensors.items():
        entries[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    if metadata is not None:
        entries["__metadata__"] = metadata
    text = header if header is not None else json.dumps(entries).encode()
    return struct.pack("<Q", len(text)) + text + data


def safetensors_seeds():
    f32 = struct.pack("<6f", 1, -2, 3.5, 0, float("inf"), -0.0)
    write("safetensors_header", "valid_f32", safetensors({"w": ("F32", [2, 3], f32)}))
    write("safetensors_header", "valid_mixed", safetensors({
        "a": ("BF16", [4], bytes(range(8))), "b": ("F16", [], b"\x00\x3c"), "c": ("F32", [0, 5], b"")},
        metadata={"format": "pt"}))
    write("safetensors_header", "empty_header", safetensors({}))
    write("safetensors_header", "truncated", safetensors({"w": ("F32", [2, 3], f32)})[:-5])
    write("safetensors_header", "short", b"\x05\x00\x00")
    write("safetensors_header", "huge_header_length", struct.pack("<Q", 1 << 62) + b"{}")
    write("safetensors_header", "bad_json", safetensors({}, header=b'{"w": {"dtype": "F32", "shape": [1'))
    write("safetensors_header", "not_object", safetensors({}, header=b"[1, 2, 3]"))
    bad = {"w": {"dtype": "I64", "shape": [1], "data_offsets": [0, 8]}}
    write("safetensors_header", "bad_dtype", safetensors({}, header=json.dumps(bad).encode()) + bytes(8))
    bad = {"w": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}}
    write("safetensors_header", "reversed_offsets", safetensors({}, header=json.dumps(bad).encode()) + bytes(8))
    bad = {"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}
    write("safetensors_header", "size_mismatch", safetensors({}, header=json.dumps(bad).encode()) + bytes(8))
    bad = {"w": {"dtype": "F32", "shape": [1 << 40, 1 << 40], "data_offsets": [0, 8]}}
    write("safetensors_header", "overflowing_shape", safetensors({}, header=json.dumps(bad).encode()) + bytes(8))
    bad = {"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}
    write("safetensors_header", "negative_dim", safetensors({}, header=json.dumps(bad).encode()) + bytes(4))
    # A whole (tiny) checkpoint file as the random-checkpoint tool writes it.
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "make_random_checkpoint.py"), "--out", out,
                        "--hidden-size", "8", "--num-layers", "1", "--num-heads", "1", "--vocab-size", "16",
                        "--intermediate-size", "8", "--dtype", "bf16"], check=True, stdout=subprocess.DEVNULL)
        shutil.copy(os.path.join(out, "model.safetensors"), os.path.join(CORPUS, "safetensors_header", "checkpoint"))
        shutil.copy(os.path.join(out, "config.json"), os.path.join(CORPUS, "model_config", "random_tiny.json"))


def config_seeds():
    shutil.copy(os.path.join(BROWN, "config.json"), os.path.join(CORPUS, "model_config", "gla_brown_4m.json"))
    base = {"model_type": "gla", "hidden_size": 2048, "num_hidden_layers": 24, "num_heads": 4, "num_kv_heads": None,
            "expand_k": 0.5, "expand_v": 1, "hidden_ratio": 4, "intermediate_size": 5632, "vocab_size": 32000,
            "tie_word_embeddings": False, "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "swish",
            "use_output_gate": True, "use_short_conv": False, "feature_map": None, "attn": None, "use_gv": False}
    write("model_config", "gla_1p3b.json", json.dumps(base, indent=1))
    variants = {
        "kv_heads": {"num_kv_heads": 2, "clamp_min": -5.0, "norm_eps": 1e-5},
        "short_conv": {"use_short_conv": True},
        "feature_map": {"feature_map": "relu"},
        "hybrid_attn": {"attn": {"layers": [1, 3], "num_heads": 8}},
        "gelu": {"hidden_act": "gelu"},
        "bad_kv_heads": {"num_kv_heads": 3},
        "zero_heads": {"num_heads": 0},
        "eos_outside": {"eos_token_id": 40000},
        "string_size": {"hidden_size": "2048"},
        "tiny_expand": {"expand_k": 1e-9},
        "huge": {"hidden_size": 9223372036854775807, "hidden_ratio": 1e300},
        "no_output_gate": {"use_output_gate": False, "fuse_norm": False, "hidden_act": "silu"},
    }
    for name, change in variants.items():
        write("model_config", name + ".json", json.dumps({**base, **change}))
    write("model_config", "empty.json", "")
    write("model_config", "array.json", "[]")
    write("model_config", "truncated.json", json.dumps(base)[:100])


def sentencepiece_seeds():
    shutil.copy(os.path.join(BROWN, "tokenizer.model"), os.path.join(CORPUS, "sentencepiece_model", "gla_brown_4m"))
    with open(os.path.join(BROWN, "tokenizer.model"), "rb") as f:
        write("sentencepiece_model", "truncated", f.read()[:2000])
    corpus = os.path.join(ROOT, "tests", "data", "tokenizer_corpus.txt")
    with tempfile.TemporaryDirectory() as out:
        for name, args in {"unigram_nfkc": ["--model_type=unigram", "--normalization_rule_name=nmt_nfkc"],
                           "bpe_identity": ["--model_type=bpe", "--byte_fallback=true",
                                            "--normalization_rule_name=identity"]}.items():
            subprocess.run(["spm_train", "--input=" + corpus, "--model_prefix=" + os.path.join(out, name),
                            "--vocab_size=400", "--character_coverage=0.99", "--num_threads=1",
                            "--minloglevel=2"] + args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            shutil.copy(os.path.join(out, name + ".model"), os.path.join(CORPUS, "sentencepiece_model", name))


def tokenizer_seeds():
    texts = {
        "english": "The city council said on Monday that the river had risen.",
        "spaces": "  two  spaces,\ttab and\nnewline  ",
        "accents": "Café naïve façade crème brûlée",
        "cjk_emoji": "今天天气很好，鱼和熊猫。 Emoji 🎉🦀 and flags 🇯🇵",
        "controls": "<s></s><unk>\x00\x01\x7f",
        "invalid_utf8": b"\xff\xfe\xc3\x28\xe2\x82\xf0\x9f\x92",
        # Read as ids: a context byte, then little-endian id pairs (byte pieces, BOS, EOS, out of range).
        "ids_bytes": bytes([3]) + struct.pack("<8H", 1, 200, 231, 132, 5, 2, 4200, 100),
    }
    for name, text in texts.items():
        write("tokenizer", name, text)


def request_seeds():
    proto = os.path.join(ROOT, "proto", "glaserve", "v1", "glaserve.proto")
    requests = {
        "text": 'prompt: "Once upon a time" sampling { max_tokens: 8 temperature: 0 }',
        "ids": "prompt_token_ids: [1, 400, 17, 3000] sampling { max_tokens: 4 ignore_eos: true }",
        "full_sampling": 'request_id: "r1" prompt: "The city" sampling { max_tokens: 16 min_tokens: 2 '
                         "temperature: 0.7 top_k: 40 top_p: 0.9 min_p: 0.05 repetition_penalty: 1.2 "
                         "presence_penalty: 0.5 frequency_penalty: -0.5 seed: 7 stop: \"the\" stop: \"\\n\" "
                         "stop_token_ids: [2, 13] ignore_eos: false logprobs: 20 }",
        "stop_strings": 'prompt: "a b c" sampling { max_tokens: 30 temperature: 1.5 stop: "a" stop: "é" stop: "" }',
        "both_prompts": 'prompt: "x" prompt_token_ids: [5]',
        "no_prompt": "sampling { max_tokens: 3 }",
        "empty_text": 'prompt: ""',
        "bad_top_p": 'prompt: "x" sampling { top_p: 7 }',
        "bad_ids": "prompt_token_ids: [-1, 5000000]",
        "huge_max_tokens": 'prompt: "x" sampling { max_tokens: 2147483647 min_tokens: 2147483647 }',
        "nan_temperature": 'prompt: "x" sampling { temperature: nan }',
        # Continuations (the target's engine keeps no sessions; a real state blob is
        # the state_blob target's business).
        "session": 'prompt: "x" session_id: "s" return_state: true sampling { max_tokens: 2 }',
        "resume_session": 'session_id: "s" resume_session: true',
        "bad_initial_state": 'prompt: "x" initial_state: "GLASTATE"',
    }
    for name, text in requests.items():
        encoded = subprocess.run(["protoc", "--proto_path=" + os.path.dirname(os.path.dirname(os.path.dirname(proto))),
                                  "--encode=glaserve.v1.GenerateRequest", "glaserve/v1/glaserve.proto"],
                                 input=text.encode(), capture_output=True, check=True).stdout
        write("generate_request", name, encoded)
    write("generate_request", "not_a_proto", b"\xff\xff\xff\xff")


def main():
    for target in ("safetensors_header", "model_config", "sentencepiece_model", "tokenizer", "generate_request"):
        # Inputs a fuzzer found (regression_*) stay; the rest is rewritten.
        folder = os.path.join(CORPUS, target)
        os.makedirs(folder, exist_ok=True)
        for name in os.listdir(folder):
            if not name.startswith("regression_"):
                os.remove(os.path.join(folder, name))
    safetensors_seeds()
    config_seeds()
    sentencepiece_seeds()
    tokenizer_seeds()
    request_seeds()


if __name__ == "__main__":
    main()
