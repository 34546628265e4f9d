#!/usr/bin/env python3
"""Plots train.py's log.jsonl: training loss per step (and its 20-step moving average) and
the periodic held-out loss, against tokens seen. Needs matplotlib (python3-matplotlib).

    /usr/bin/python3 tools/train/plot_loss.py --log /tmp/brown/run/log.jsonl \\
        --final /tmp/brown/run/final.json --out models/gla-brown-4m/training/loss_curve.png
"""

import argparse
import json
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--log", required=True)
    parser.add_argument("--final", help="final.json, for the title")
    parser.add_argument("--out", required=True)
    parser.add_argument("--title", default="gla-brown-4m on the Brown Corpus (CPU)")
    args = parser.parse_args(argv)
    entries = [json.loads(line) for line in open(args.log)]
    tokens = [e["tokens"] / 1e6 for e in entries]
    loss = [e["loss"] for e in entries]
    window = 20
    smooth = [sum(loss[max(0, i - window + 1):i + 1]) / len(loss[max(0, i - window + 1):i + 1])
              for i in range(len(loss))]
    valid = [(e["tokens"] / 1e6, e["valid_loss"]) for e in entries if "valid_loss" in e]

    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    ax.plot(tokens, loss, color="#9ecae1", linewidth=0.8, label="train (per step)")
    ax.plot(tokens, smooth, color="#3182bd", linewidth=1.6, label=f"train ({window}-step mean)")
    if valid:
        ax.plot(*zip(*valid), "o-", color="#e6550d", linewidth=1.6, markersize=4,
                label="held out")
    title = args.title
    if args.final:
        final = json.load(open(args.final))
        title += (f"\nheld-out loss {final['held_out_loss']:.3f} "
                  f"(perplexity {math.exp(final['held_out_loss']):.1f}), "
                  f"{final['train_seconds'] / 60:.0f} min")
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("training tokens (millions)")
    ax.set_ylabel("cross-entropy (nats/token)")
    ax.set_ylim(bottom=min(smooth + [v for _, v in valid]) - 0.3, top=min(max(loss), 9))
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
