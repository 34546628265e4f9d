#!/usr/bin/env python3
"""End to end: `glaserve generate` on the shipped trained model matches the PyTorch model.

models/<name>/golden.json (written once by tools/train/make_golden.py) holds, for a few
English prompts, what the PyTorch model of tools/train/ computes on the checkpoint's
BF16 weights: a 16-token greedy continuation and, at each step, the top-1 / top-2 logit
margin and the most likely tokens' log-softmax values (the top 20 after the prompt, the
top 8 after that). For each prompt this test runs

    glaserve generate --model models/<name> --prompt-ids IDS --max-tokens 16 \\
        --temperature 0 --ignore-eos --json --logprobs 5

and checks:

* model.safetensors is the file the golden file was made from (SHA-256);
* 16 tokens, finish_reason "length";
* the generated ids equal the golden ones step by step, until a step whose golden top-2
  margin is below 1e-3 (a near-tie that rounding may break either way; comparing stops
  there and the test says so);
* at every compared step, the chosen token's logprob and each of the 5 "top" logprobs
  are within 2e-3 of the golden values (both sides compute in fp32 from the same BF16
  weights; the differences seen are about 1e-5), and the "top" tokens are the golden
  most likely ones, up to that tolerance;
* glaserve's own tokenizer, given the prompt text (--prompt), produces the golden
  prompt ids (BOS first), i.e. the ids the model was trained on.

Only the standard library is used. Exit status 0 when all pass, 1 otherwise.

    python3 tests/e2e/golden_logits_test.py --glaserve build/bin/glaserve
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
DEFAULT_MODEL = os.path.join(ROOT, "models", "gla-brown-4m")

NUM_TOP = 5
LOGPROB_TOL = 2e-3      # absolute, on log-softmax values
NEAR_TIE_MARGIN = 1e-3  # golden top-1 minus top-2 logit below which ids may differ


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def parse_json_output(stdout):
    """The one JSON object glaserve prints; tolerates log lines around it."""
    try:
        return json.loads(stdout)
    except json.JSONDecodeError:
        for line in reversed(stdout.splitlines()):
            if line.strip().startswith("{"):
                try:
                    return json.loads(line)
                except json.JSONDecodeError:
                    pass
    return None


def run_glaserve(binary, model_dir, prompt_args, max_tokens):
    command = [binary, "generate", "--model", model_dir] + prompt_args + [
        "--max-tokens", str(max_tokens), "--temperature", "0", "--ignore-eos", "--json",
        "--logprobs", str(NUM_TOP)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        return None, (f"glaserve exited with {result.returncode}: {' '.join(command)}\n"
                      f"stderr tail:\n{result.stderr[-3000:]}")
    output = parse_json_output(result.stdout)
    if output is None:
        return None, f"no JSON object in glaserve's stdout: {result.stdout[-2000:]!r}"
    return output, None


def check_step(fail, step, entry, golden_step):
    """glaserve's logprobs entry at `step` against the golden step."""
    golden = dict((t, lp) for t, lp in golden_step["top"])
    kth = golden_step["top"][min(NUM_TOP, len(golden_step["top"])) - 1][1]
    last = golden_step["top"][-1][1]  # every token not listed has a logprob <= this

    def check_value(token_id, lp, what):
        if token_id in golden:
            if abs(lp - golden[token_id]) > LOGPROB_TOL:
                fail(f"step {step}: {what} logprob of token {token_id}: glaserve {lp:.6f}, "
                     f"golden {golden[token_id]:.6f} (tolerance {LOGPROB_TOL})")
        elif lp > last + LOGPROB_TOL:
            fail(f"step {step}: {what} token {token_id} has logprob {lp:.6f}, but it is not "
                 f"among the golden top {len(golden)} (all >= {last:.6f})")

    if not isinstance(entry, dict) or not isinstance(entry.get("logprob"), (int, float)):
        fail(f"step {step}: bad logprobs entry {entry!r}")
        return
    check_value(entry.get("token_id"), entry["logprob"], "chosen")
    top = entry.get("top")
    if not isinstance(top, list) or len(top) != NUM_TOP:
        fail(f"step {step}: expected {NUM_TOP} top entries, got {top!r}")
        return
    for pair in top:
        if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], int)
                and isinstance(pair[1], (int, float))):
            fail(f"step {step}: top entry {pair!r} is not [id, logprob]")
            return
        token_id, lp = pair
        check_value(token_id, lp, "top")
        # A reported top token must be one of the golden top NUM_TOP, up to the tolerance.
        if golden.get(token_id, last) < kth - LOGPROB_TOL:
            fail(f"step {step}: token {token_id} is not among the golden top {NUM_TOP}: "
                 f"{golden_step['top'][:NUM_TOP]}")


