#!/usr/bin/env bash
# Writes a small random GLA checkpoint with a SentencePiece tokenizer to build/models/demo,
# for trying glaserve before a trained checkpoint is at hand. Random weights: the text it
# generates is noise, but every part of the pipeline is real.
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/models/demo
mkdir -p "$out/tokenizer"
spm_train --input=tests/data/tokenizer_corpus.txt --model_prefix="$out/tokenizer/tokenizer" \
  --vocab_size=512 --model_type=bpe --byte_fallback=true --character_coverage=1.0 \
  --bos_id=1 --eos_id=2 --unk_id=0 --pad_id=-1 --num_threads=1 --minloglevel=2 >/dev/null
/usr/bin/python3 scripts/make_random_checkpoint.py --out "$out" --seed 1 --hidden-size 256 \
  --num-layers 4 --num-heads 4 --vocab-size 512 --tokenizer "$out/tokenizer"
echo "wrote $out"
