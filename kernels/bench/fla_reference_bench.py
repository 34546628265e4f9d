#!/usr/bin/env python3
"""Times flash-linear-attention's Triton GLA kernels (chunk_gla for prefill,
fused_recurrent_gla for decode) on the shapes our benchmarks use, for the comparison in
docs/benchmarks.md. fla is run from its public source beside the project (pass its
directory with --fla; nothing of it is part of glaserve).

Prefill: one sequence of 2K, 32K, 128K tokens and 16 x 2K (varlen), gla-1.3B attention
shape (H=4, dk=256, dv=512), initial and final states in fp32 as a server needs them.
Decode: one token for each of B sequences from fp32 states, B in 1, 32, 128, 512.
Median of CUDA-event timings (triton.testing.do_bench)."""
import argparse
import sys


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--fla", required=True, help="directory that holds the fla package")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--decode-only", action="store_true", help="skip chunk_gla (its autotuning is slow)")
    args = parser.parse_args()
    import os
    import types
    sys.path.insert(0, args.fla)
    # Load only fla.ops.gla and its helpers: fla/__init__ imports every layer and model,
    # some needing packages a bare GPU host lacks.
    for name, path in (("fla", "fla"), ("fla.ops", "fla/ops")):
        module = types.ModuleType(name)
        module.__path__ = [os.path.join(args.fla, path)]
        module.__version__ = "0"
        sys.modules[name] = module
    import torch
    import torch.nn.functional as F
    from triton.runtime.autotuner import Autotuner
    from triton.testing import do_bench
    from fla.ops.gla.chunk import chunk_gla
    from fla.ops.gla.fused_recurrent import fused_recurrent_gla
    # Trim each autotuner to a few common configs so compiling fits in a short GPU lease;
    # this can only understate fla a little (the configs it would pick are among them).
    for module in list(sys.modules.values()):
        if module is None or not getattr(module, "__name__", "").startswith("fla"):
            continue
        for obj in list(vars(module).values()):
            for _ in range(4):
                if obj is None:
                    break
                if isinstance(obj, Autotuner):
                    keep = [c for c in obj.configs if c.num_warps in (4, 8) and c.num_stages in (2, 3)]
                    obj.configs = (keep or obj.configs)[:4]
                    break
                obj = getattr(obj, "fn", None)

    H, K, V = 4, 256, 512
    dev = "cuda"
    torch.manual_seed(0)
    print("| kernel | shape | input dtype | median ms | tokens/s |")
    print("|---|---|---|---|---|")

    prefill = [] if args.decode_only else [("1x2K", [2048]), ("1x32K", [32768]), ("16x2K", [2048] * 16)]
    if prefill and not args.quick:
        prefill.insert(2, ("1x128K", [131072]))
    for name, lengths in prefill:
        T = sum(lengths)
        for dtype in (torch.bfloat16,):
            q = torch.randn(1, T, H, K, device=dev, dtype=dtype) * K ** -0.5
            k = torch.randn(1, T, H, K, device=dev, dtype=dtype)
            v = torch.randn(1, T, H, V, device=dev, dtype=dtype)
            g = (F.logsigmoid(torch.randn(1, T, H, K, device=dev)) / 16).to(dtype)
            h0 = torch.randn(len(lengths), H, V, K, device=dev, dtype=torch.float32)  # v-first, as ours
            cu = torch.tensor([0] + list(torch.tensor(lengths).cumsum(0)), device=dev, dtype=torch.long)
            fn = lambda: chunk_gla(q, k, v, g, scale=1.0, initial_state=h0, output_final_state=True,
                                   state_v_first=True, cu_seqlens=cu if len(lengths) > 1 else None)
            ms = do_bench(fn, warmup=50, rep=300, return_mode="median")
            print(f"| fla chunk_gla | {name} | {str(dtype).split('.')[-1]} | {ms:.3f} | {T / ms * 1e3:,.0f} |", flush=True)
            del q, k, v, g, h0

    for B in (1, 32, 128, 512):
        for dtype in (torch.bfloat16, torch.float32):
            q = torch.randn(B, 1, H, K, device=dev, dtype=dtype) * K ** -0.5
            k = torch.randn(B, 1, H, K, device=dev, dtype=dtype)
            v = torch.randn(B, 1, H, V, device=dev, dtype=dtype)
            g = (F.logsigmoid(torch.randn(B, 1, H, K, device=dev)) / 16).to(dtype)
            h0 = torch.randn(B, H, K, V, device=dev, dtype=torch.float32)
            fn = lambda: fused_recurrent_gla(q, k, v, gk=g, scale=1.0, initial_state=h0, output_final_state=True)
            ms = do_bench(fn, warmup=50, rep=300, return_mode="median")
            state_bytes = B * H * K * V * 4 * 2  # fp32 state read and written
            print(f"| fla fused_recurrent_gla (one layer) | batch {B} | {str(dtype).split('.')[-1]} | {ms:.4f} | "
                  f"{B / ms * 1e3:,.0f} (state {state_bytes / (ms * 1e-3) / 1e9:.0f} GB/s) |", flush=True)
            del q, k, v, g, h0


if __name__ == "__main__":
    main()
