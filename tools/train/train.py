#!/usr/bin/env python3
"""Trains the small GLA model of models/ on the CPU (or a GPU, if torch sees one).

Inputs: train.txt / valid.txt from prepare_corpus.py (one paragraph per line) and a
SentencePiece tokenizer.model. Each paragraph becomes [BOS] ids [EOS], as the server will
see it (tokenizer_config.json: add_bos_token true); the paragraphs are concatenated into
one stream. A training sample is T+1 consecutive tokens of the stream; half of the
samples start at a paragraph's BOS (so the model sees "zero state, then BOS", exactly how
every request starts), half at a random token. Everything random is drawn from one
seeded generator, so a run is repeatable up to the float rounding of the thread count.

Writes into --work: log.jsonl (train loss per step, held-out loss every --eval-every
steps), state.pt (model + optimizer + step, every --save-every steps and at the end; a
rerun with the same arguments resumes from it) and final.json (held-out loss and
perplexity over the whole valid set).

    nice -n 10 /usr/bin/python3 tools/train/train.py --data /tmp/brown \\
        --tokenizer /tmp/brown/tok/tokenizer.model --work /tmp/brown/run
"""

import argparse
import json
import math
import os
import sys
import time

# OpenMP threads that spin while waiting lose most of their time when the CPU is shared
# (a niced training run next to compile jobs ran 3-6x slower); wait passively instead.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gla_torch  # noqa: E402
import make_random_checkpoint  # noqa: E402  (on sys.path through gla_torch)


def model_config(args, vocab_size):
    """config.json of the model, written by the same function the random checkpoints use."""
    return make_random_checkpoint.make_config(
        hidden_size=args.hidden_size, num_layers=args.num_layers, num_heads=args.num_heads,
        vocab_size=vocab_size, tie_word_embeddings=True, dtype="bf16")


def encode_file(path, tokenizer_path):
    """(stream of ids, paragraph start offsets, number of UTF-8 bytes of the text)."""
    import sentencepiece_cli
    paras = [line.rstrip("\n") for line in open(path, encoding="utf-8")]
    paras = [p for p in paras if p]
    encoded = sentencepiece_cli.encode(paras, tokenizer_path)
    stream, starts = [], []
    for ids in encoded:
        starts.append(len(stream))
        stream += [1] + ids + [2]   # bos, eos (spm_train --bos_id=1 --eos_id=2)
    num_bytes = sum(len(p.encode()) + 1 for p in paras)
    return torch.tensor(stream, dtype=torch.long), torch.tensor(starts), num_bytes


def sample_batch(stream, starts, batch, length, gen):
    """[batch, length + 1] windows of the stream: half from a paragraph's start."""
    aligned = starts[torch.randint(len(starts), (batch,), generator=gen)]
    anywhere = torch.randint(len(stream), (batch,), generator=gen)
    use_aligned = torch.rand(batch, generator=gen) < 0.5
    begin = torch.where(use_aligned, aligned, anywhere).clamp(max=len(stream) - length - 1)
    index = begin[:, None] + torch.arange(length + 1)[None, :]
    return stream[index]


@torch.no_grad()
def held_out_loss(model, stream, length, batch, max_tokens=None, device="cpu"):
    """Mean next-token loss over consecutive windows of `length` + 1 tokens (each from the
    zero state), over the first `max_tokens` tokens of the stream or all of it."""
    model.eval()
    n = len(stream) if max_tokens is None else min(len(stream), max_tokens)
    windows = (n - 1) // length
    total, count = 0.0, 0
    for first in range(0, windows, batch):
        rows = range(first, min(first + batch, windows))
        ids = torch.stack([stream[r * length:r * length + length + 1] for r in rows]).to(device)
        logits = model(ids[:, :-1])
        total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1),
                                 reduction="sum").item()
        count += ids[:, 1:].numel()
    model.train()
    return total / count, count


