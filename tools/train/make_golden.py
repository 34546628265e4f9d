#!/usr/bin/env python3
"""Writes golden.json for a trained checkpoint: what the PyTorch model computes on the
exported files, stored once so that CI can check the engine against it without torch.

For each prompt below (BOS + the SentencePiece ids of the text), the PyTorch model
(tools/train/gla_torch.py, reading the checkpoint's BF16 weights as fp32) greedy-decodes
16 tokens with no EOS stop. Stored per step: the chosen id, the top-1 / top-2 logit
margin and the most likely tokens with their log-softmax values (the top 20 at step 0,
i.e. the prompt's last-position distribution, the top 8 after that), rounded to 1e-6.
The SHA-256 of model.safetensors ties the file to the weights it was made from.

tests/e2e/golden_logits_test.py compares `glaserve generate` with it.

    /usr/bin/python3 tools/train/make_golden.py --model models/gla-brown-4m
"""

import argparse
import hashlib
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gla_torch  # noqa: E402
import sentencepiece_cli  # noqa: E402

PROMPTS = [
    "The jury said",
    "In the morning, she went to the",
    "It is clear that the government of the United States",
]
MAX_TOKENS = 16
TOP_FIRST = 20
TOP_LATER = 8


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@torch.no_grad()
def greedy_steps(model, prompt_ids, max_tokens):
    """[(chosen id, fp32 logits)] for max_tokens greedy steps, through the recurrent form;
    checks on the way that the chunkwise form gives the same logits."""
    state = model.initial_state()
    for token_id in prompt_ids:
        logits = model.step(token_id, state)
    steps = []
    for i in range(max_tokens):
        token_id = int(torch.argmax(logits))
        steps.append((token_id, logits.clone()))
        if i + 1 < max_tokens:
            logits = model.step(token_id, state)
    all_ids = list(prompt_ids) + [t for t, _ in steps[:-1]]
    chunked = model(torch.tensor([all_ids]))[0, len(prompt_ids) - 1:]
    for i, (_, logits) in enumerate(steps):
        diff = float((chunked[i] - logits).abs().max())
        if diff > 1e-3:
            raise AssertionError(f"step {i}: chunkwise and recurrent logits differ by {diff}")
    return steps


def step_entry(token_id, logits, num_top):
    logprobs = torch.log_softmax(logits.double(), -1)
    top = torch.topk(logits.double(), 2).values
    order = sorted(range(len(logprobs)), key=lambda t: (-float(logprobs[t]), t))[:num_top]
    return {"token_id": token_id, "margin": round(float(top[0] - top[1]), 6),
            "top": [[t, round(float(logprobs[t]), 6)] for t in order]}


def make_golden(model_dir):
    model = gla_torch.load_checkpoint(model_dir)
    tokenizer = os.path.join(model_dir, "tokenizer.model")
    cases = []
    for text in PROMPTS:
        prompt_ids = [model.config["bos_token_id"]] + sentencepiece_cli.encode([text],
                                                                              tokenizer)[0]
        steps = greedy_steps(model, prompt_ids, MAX_TOKENS)
        cases.append({
            "prompt": text,
            "prompt_ids": prompt_ids,
            "greedy_ids": [t for t, _ in steps],
            "greedy_text": sentencepiece_cli.decode([t for t, _ in steps], tokenizer),
            "steps": [step_entry(t, logits, TOP_FIRST if i == 0 else TOP_LATER)
                      for i, (t, logits) in enumerate(steps)],
        })
    return {
        "model": os.path.basename(os.path.normpath(model_dir)),
        "model_safetensors_sha256": sha256(os.path.join(model_dir, "model.safetensors")),
        "made_by": "tools/train/make_golden.py (PyTorch, fp32 compute on the BF16 weights)",
        "max_tokens": MAX_TOKENS,
        "cases": cases,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="checkpoint directory")
    parser.add_argument("--out", help="default: MODEL/golden.json")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    golden = make_golden(args.model)
    out = args.out or os.path.join(args.model, "golden.json")
    with open(out, "w") as f:
        # One step per line: small, and diffs stay readable.
        f.write("{\n")
        head = {k: v for k, v in golden.items() if k != "cases"}
        for k, v in head.items():
            f.write(f"  {json.dumps(k)}: {json.dumps(v)},\n")
        f.write('  "cases": [\n')
        for ci, case in enumerate(golden["cases"]):
            f.write("    {\n")
            for k in ("prompt", "prompt_ids", "greedy_ids", "greedy_text"):
                f.write(f"      {json.dumps(k)}: {json.dumps(case[k])},\n")
            f.write('      "steps": [\n')
            for si, step in enumerate(case["steps"]):
                comma = "," if si + 1 < len(case["steps"]) else ""
                f.write(f"        {json.dumps(step, separators=(',', ':'))}{comma}\n")
            f.write("      ]\n")
            f.write("    }" + ("," if ci + 1 < len(golden["cases"]) else "") + "\n")
        f.write("  ]\n}\n")
    json.load(open(out))  # the hand-written layout is valid JSON
    for case in golden["cases"]:
        print(f"{case['prompt']!r} -> {case['greedy_text']!r}")
    print(f"wrote {out} ({os.path.getsize(out)} bytes)")


if __name__ == "__main__":
    main()
