#!/usr/bin/python3
"""PyTorch side of the benchmark: time the example model on preprocessed frames.

The torch module is rebuilt from the model file's stem with make_models.build_model,
so it has exactly the weights of the exported .onnx. Prints one JSON line:
{"reference":"torch","torch_version":...,"threads":T,"frames":N,"ms_median":...,
 "ms_p90":...,"mkldnn":bool}; on an error {"reference":"torch","error":"..."}.

Usage: torch_reference.py --model PATH.onnx --frames FRAMES.npy --threads T
                          [--warmup 3] [--save-outputs OUT.npy]
"""

import argparse
import json
import os
import sys
import time

EXIT_ERROR = 3


def fail(message):
    print(json.dumps({"reference": "torch", "error": message}))
    sys.stdout.flush()
    sys.exit(EXIT_ERROR)


def import_make_models():
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, os.path.join(here, "..", "..", "examples", "models"))
    import make_models

    return make_models


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="example model .onnx (its stem names the model)")
    parser.add_argument("--frames", required=True, help="(N,3,H,W) float32 .npy of preprocessed frames")
    parser.add_argument("--threads", type=int, required=True, help="torch intra-op threads")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs before the timed frames")
    parser.add_argument("--save-outputs", metavar="OUT.npy", help="save the stacked first output")
    args = parser.parse_args(argv)

    import numpy as np
    import torch

    mm = import_make_models()
    name = os.path.splitext(os.path.basename(args.model))[0]
    if name not in mm.MODELS:
        fail(f"no PyTorch build for model '{name}' (known: {', '.join(mm.MODELS)})")
    if args.threads < 1:
        fail(f"--threads must be at least 1, got {args.threads}")
    if args.warmup < 0:
        fail(f"--warmup must not be negative, got {args.warmup}")
    try:
        frames = np.load(args.frames)
    except (OSError, ValueError) as error:
        fail(f"cannot read frames {args.frames}: {error}")
    if frames.ndim != 4 or frames.shape[1] != 3 or frames.dtype != np.float32 or frames.shape[0] == 0:
        fail(f"frames {args.frames} must be (N,3,H,W) float32 with N > 0, got {frames.dtype} {frames.shape}")

    torch.set_num_threads(args.threads)
    model = mm.build_model(name)
    batch = torch.from_numpy(np.ascontiguousarray(frames))
    times_ms = []
    first_outputs = []
    try:
        with torch.no_grad():
            for i in range(args.warmup):
                model(batch[i % len(batch)].unsqueeze(0))
            for frame in batch:
                x = frame.unsqueeze(0)
                start = time.perf_counter()
                out = model(x)
                times_ms.append((time.perf_counter() - start) * 1e3)
                if args.save_outputs:
                    first = out[0] if isinstance(out, tuple) else out
                    first_outputs.append(first[0].numpy().copy())
    except RuntimeError as error:
        fail(f"PyTorch failed on {name} with frames {tuple(frames.shape)}: {error}")

    if args.save_outputs:
        np.save(args.save_outputs, np.stack(first_outputs).astype(np.float32))
    times = np.array(times_ms)
    print(
        json.dumps(
            {
                "reference": "torch",
                "model": name,
                "torch_version": torch.__version__,
                "threads": torch.get_num_threads(),
                "frames": int(len(batch)),
                "height": int(frames.shape[2]),
                "width": int(frames.shape[3]),
                "ms_median": round(float(np.median(times)), 4),
                "ms_p90": round(float(np.percentile(times, 90)), 4),
                "mkldnn": bool(torch.backends.mkldnn.is_available()),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
