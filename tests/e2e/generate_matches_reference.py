#!/usr/bin/env python3
"""End to end: `glaserve generate` greedy-decodes what the float64 reference decodes.

For each model shape below, writes a random checkpoint (scripts/make_random_checkpoint.py)
into a temporary directory and, for prompts of 1, 63, 64, 65 and 150 tokens (around the
engine's 64-token prefill chunk), runs

    glaserve generate --model DIR --prompt-ids IDS --max-tokens 32 --temperature 0 \\
        --ignore-eos --json --logprobs 3

then checks its JSON against tests/reference/gla_reference.py run on the same files:

* 32 tokens, finish_reason "length";
* the generated ids equal the reference's, step by step, until a step where the
  reference's top-1 / top-2 logit margin is below 1e-3 (a near-tie that rounding may
  break either way): comparing stops there, and the test says so;
* at every compared step, the logprob of the chosen token and of each of the 3 "top"
  tokens is within 2e-3 of the reference's log-softmax, and the "top" tokens are the
  reference's most likely ones (up to the same tolerance).

Exit status 0 when every case passes, 1 otherwise; every failure names the shape, the
prompt length, the step and both tokens.

    python3 tests/e2e/generate_matches_reference.py --glaserve build/bin/glaserve
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

try:
    import numpy as np
except ImportError:  # e.g. CMake found a Python (pyenv, venv) other than Debian's
    sys.exit(f"{sys.executable} has no numpy: install python3-numpy, or configure CMake "
             f"with -DPython3_EXECUTABLE=/usr/bin/python3")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
sys.path.insert(0, os.path.join(ROOT, "tests", "reference"))
import gla_reference  # noqa: E402
import make_random_checkpoint  # noqa: E402

MAX_TOKENS = 32
NUM_TOP = 3
LOGPROB_TOL = 2e-3     # absolute, on log-softmax values
NEAR_TIE_MARGIN = 1e-3  # reference top-1 minus top-2 logit below which ids may differ
PROMPT_LENGTHS = (1, 63, 64, 65, 150)

# (name, make_random_checkpoint.write_checkpoint options). Between them: tied and untied,
# every dtype, one file and shards, odd head counts, grouped kv heads, no output gate with
# a clamped gate, head dims from 16/32 to 64/256, a vocabulary that is not a power of two.
SHAPES = [
    ("d64_l2_h2_tied_bf16",
     dict(seed=11, hidden_size=64, num_layers=2, num_heads=2, dtype="bf16")),
    ("d96_l3_h3_f32",
     dict(seed=12, hidden_size=96, num_layers=3, num_heads=3, dtype="f32")),
    ("d128_l2_h4_kv2_untied_f16_2shards",
     dict(seed=13, hidden_size=128, num_layers=2, num_heads=4, num_kv_heads=2,
          tie_word_embeddings=False, dtype="f16", shards=2)),
    ("d64_l2_h2_no_output_gate_clamp_min",
     dict(seed=14, hidden_size=64, num_layers=2, num_heads=2, use_output_gate=False,
          clamp_min=-0.05, dtype="bf16")),
    ("d128_l2_h2_dk32_dv64_vocab300",
     dict(seed=15, hidden_size=128, num_layers=2, num_heads=2, vocab_size=300,
          tie_word_embeddings=False, dtype="bf16")),
    ("d256_l2_h2_ev2_dk64_dv256",
     dict(seed=16, hidden_size=256, num_layers=2, num_heads=2, expand_v=2.0,
          tie_word_embeddings=False, dtype="bf16")),
]


def train_tokenizer(out_dir, vocab_size, spm_train):
    """A tiny SentencePiece model with exactly `vocab_size` pieces, so the server can
    detokenize any id the model emits. Returns the directory, or None without spm_train
    (the test itself only uses ids)."""
    if not spm_train:
        return None
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(vocab_size)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    words = ["".join(rng.choice(letters, rng.integers(2, 9))) for _ in range(600)]
    corpus = os.path.join(out_dir, "corpus.txt")
    with open(corpus, "w") as f:
        for _ in range(500):
            f.write(" ".join(rng.choice(words, 12)) + "\n")
    subprocess.run([spm_train, f"--input={corpus}", f"--model_prefix={out_dir}/tokenizer",
                    f"--vocab_size={vocab_size}", "--model_type=bpe",
                    "--normalization_rule_name=identity", "--minloglevel=2"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return out_dir


def parse_json_output(stdout):
    """The one JSON object glaserve prints; tolerates log lines around it."""
    try:
        return json.loads(stdout)
    except json.JSONDecodeError:
        for line in reversed(stdout.splitlines()):
            line = line.strip()
            if line.startswith("{"):
                try:
                    return json.loads(line)
                except json.JSONDecodeError:
                    pass
    return None


def run_glaserve(binary, model_dir, prompt_ids, extra_args):
    command = [binary, "generate", "--model", model_dir,
               "--prompt-ids", ",".join(map(str, prompt_ids)),
               "--max-tokens", str(MAX_TOKENS), "--temperature", "0", "--ignore-eos",
               "--json", "--logprobs", str(NUM_TOP)] + list(extra_args)
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    return command, result


class Case:
    """One (shape, prompt) comparison; collects its failures. A broken kernel fails at
    every step, so only the first few messages of a case are printed."""

    MAX_PRINTED = 6

    def __init__(self, shape, prompt_len):
        self.label = f"[{shape} prompt={prompt_len}]"
        self.failures = []

    def fail(self, message, always_print=False):
        self.failures.append(message)
        if always_print or len(self.failures) <= self.MAX_PRINTED:
            print(f"FAIL {self.label} {message}")

    def summary(self):
        more = len(self.failures) - 1
        first = self.failures[0].splitlines()[0]
        return f"{self.label} {first}" + (f" (+{more} more)" if more else "")


def check_step_logprobs(case, step, entry, token_id, ref_logprobs):
    """The binary's logprob entry at `step` against the reference distribution."""
    if not isinstance(entry, dict):
        case.fail(f"step {step}: logprobs entry is {entry!r}")
        return
    if entry.get("token_id") != token_id:
        case.fail(f"step {step}: logprobs token_id {entry.get('token_id')} != generated "
                  f"token {token_id}")
    lp = entry.get("logprob")
    if not isinstance(lp, (int, float)):
        case.fail(f"step {step}: logprob is {lp!r}")
    elif abs(lp - ref_logprobs[token_id]) > LOGPROB_TOL:
        case.fail(f"step {step}: logprob of token {token_id}: glaserve {lp:.6f}, reference "
                  f"{ref_logprobs[token_id]:.6f} (tolerance {LOGPROB_TOL})")
    top = entry.get("top")
    want_count = min(NUM_TOP, len(ref_logprobs))
    if not isinstance(top, list) or len(top) != want_count:
        case.fail(f"step {step}: expected {want_count} top entries, got {top!r}")
        return
    # The k-th best reference logprob: every reported top token must reach it (up to the
    # tolerance, so that a near-tie for third place may go either way).
    kth_best = np.sort(ref_logprobs)[-want_count]
    ids = []
    for pair in top:
        if not (isinstance(pair, list) and len(pair) == 2):
            case.fail(f"step {step}: top entry {pair!r} is not [id, logprob]")
            return
        top_id, top_lp = pair
        if not (isinstance(top_id, int) and 0 <= top_id < len(ref_logprobs)
                and isinstance(top_lp, (int, float))):
            case.fail(f"step {step}: top entry {pair!r} is not [id in the vocabulary, "
                      f"logprob]")
            return
        ids.append(top_id)
        if abs(top_lp - ref_logprobs[top_id]) > LOGPROB_TOL:
            case.fail(f"step {step}: top logprob of token {top_id}: glaserve {top_lp:.6f}, "
                      f"reference {ref_logprobs[top_id]:.6f}")
        if ref_logprobs[top_id] < kth_best - LOGPROB_TOL:
            ref_top = gla_reference.top_logprobs(ref_logprobs, want_count)
            case.fail(f"step {step}: token {top_id} is not among the reference's top "
                      f"{want_count}: {[[t, round(v, 4)] for t, v in ref_top]}")
    if len(set(ids)) != len(ids):
        case.fail(f"step {step}: duplicate ids in top: {ids}")
    lps = [pair[1] for pair in top]
    if any(later > earlier + LOGPROB_TOL for earlier, later in zip(lps, lps[1:])):
        case.fail(f"step {step}: top is not sorted by logprob: {top}")


