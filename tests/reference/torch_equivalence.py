#!/usr/bin/python3
"""Whole-model equivalence: the sparseinfer CLI against PyTorch on every example model.

For each model in examples/models and two input sizes, a seeded random input goes
through PyTorch (make_models.build_model) and through `CLI run MODEL.onnx --input
in.npy --output out.npy ...`; every output must agree within 1e-4 of the reference
output's range. Also reports (without failing) when a committed .onnx differs from
a fresh export.

Usage: torch_equivalence.py --cli PATH --models-dir DIR [--only NAME ...]
"""

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

RELATIVE_TOLERANCE = 1e-4
CLI_TIMEOUT_S = 600

# A second size per model besides its default: 320x240 keeps every stride valid
# (multiples of 8 for the skip and stride-8 nets) and is not a power of two.
SECOND_SIZE = (240, 320)


def import_make_models(models_dir):
    """make_models from the models folder, else from this checkout's examples/models."""
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = [models_dir, os.path.join(here, "..", "..", "examples", "models")]
    for folder in candidates:
        if os.path.isfile(os.path.join(folder, "make_models.py")):
            sys.path.insert(0, os.path.abspath(folder))
            import make_models

            return make_models
    raise SystemExit(f"make_models.py not found in {' or '.join(candidates)}")


def run_cli(cli, model_path, input_path, output_paths):
    command = [cli, "run", model_path, "--input", input_path]
    for path in output_paths:
        command += ["--output", path]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=CLI_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return f"timed out after {CLI_TIMEOUT_S} s: {' '.join(command)}"
    except OSError as error:
        return f"cannot run {cli}: {error}"
    if result.returncode != 0:
        message = f"exit {result.returncode}: {' '.join(command)}"
        stderr = result.stderr.strip()
        return message + ("\n" + stderr if stderr else "")
    missing = [p for p in output_paths if not os.path.isfile(p)]
    if missing:
        return f"no output file {', '.join(missing)} from {' '.join(command)}"
    return None


def compare(reference, actual):
    """(passed, max_abs_diff, range, reason) for one output."""
    value_range = float(reference.max() - reference.min())
    if actual.shape != reference.shape:
        return False, float("nan"), value_range, f"shape {actual.shape}, expected {reference.shape}"
    if actual.dtype != np.float32:
        return False, float("nan"), value_range, f"dtype {actual.dtype}, expected float32"
    if not np.all(np.isfinite(actual)):
        return False, float("nan"), value_range, "non-finite values"
    diff = float(np.max(np.abs(actual.astype(np.float64) - reference.astype(np.float64))))
    tolerance = RELATIVE_TOLERANCE * value_range if value_range > 0 else 1e-6
    return diff <= tolerance, diff, value_range, "" if diff <= tolerance else f"tolerance {tolerance:.3g}"


def check_model(mm, cli, name, model_path, workdir):
    """Run one model at both sizes; returns the number of failures."""
    model = mm.build_model(name)
    n, c, h, w = mm.MODELS[name]
    failures = 0
    for height, width in [(h, w), SECOND_SIZE]:
        shape = (n, c, height, width)
        seed = 7919 * height + width
        x = torch.randn(shape, generator=torch.Generator().manual_seed(seed))
        with torch.no_grad():
            reference = model(x)
        reference = reference if isinstance(reference, tuple) else (reference,)

        input_path = os.path.join(workdir, f"{name}_{width}x{height}_in.npy")
        np.save(input_path, x.numpy())
        output_paths = [
            os.path.join(workdir, f"{name}_{width}x{height}_{out}.npy") for out in mm.OUTPUT_NAMES[name]
        ]
        for path in output_paths:
            if os.path.exists(path):
                os.remove(path)
        error = run_cli(cli, model_path, input_path, output_paths)
        if error:
            print(f"FAIL {name} {width}x{height}: {error}")
            failures += 1
            continue
        for out_name, ref, path in zip(mm.OUTPUT_NAMES[name], reference, output_paths):
            passed, diff, value_range, reason = compare(ref.numpy(), np.load(path))
            status = "ok  " if passed else "FAIL"
            print(
                f"{status} {name} {width}x{height} {out_name}: max_abs_diff {diff:.3g} "
                f"range {value_range:.3g} {reason}".rstrip()
            )
            failures += 0 if passed else 1
        sys.stdout.flush()
    return failures


def report_export_drift(mm, name, committed_path, workdir):
    """Say whether the committed file is what make_models exports today."""
    fresh_dir = os.path.join(workdir, "fresh")
    os.makedirs(fresh_dir, exist_ok=True)
    fresh_path = mm.export(name, fresh_dir)
    with open(committed_path, "rb") as a, open(fresh_path, "rb") as b:
        same = a.read() == b.read()
    if same:
        print(f"note {name}: committed .onnx is byte-identical to a fresh export")
    else:
        print(f"note {name}: committed .onnx DIFFERS from a fresh export (torch version or weights changed?)")
    os.remove(fresh_path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cli", required=True, help="the sparseinfer command line program")
    parser.add_argument("--models-dir", required=True, help="folder with the example .onnx files")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="check only these models")
    args = parser.parse_args(argv)

    mm = import_make_models(args.models_dir)
    names = args.only or list(mm.MODELS)
    unknown = [n for n in names if n not in mm.MODELS]
    if unknown:
        parser.error(f"unknown model(s) {', '.join(unknown)}; known: {', '.join(mm.MODELS)}")
    if not os.access(args.cli, os.X_OK):
        print(f"FAIL: the CLI {args.cli} is not an executable file")
        return 1

    failures = 0
    with tempfile.TemporaryDirectory(prefix="torch_equivalence_") as workdir:
        for name in names:
            model_path = os.path.join(args.models_dir, name + ".onnx")
            if os.path.isfile(model_path):
                report_export_drift(mm, name, model_path, workdir)
            else:
                # Not committed (too large): export it for this run only.
                model_path = mm.export(name, workdir)
                print(f"note {name}: not in {args.models_dir}, exported to a temporary folder")
            failures += check_model(mm, args.cli, name, model_path, workdir)

    print(f"{'FAILED' if failures else 'passed'}: {failures} failure(s) over {len(names)} model(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