def check_case(binary, model_dir, case, max_tokens):
    """Returns the failures of one prompt."""
    failures = []

    def fail(message):
        failures.append(message)
        if len(failures) <= 6:
            print(f"FAIL [{case['prompt']!r}] {message}")

    prompt_ids = case["prompt_ids"]
    output, error = run_glaserve(binary, model_dir,
                                 ["--prompt-ids", ",".join(map(str, prompt_ids))], max_tokens)
    if error:
        fail(error)
        return failures
    tokens, logprobs = output.get("token_ids"), output.get("logprobs")
    if not isinstance(tokens, list) or not isinstance(logprobs, list):
        fail(f"output lacks token_ids / logprobs lists: keys {sorted(output)}")
        return failures
    if "length" not in str(output.get("finish_reason", "")).lower():
        fail(f"finish_reason {output.get('finish_reason')!r}, expected length")
    if len(tokens) != max_tokens or len(logprobs) != len(tokens):
        fail(f"{len(tokens)} tokens and {len(logprobs)} logprobs entries, expected "
             f"{max_tokens} of each")
    golden_ids = case["greedy_ids"]
    for step in range(min(len(tokens), len(logprobs), len(golden_ids))):
        golden_step = case["steps"][step]
        check_step(fail, step, logprobs[step], golden_step)
        if golden_step["margin"] < NEAR_TIE_MARGIN:
            print(f"note [{case['prompt']!r}] step {step}: golden top-2 margin "
                  f"{golden_step['margin']:.2e} < {NEAR_TIE_MARGIN:g}, a near-tie; not "
                  f"comparing from here on (glaserve chose {tokens[step]}, golden "
                  f"{golden_ids[step]})")
            break
        if tokens[step] != golden_ids[step]:
            fail(f"step {step}: glaserve generated {tokens[step]}, golden {golden_ids[step]} "
                 f"(margin {golden_step['margin']:.4f}); glaserve ids {tokens}, golden "
                 f"{golden_ids}")
            break

    # The server's tokenizer must give the ids the model was trained on.
    output, error = run_glaserve(binary, model_dir, ["--prompt", case["prompt"]], 1)
    if error:
        fail(error)
    elif output.get("prompt_token_ids") != prompt_ids:
        fail(f"--prompt {case['prompt']!r} tokenized as {output.get('prompt_token_ids')}, "
             f"golden (training) ids {prompt_ids}")
    return failures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--glaserve", default=os.environ.get("GLASERVE_BIN"),
                        help="the glaserve binary (default: $GLASERVE_BIN)")
    parser.add_argument("--model", default=DEFAULT_MODEL, help="checkpoint directory")
    parser.add_argument("--golden", help="default: MODEL/golden.json")
    args = parser.parse_args(argv)
    if not args.glaserve or not os.access(args.glaserve, os.X_OK):
        print(f"glaserve binary not found or not executable: {args.glaserve!r}")
        return 1
    golden_path = args.golden or os.path.join(args.model, "golden.json")
    with open(golden_path) as f:
        golden = json.load(f)

    weights = os.path.join(args.model, "model.safetensors")
    if sha256(weights) != golden["model_safetensors_sha256"]:
        print(f"FAIL {weights} is not the file {golden_path} was made from (SHA-256 "
              f"differs): rerun tools/train/make_golden.py --model {args.model}")
        return 1

    failed = 0
    for case in golden["cases"]:
        failures = check_case(args.glaserve, args.model, case, golden["max_tokens"])
        if failures:
            failed += 1
        else:
            print(f"ok   [{case['prompt']!r}] -> {case['greedy_text']!r}")
    if failed:
        print(f"\n{failed} of {len(golden['cases'])} prompts failed")
        return 1
    print(f"\nall {len(golden['cases'])} prompts match {golden_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