def compare(case, output, ref_tokens, ref_step_logits):
    """Checks glaserve's JSON output against the reference decode."""
    if output is None:
        case.fail("no JSON object in glaserve's stdout")
        return
    tokens = output.get("token_ids")
    logprobs = output.get("logprobs")
    if not isinstance(tokens, list) or not isinstance(logprobs, list):
        case.fail(f"output lacks token_ids / logprobs lists: keys {sorted(output)}")
        return
    if not isinstance(output.get("text"), str):
        case.fail(f"output 'text' is not a string: {output.get('text')!r}")
    if "length" not in str(output.get("finish_reason", "")).lower():
        case.fail(f"finish_reason {output.get('finish_reason')!r}, expected length "
                  f"(--ignore-eos --max-tokens {MAX_TOKENS})")
    vocab_size = len(ref_step_logits[0])
    if not all(isinstance(t, int) and 0 <= t < vocab_size for t in tokens):
        case.fail(f"token_ids not all ids in [0, {vocab_size}): {tokens}")
        return
    if len(tokens) != MAX_TOKENS:
        case.fail(f"generated {len(tokens)} tokens, expected {MAX_TOKENS}")
    if len(logprobs) != len(tokens):
        case.fail(f"{len(logprobs)} logprobs entries for {len(tokens)} tokens")

    for step in range(min(len(tokens), len(logprobs), len(ref_tokens))):
        logits = ref_step_logits[step]
        ref_logprobs = gla_reference.log_softmax(logits)
        # Same context so far, so the distributions must agree whatever is chosen now.
        check_step_logprobs(case, step, logprobs[step], tokens[step], ref_logprobs)
        margin = gla_reference.top_two_margin(logits)
        if margin < NEAR_TIE_MARGIN:
            print(f"note {case.label} step {step}: reference top-2 margin {margin:.2e} < "
                  f"{NEAR_TIE_MARGIN:g}, a near-tie; not comparing from here on "
                  f"(glaserve chose {tokens[step]}, reference {ref_tokens[step]})")
            return
        if tokens[step] != ref_tokens[step]:
            case.fail(f"step {step}: glaserve generated {tokens[step]} (reference logprob "
                      f"{ref_logprobs[tokens[step]]:.4f}), reference {ref_tokens[step]} "
                      f"(logprob {ref_logprobs[ref_tokens[step]]:.4f}, margin {margin:.4f}); "
                      f"glaserve ids {tokens}, reference ids {ref_tokens}", always_print=True)
            return  # the contexts differ from here on


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--glaserve", default=os.environ.get("GLASERVE_BIN"),
                        help="the glaserve binary (default: $GLASERVE_BIN)")
    parser.add_argument("--only", default="", help="run only shapes whose name contains this")
    parser.add_argument("--extra-arg", action="append", default=[],
                        help="extra argument for `glaserve generate` (repeatable), "
                             "e.g. --extra-arg=--backend=cuda")
    parser.add_argument("--keep", action="store_true", help="keep the checkpoints, print where")
    args = parser.parse_args(argv)
    if not args.glaserve or not os.access(args.glaserve, os.X_OK):
        print(f"glaserve binary not found or not executable: {args.glaserve!r} "
              f"(pass --glaserve or set GLASERVE_BIN)")
        return 1

    shapes = [(n, o) for n, o in SHAPES if args.only in n]
    tmp = tempfile.mkdtemp(prefix="glaserve_e2e_")
    spm_train = shutil.which("spm_train")
    if not spm_train:
        print("note: spm_train not found; checkpoints get no tokenizer.model")
    tokenizers = {}
    failures, num_cases, start = [], 0, time.perf_counter()
    try:
        for shape, options in shapes:
            vocab_size = options.get("vocab_size", 256)
            if vocab_size not in tokenizers:
                tokenizers[vocab_size] = train_tokenizer(
                    os.path.join(tmp, f"tokenizer_{vocab_size}"), vocab_size, spm_train)
            model_dir = os.path.join(tmp, shape)
            make_random_checkpoint.write_checkpoint(model_dir, tokenizer=tokenizers[vocab_size],
                                                    **options)
            model = gla_reference.GlaModel.load(model_dir)
            c = model.config
            print(f"== {shape}: D={c.hidden_size} L={c.num_layers} H={c.num_heads} "
                  f"H_kv={c.num_kv_heads} dk={c.head_k_dim} dv={c.head_v_dim} "
                  f"I={c.intermediate_size} V={c.vocab_size} {options.get('dtype', 'bf16')}"
                  f" tied={c.tie_word_embeddings} gate={c.use_output_gate} "
                  f"clamp_min={c.clamp_min} shards={options.get('shards', 1)}")
            rng = np.random.default_rng(options["seed"])
            for prompt_len in PROMPT_LENGTHS:
                num_cases += 1
                case = Case(shape, prompt_len)
                # Ids 3.. skip unk/bos/eos, so nothing in the prompt is special.
                prompt_ids = [int(t) for t in rng.integers(3, c.vocab_size, prompt_len)]
                ref_tokens, ref_step_logits = gla_reference.greedy_decode(
                    model, prompt_ids, MAX_TOKENS)
                command, result = run_glaserve(args.glaserve, model_dir, prompt_ids,
                                               args.extra_arg)
                if result.returncode != 0:
                    case.fail(f"glaserve exited with {result.returncode}: "
                              f"{' '.join(command[:4])} ...\n"
                              f"stderr tail:\n{result.stderr[-3000:]}")
                else:
                    compare(case, parse_json_output(result.stdout), ref_tokens,
                            ref_step_logits)
                if case.failures:
                    hidden = len(case.failures) - Case.MAX_PRINTED
                    if hidden > 0:
                        print(f"FAIL {case.label} ... and {hidden} more failures")
                    failures.append(case.summary())
                else:
                    print(f"ok   {case.label} {ref_tokens[:8]}...")
    finally:
        if args.keep:
            print(f"checkpoints kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    seconds = time.perf_counter() - start
    if failures:
        print(f"\n{len(failures)} of {num_cases} cases failed ({seconds:.1f} s):")
        for f in failures:
            print("  " + f)
        return 1
    print(f"\nall {num_cases} cases match the reference ({seconds:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
