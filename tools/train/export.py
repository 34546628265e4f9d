#!/usr/bin/env python3
"""Exports a trained model (train.py's state.pt) as an fla checkpoint directory.

Writes config.json, model.safetensors (BF16, round to nearest even, as torch does),
tokenizer.model and tokenizer_config.json: the layout of DESIGN.md section 1, written by
the same functions as scripts/make_random_checkpoint.py (make_config, tensor_shapes,
write_safetensors), so the files are byte-for-byte what that tool would write for these
weights.

    /usr/bin/python3 tools/train/export.py --state /tmp/brown/run/state.pt \\
        --tokenizer /tmp/brown/tok/tokenizer.model --out models/gla-brown-4m
"""

import argparse
import json
import os
import shutil
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gla_torch  # noqa: E402
import make_random_checkpoint  # noqa: E402  (on sys.path through gla_torch)

# What Hugging Face's LlamaTokenizer would write for a SentencePiece model with
# unk=0, bos=1, eos=2 and no pad; the server reads add_bos_token.
TOKENIZER_CONFIG = {
    "add_bos_token": True,
    "add_eos_token": False,
    "bos_token": "<s>",
    "clean_up_tokenization_spaces": False,
    "eos_token": "</s>",
    "legacy": True,
    "model_max_length": 1000000,
    "pad_token": None,
    "sp_model_kwargs": {},
    "tokenizer_class": "LlamaTokenizer",
    "unk_token": "<unk>",
}


def export(model, tokenizer_model, out_dir):
    """Writes the checkpoint of `model` (a GlaForCausalLM) into out_dir."""
    config = dict(model.config, torch_dtype="bfloat16")
    tensors = gla_torch.tensors_for_export(model)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")
    make_random_checkpoint.write_safetensors(os.path.join(out_dir, "model.safetensors"),
                                             tensors, "BF16")
    shutil.copyfile(tokenizer_model, os.path.join(out_dir, "tokenizer.model"))
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump(TOKENIZER_CONFIG, f, indent=2, sort_keys=True)
        f.write("\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--state", required=True, help="state.pt written by train.py")
    parser.add_argument("--tokenizer", required=True, help="tokenizer.model")
    parser.add_argument("--out", required=True, help="checkpoint directory (created)")
    args = parser.parse_args(argv)
    saved = torch.load(args.state, map_location="cpu")
    model = gla_torch.GlaForCausalLM(saved["config"])
    model.load_state_dict(saved["model"])
    export(model, args.tokenizer, args.out)
    size = sum(os.path.getsize(os.path.join(args.out, n)) for n in os.listdir(args.out)
               if os.path.isfile(os.path.join(args.out, n)))
    print(f"wrote {args.out}: step {saved['step']}, "
          f"{sum(p.numel() for p in model.parameters())} parameters, {size} bytes")


if __name__ == "__main__":
    main()
