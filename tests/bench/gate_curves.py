#!/usr/bin/python3
"""MAC fraction against accuracy for every change-mode gate (CBinfer's threshold
gate, Skip-Conv's input-norm, output-norm and structured gates; docs/gates.md)
over a threshold sweep, on vtest.avi (frames 0-299 only).

For the person-labelling network the accuracy is the argmax agreement with the
dense engine (mean over frames, and the worst frame); for the SSDLite pedestrian
detector the AP50 of the change-mode boxes with the dense boxes as ground truth
(all frames pooled; blockcopy_curves.ap50); for the MediaPipe selfie segmenter
the mean person-mask IoU with dense. The frames are segments of consecutive
clip frames inside 0-299, each run from a reset (its first, dense frame left
out). One threshold is shared by every layer (Skip-Conv §3.2.1 shares its
margin). Writes DIR/gate_curves.json and DIR/gate_curves.png.

Usage: gate_curves.py --sweep-bin build/tests/bench/sparseinfer-gate-sweep --out DIR
       [--segments START:COUNT,...] [--models person,ssd,selfie] [--gates ...] [--threads 2] [--jobs 1]
"""

import argparse
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from blockcopy_curves import ap50  # noqa: E402

VIDEO = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"
MODELS_DIR = os.path.join(HERE, "..", "..", "examples", "models")
MODELS = {
    "person": os.path.join(MODELS_DIR, "cbinfer_personlabel.onnx"),
    "ssd": os.path.join(MODELS_DIR, "pretrained", "ssdlite_mbv2_pedestrian_dyn.onnx"),
    "selfie": os.path.join(MODELS_DIR, "pretrained", "mp_selfie_segmentation_dyn.onnx"),
}
# The person network at the clip's size (its thresholds were calibrated
# there); the two pretrained networks at half size to fit the sweep in time.
SIZES = {"person": "768x576", "ssd": "384x288", "selfie": "384x288"}
SEGMENTS = {"person": "0:6,290:6", "ssd": "0:10,145:10,290:10", "selfie": "0:10,145:10,290:10"}
GATES = ["threshold", "input-norm", "output-norm", "input-norm-2x2", "input-norm-4x4", "input-norm-8x8",
         "output-norm-2x2", "output-norm-4x4", "output-norm-8x8"]
# Threshold sweeps per model and gate family, log-spaced, chosen with a probe
# on frames 0-4 so each family spans from near-exact to most of the work
# skipped. The norm gates sum over the channels and the output-norm gate
# multiplies by ||W||_1, so their thresholds live on other scales than CBinfer's.
SWEEPS = {
    "person": {"threshold": [0.1, 0.2, 0.3, 0.8], "input-norm": [0.3, 0.6, 1, 4],
               "output-norm": [30, 100, 300, 1000]},
    "ssd": {"threshold": [0.03, 0.1, 0.2, 0.3, 0.5, 1], "input-norm": [0.1, 0.3, 1, 3, 5],
            "output-norm": [30, 100, 300, 1000, 3000]},
    "selfie": {"threshold": [0.005, 0.01, 0.03, 0.1, 0.3], "input-norm": [0.01, 0.03, 0.1, 0.3, 1],
               "output-norm": [3, 10, 30, 100, 300]},
}


def family(gate):
    return "threshold" if gate == "threshold" else ("output-norm" if gate.startswith("output") else "input-norm")


def run_model(binary, model, segments, threads, gates, log_path):
    command = [binary, "--model", MODELS[model], "--video", VIDEO, "--size", SIZES[model], "--segments", segments]
    if threads:
        command += ["--threads", str(threads)]
    for g in gates:
        command += ["--sweep", g + "=" + ",".join(str(t) for t in SWEEPS[model][family(g)])]
    result = subprocess.run(command, capture_output=True, text=True)
    with open(log_path, "w") as log:
        log.write(" ".join(command) + "\n" + result.stderr)
    with open(log_path.replace(".log", ".jsonl"), "w") as raw:  # the lines as printed, for --raw
        raw.write(result.stdout)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}): {result.stderr.strip()[-500:]}")
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def summarize(model, lines):
    rows, dense = [], None
    for line in lines:
        if line["gate"] == "dense":
            dense = line["detections"]
    for line in lines:
        if line["gate"] == "dense":
            continue
        row = {k: v for k, v in line.items() if k != "detections"}
        row["model"] = os.path.relpath(os.path.realpath(row["model"]), os.path.realpath(os.path.join(HERE, "..", "..")))
        row["model_name"] = model
        if "detections" in line:
            row["ap50"] = ap50(line["detections"], dense)
        rows.append(row)
    return rows