def lr_at(step, args):
    """Linear warmup, then cosine decay to --min-lr."""
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    progress = (step - args.warmup) / max(1, args.steps - args.warmup)
    return args.min_lr + 0.5 * (args.lr - args.min_lr) * (1 + math.cos(math.pi * progress))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="folder with train.txt and valid.txt")
    parser.add_argument("--tokenizer", required=True, help="tokenizer.model")
    parser.add_argument("--work", required=True, help="log, state and results go here")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--hidden-size", type=int, default=256)
    parser.add_argument("--num-layers", type=int, default=4)
    parser.add_argument("--num-heads", type=int, default=4)
    parser.add_argument("--steps", type=int, default=900)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--length", type=int, default=128, help="tokens per sample")
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--min-lr", type=float, default=1e-4)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--weight-decay", type=float, default=0.1)
    parser.add_argument("--clip", type=float, default=1.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--eval-tokens", type=int, default=16384,
                        help="held-out tokens per periodic evaluation (the final one uses all)")
    parser.add_argument("--save-every", type=int, default=100)
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    os.makedirs(args.work, exist_ok=True)

    train_stream, train_starts, _ = encode_file(os.path.join(args.data, "train.txt"),
                                                args.tokenizer)
    valid_stream, _, valid_bytes = encode_file(os.path.join(args.data, "valid.txt"),
                                               args.tokenizer)
    import sentencepiece_cli
    vocab_size = sentencepiece_cli.vocab_size(args.tokenizer)
    print(f"train: {len(train_stream)} tokens, {len(train_starts)} paragraphs; held out: "
          f"{len(valid_stream)} tokens ({valid_bytes} bytes); vocabulary {vocab_size}",
          flush=True)

    config = model_config(args, vocab_size)
    model = gla_torch.GlaForCausalLM(config)
    gla_torch.init_weights(model, args.seed)
    model.to(device)
    num_params = sum(p.numel() for p in model.parameters())
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}],
                                  lr=args.lr, betas=(0.9, 0.95), eps=1e-8)
    gen = torch.Generator().manual_seed(args.seed)

    state_path = os.path.join(args.work, "state.pt")
    log_path = os.path.join(args.work, "log.jsonl")
    step, elapsed = 0, 0.0
    if os.path.exists(state_path):
        saved = torch.load(state_path)
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        gen.set_state(saved["generator"])
        step, elapsed = saved["step"], saved["elapsed"]
        print(f"resumed from {state_path} at step {step}", flush=True)
    elif os.path.exists(log_path):
        os.remove(log_path)
    print(f"model: {num_params} parameters, config {json.dumps(config)}", flush=True)
    print(f"args: {json.dumps(vars(args))}", flush=True)

    def save():
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "generator": gen.get_state(), "step": step, "elapsed": elapsed,
                    "config": config, "args": vars(args)}, state_path + ".tmp")
        os.replace(state_path + ".tmp", state_path)

    log = open(log_path, "a")
    tokens_per_step = args.batch * args.length
    model.train()
    while step < args.steps:
        t0 = time.time()
        lr = lr_at(step, args)
        for group in optimizer.param_groups:
            group["lr"] = lr
        ids = sample_batch(train_stream, train_starts, args.batch, args.length, gen).to(device)
        logits = model(ids[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, vocab_size), ids[:, 1:].reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip).item()
        optimizer.step()
        step += 1
        elapsed += time.time() - t0
        entry = {"step": step, "tokens": step * tokens_per_step, "loss": loss.item(),
                 "lr": lr, "grad_norm": grad_norm, "elapsed_s": round(elapsed, 1)}
        if step % args.eval_every == 0 or step == args.steps:
            entry["valid_loss"], _ = held_out_loss(model, valid_stream, args.length, 32,
                                                   args.eval_tokens, device)
        log.write(json.dumps(entry) + "\n")
        log.flush()
        if step % 10 == 0 or "valid_loss" in entry:
            extra = f" valid {entry['valid_loss']:.3f}" if "valid_loss" in entry else ""
            print(f"step {step}/{args.steps} loss {loss.item():.3f}{extra} lr {lr:.2e} "
                  f"|g| {grad_norm:.2f} {elapsed:.0f}s "
                  f"({step * tokens_per_step / max(elapsed, 1e-9):.0f} tok/s)", flush=True)
        if step % args.save_every == 0 or step == args.steps:
            save()

    loss, count = held_out_loss(model, valid_stream, args.length, 32, None, device)
    final = {"held_out_loss": loss, "held_out_perplexity": math.exp(loss),
             "held_out_tokens": count,
             "held_out_bits_per_byte": loss * len(valid_stream) / valid_bytes / math.log(2),
             "train_tokens_seen": args.steps * tokens_per_step,
             "train_stream_tokens": len(train_stream), "params": num_params,
             "train_seconds": round(elapsed), "steps": args.steps,
             "device": device, "threads": args.threads, "torch": torch.__version__}
    with open(os.path.join(args.work, "final.json"), "w") as f:
        json.dump(final, f, indent=2)
        f.write("\n")
    print(json.dumps(final), flush=True)


if __name__ == "__main__":
    main()
