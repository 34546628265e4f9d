"""SentencePiece through Debian's command-line tools (package `sentencepiece`: spm_encode,
spm_decode, spm_export_vocab), so that training needs no Python binding."""

import shutil
import subprocess


def _tool(name):
    path = shutil.which(name)
    if not path:
        raise RuntimeError(f"{name} not found: install Debian's sentencepiece package")
    return path


def encode(lines, model_path):
    """[[id, ...], ...] for each line (lines must not contain newlines)."""
    text = "".join(line + "\n" for line in lines)
    out = subprocess.run([_tool("spm_encode"), f"--model={model_path}", "--output_format=id"],
                         input=text, capture_output=True, text=True, check=True).stdout
    result = [[int(t) for t in row.split()] for row in out.split("\n")[:len(lines)]]
    if len(result) != len(lines):
        raise RuntimeError(f"spm_encode returned {len(result)} lines for {len(lines)}")
    return result


def decode(ids, model_path):
    """The text of one list of ids."""
    out = subprocess.run([_tool("spm_decode"), f"--model={model_path}", "--input_format=id"],
                         input=" ".join(map(str, ids)) + "\n", capture_output=True,
                         text=True, check=True).stdout
    return out.rstrip("\n")


def vocab_size(model_path):
    out = subprocess.run([_tool("spm_export_vocab"), f"--model={model_path}"],
                         capture_output=True, text=True, check=True).stdout
    return len(out.rstrip("\n").split("\n"))