def metric_of(model):
    return {"person": "agreement", "ssd": "ap50", "selfie": "mask_iou"}[model]


def plot(rows, models, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {"threshold": "black", "input-norm": "tab:blue", "output-norm": "tab:red"}
    styles = {"": "-", "2x2": "--", "4x4": "-.", "8x8": ":"}
    markers = {"": "o", "2x2": "s", "4x4": "^", "8x8": "v"}
    labels = {"person": "argmax agreement with dense (mean)", "ssd": "AP50 (dense boxes as truth)",
              "selfie": "person-mask IoU with dense (mean)"}
    titles = {"person": "cbinfer_personlabel", "ssd": "SSDLite MobileNetV2 pedestrian", "selfie": "MediaPipe selfie"}
    fig, axes = plt.subplots(1, len(models), figsize=(6 * len(models), 4.8), squeeze=False)
    for ax, m in zip(axes[0], models):
        metric = metric_of(m)
        for gate in GATES:
            pts = sorted((r["mac_fraction"], r[metric]) for r in rows
                         if r["model_name"] == m and r["gate"] == gate and r.get(metric) is not None)
            if not pts:
                continue
            k = gate.split("-")[-1] if gate.endswith("x2") or gate.endswith("x4") or gate.endswith("x8") else ""
            ax.plot([100 * p[0] for p in pts], [p[1] for p in pts], linestyle=styles[k], marker=markers[k],
                    color=colors[family(gate)], label=gate, markersize=4)
        if m == "person":  # every point is under a quarter of the work: spread them out
            ax.set_xscale("log")
            ax.set_xlim(4, 100)
        else:
            ax.set_xlim(0, 100)
        ax.set_xlabel("MACs executed [% of dense]")
        ax.set_ylabel(labels[m])
        ax.set_title(f"{titles[m]}, vtest {SIZES[m]}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sweep-bin")
    parser.add_argument("--out", required=True)
    parser.add_argument("--segments", help="START:COUNT,... (default: SEGMENTS per model)")
    parser.add_argument("--models", default="person,ssd,selfie")
    parser.add_argument("--gates", default=",".join(GATES))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--merge", nargs="+", metavar="JSON",
                        help="run nothing: join the rows of earlier gate_curves.json files into --out")
    parser.add_argument("--raw", nargs="+", metavar="MODEL=JSONL", default=[],
                        help="with --merge: also the lines sparseinfer-gate-sweep printed for MODEL")
    args = parser.parse_args()
    if args.merge or args.raw:
        rows = []
        for path in args.merge or []:
            with open(path) as f:
                rows += json.load(f)
        for spec in args.raw:
            model, path = spec.split("=", 1)
            with open(path) as f:
                rows += summarize(model, [json.loads(line) for line in f if line.startswith("{")])
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "gate_curves.json"), "w") as f:
            json.dump(rows, f, indent=1)
        plot(rows, [m for m in MODELS if any(r["model_name"] == m for r in rows)],
             os.path.join(args.out, "gate_curves.png"))
        return 0
    if not args.sweep_bin:
        parser.error("--sweep-bin is required (unless --merge)")
    models = args.models.split(",")
    gates = args.gates.split(",")
    for path in [VIDEO, args.sweep_bin] + [MODELS[m] for m in models]:
        if not os.path.isfile(path):
            print(f"gate_curves: {path} not found")
            return 1
    segments = {m: args.segments or SEGMENTS[m] for m in models}
    for m in models:
        for s in segments[m].split(","):
            start, count = (int(x) for x in s.split(":"))
            if start + count > 300:
                print(f"gate_curves: segment {s} leaves frames 0-299")
                return 1
    os.makedirs(args.out, exist_ok=True)
    # One run per model: its dense reference is computed once for all gates.
    def execute(m):
        return m, run_model(args.sweep_bin, m, segments[m], args.threads, gates, os.path.join(args.out, f"{m}.log"))

    rows = []
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for m, lines in pool.map(execute, models):
            for row in summarize(m, lines):
                rows.append(row)
                print(json.dumps(row), flush=True)
    path = os.path.join(args.out, "gate_curves.json")
    previous = []
    if os.path.isfile(path):  # runs of other models or gates stay
        with open(path) as f:
            previous = [r for r in json.load(f)
                        if not (r["model_name"] in models and r["gate"] in gates)]
    rows = previous + rows
    with open(path, "w") as f:
        json.dump(rows, f, indent=1)
    plot(rows, [m for m in MODELS if any(r["model_name"] == m for r in rows)],
         os.path.join(args.out, "gate_curves.png"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
