#!/usr/bin/python3
"""Check the exported saliency models against PyTorch, run by sparseinfer's own engine.

For each of saliency_large/small/small_baseline.onnx: the graph's input and output
names and shapes are the issue-6 contract's, the "labels" metadata is there, and
`sparseinfer run` (dense engine, .npy in and out) on a rendered test frame gives
the torch model's outputs to within 1e-4 of the logit range (saliency maps to
within 1e-4 absolute). Φ' gets Φ's maps of the frame two frames earlier and
decay exp(-2/10), as at inference.

The torch weights are the checkpoints train_saliency.py leaves in its --work
folder (the ONNX files hold BatchNorm folded into the convolutions).

Usage: check_export.py --sparseinfer build/core/cli/sparseinfer [--work DIR] [--models DIR]
Exit status 0 when every check passes, 1 otherwise.
"""

import argparse
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export_onnx  # noqa: E402
import saliency_models  # noqa: E402
import traffic_scenes  # noqa: E402
import train_saliency  # noqa: E402

TOLERANCE = 1e-4


def contract(width, height):
    """name -> (inputs, outputs) as (name, shape) lists."""
    maps = [("saliency_a", [1, 1, height // 8, width // 8]), ("saliency_b", [1, 1, height // 16, width // 16])]
    return {
        "saliency_large": ([("frame", [1, 3, height, width])], [("logits", [1, 3])] + maps),
        "saliency_small": ([("frame", [1, 3, height // 2, width // 2])] + maps + [("decay", [1])], [("logits", [1, 3])]),
        "saliency_small_baseline": ([("frame", [1, 3, height // 2, width // 2])], [("logits", [1, 3])]),
    }


def graph_signature(values):
    return [(v.name, [d.dim_value for d in v.type.tensor_type.shape.dim]) for v in values]


def run_engine(binary, model_path, inputs, output_count, folder):
    args = [binary, "run", model_path]
    for i, array in enumerate(inputs):
        path = os.path.join(folder, f"in{i}.npy")
        np.save(path, np.ascontiguousarray(array, dtype=np.float32))
        args += ["--input", path]
    outputs = [os.path.join(folder, f"out{i}.npy") for i in range(output_count)]
    for path in outputs:
        args += ["--output", path]
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    return [np.load(path) for path in outputs]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sparseinfer", required=True, help="path of the sparseinfer CLI")
    parser.add_argument("--work", default="/tmp/train_saliency", help="train_saliency.py's checkpoints")
    parser.add_argument("--models", default=export_onnx.MODELS_DIR)
    args = parser.parse_args()
    torch.set_num_threads(2)

    large = saliency_models.LargeStream()
    large.load_state_dict(torch.load(os.path.join(args.work, "large.pt")))
    baseline = saliency_models.SmallStream(propagation=False)
    baseline.load_state_dict(torch.load(os.path.join(args.work, "baseline.pt")))
    small = saliency_models.SmallStream(propagation=True)
    small.load_state_dict(torch.load(os.path.join(args.work, "small.pt")))
    for model in (large, baseline, small):
        model.eval()

    sequence = traffic_scenes.render_sequence(traffic_scenes.sequence_generator("test", 0, 0))
    t, k = 5, 2
    frame = train_saliency.network_input(torch.from_numpy(sequence.frames[t : t + 1]))
    source = train_saliency.network_input(torch.from_numpy(sequence.frames[t - k : t - k + 1]))
    half = train_saliency.network_input(torch.from_numpy(sequence.frames[t : t + 1]), half=True)
    decay = torch.tensor([math.exp(-k / train_saliency.TAU)], dtype=torch.float32)
    with torch.no_grad():
        expected_large = [o.numpy() for o in large(frame)]
        _, map_a, map_b = large(source)
        expected_small = [small(half, map_a, map_b, decay).numpy()]
        expected_baseline = [baseline(half).numpy()]
    cases = {
        "saliency_large": ([frame.numpy()], expected_large),
        "saliency_small": ([half.numpy(), map_a.numpy(), map_b.numpy(), decay.numpy()], expected_small),
        "saliency_small_baseline": ([half.numpy()], expected_baseline),
    }

    failures = 0
    height, width = sequence.frames.shape[1:3]
    with tempfile.TemporaryDirectory() as folder:
        for name, (inputs, outputs) in contract(width, height).items():
            path = os.path.join(args.models, name + ".onnx")
            model = onnx.load(path)
            labels = {p.key: p.value for p in model.metadata_props}.get("labels")
            if graph_signature(model.graph.input) != inputs or graph_signature(model.graph.output) != outputs:
                print(f"FAIL {name}: graph {graph_signature(model.graph.input)} -> "
                      f"{graph_signature(model.graph.output)}, contract {inputs} -> {outputs}")
                failures += 1
                continue
            if labels != export_onnx.LABELS:
                print(f"FAIL {name}: labels metadata {labels!r}")
                failures += 1
            feeds, expected = cases[name]
            got = run_engine(args.sparseinfer, path, feeds, len(expected), folder)
            logit_range = float(expected[0].max() - expected[0].min())
            for (out_name, _), want, have in zip(outputs, expected, got):
                error = float(np.abs(want - have).max())
                bound = TOLERANCE * logit_range if out_name == "logits" else TOLERANCE
                verdict = "ok  " if error <= bound else "FAIL"
                failures += error > bound
                print(f"{verdict} {name}.{out_name}: max |engine - torch| = {error:.2e} (bound {bound:.2e}); "
                      f"torch {np.array2string(want.flatten()[:3], precision=4)}")
    print("all checks passed" if failures == 0 else f"{failures} check(s) failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
