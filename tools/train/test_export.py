#!/usr/bin/env python3
"""Checks the shipped trained checkpoint against PyTorch and the numpy reference.

Runs where torch is installed (Debian: python3-torch); CTest registers it only when
torch is importable at configure time. Without torch it prints SKIP and exits 77.

1. The PyTorch model (tools/train/gla_torch.py) on the checkpoint's files equals the
   float64 numpy reference (tests/reference/gla_reference.py), position by position, on
   an English passage and on 150 seeded random ids (both cross the 16-token chunks of the
   training form and the engine's 64-token prefill chunks): the recurrent form and the
   chunkwise form, logits within 2e-3 (fp32 against float64).
2. Export is exact: reading the BF16 checkpoint and exporting it again writes a
   byte-identical model.safetensors and the same config.json.
3. golden.json is up to date: regenerating it (tools/train/make_golden.py) gives the same
   greedy ids and logprobs within 1e-4.

    /usr/bin/python3 tools/train/test_export.py [--model models/gla-brown-4m]
"""

import argparse
import filecmp
import json
import os
import sys
import tempfile

try:
    import numpy as np
    import torch
except ImportError as e:
    print(f"SKIP: {e} (install python3-torch and python3-numpy)")
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "reference"))
import export  # noqa: E402
import gla_reference  # noqa: E402
import gla_torch  # noqa: E402
import make_golden  # noqa: E402
import sentencepiece_cli  # noqa: E402

LOGIT_TOL = 2e-3
GOLDEN_TOL = 1e-4
PASSAGE = ("The committee said on Friday that the new school would be built in the spring. "
           "\"We have waited a long time for this,\" the mayor told the people who came to "
           "the meeting, and he added that the city would pay for most of the cost.")

failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


@torch.no_grad()
def compare_with_reference(model, ref, ids, label):
    state, ref_state = model.initial_state(), ref.initial_state()
    chunked = model(torch.tensor([ids]))[0].double().numpy()
    worst_step = worst_chunk = 0.0
    for t, token_id in enumerate(ids):
        want = ref.step(token_id, ref_state)
        got = model.step(token_id, state).double().numpy()
        worst_step = max(worst_step, float(np.abs(got - want).max()))
        worst_chunk = max(worst_chunk, float(np.abs(chunked[t] - want).max()))
    check(worst_step < LOGIT_TOL, f"{label}: {len(ids)} tokens, recurrent torch vs numpy "
                                  f"reference, max |logit diff| {worst_step:.2e}")
    check(worst_chunk < LOGIT_TOL, f"{label}: {len(ids)} tokens, chunkwise torch vs numpy "
                                   f"reference, max |logit diff| {worst_chunk:.2e}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=os.path.join(ROOT, "models", "gla-brown-4m"))
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    model = gla_torch.load_checkpoint(args.model)
    ref = gla_reference.GlaModel.load(args.model)
    tokenizer = os.path.join(args.model, "tokenizer.model")

    # 1. PyTorch == numpy reference.
    passage = [model.config["bos_token_id"]] + sentencepiece_cli.encode([PASSAGE], tokenizer)[0]
    compare_with_reference(model, ref, passage, "English passage")
    rng = np.random.default_rng(8)
    random_ids = [int(t) for t in rng.integers(3, model.dims.V, 150)]
    compare_with_reference(model, ref, random_ids, "random ids")

    # 2. Exporting what was read writes the same files.
    with tempfile.TemporaryDirectory() as tmp:
        export.export(model, tokenizer, tmp)
        for name in ("model.safetensors", "config.json", "tokenizer.model"):
            check(filecmp.cmp(os.path.join(tmp, name), os.path.join(args.model, name),
                              shallow=False), f"re-exported {name} is byte-identical")

    # 3. golden.json is what the PyTorch model computes now.
    with open(os.path.join(args.model, "golden.json")) as f:
        stored = json.load(f)
    fresh = make_golden.make_golden(args.model)
    check(stored["model_safetensors_sha256"] == fresh["model_safetensors_sha256"],
          "golden.json names this model.safetensors")
    for old, new in zip(stored["cases"], fresh["cases"]):
        same_ids = old["prompt_ids"] == new["prompt_ids"] and old["greedy_ids"] == new["greedy_ids"]
        worst = max(abs(a[1] - b[1]) for so, sn in zip(old["steps"], new["steps"])
                    for a, b in zip(so["top"], sn["top"]) if a[0] == b[0])
        check(same_ids and worst < GOLDEN_TOL,
              f"golden {old['prompt']!r}: same ids, logprobs within {worst:.1e}")
    check(len(stored["cases"]) == len(fresh["cases"]), "golden.json has every prompt")

    if failures:
        print(f"\n{len(failures)} checks failed")
        return 1
    print("\nall checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
