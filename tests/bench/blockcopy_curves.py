#!/usr/bin/python3
"""Accuracy against cost for BlockCopy block mode (the paper's Fig. 5 shape) and the
policy's overhead per frame (its Table 3 shape), on vtest.avi.

For the SSDLite pedestrian detector (free size) and the MediaPipe selfie segmenter at
768x576, runs `sparseinfer stream --mode block` from frame --first to --last with the
policy gate at each cost target τ and with the change gate at each threshold. The
accuracy is measured on frames --eval-from..--last against the dense engine on the same
frames: AP50 of the block-mode detections with the dense detections as ground truth
(all-point interpolated precision/recall over all evaluated frames), and the mean over
frames of the person-mask IoU (stream --compare-dense's mask_iou). The cost is the mean
executed fraction of blocks over the evaluated frames. Writes RESULTS.json and
RESULTS.png (accuracy against executed fraction, one panel per model) and prints one
JSON object per configuration.

Usage: blockcopy_curves.py --cli build/core/cli/sparseinfer --out DIR [--first 0]
       [--eval-from 50] [--last 349] [--taus 0.1,0.2,0.3,0.5,0.7,0.9]
       [--thresholds-ssd 0.1,0.2,0.4] [--thresholds-selfie 0.05,0.1,0.2] [--jobs 2] [--threads 1] [--models ssd,selfie]
"""

import argparse
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

VIDEO = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"
HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = {
    "ssd": os.path.join(HERE, "..", "..", "examples", "models", "pretrained", "ssdlite_mbv2_pedestrian_dyn.onnx"),
    "selfie": os.path.join(HERE, "..", "..", "examples", "models", "pretrained", "mp_selfie_segmentation_dyn.onnx"),
}
SIZE = "768x576"


def run_stream(cli, model, extra, first, last, threads, log_path):
    """Runs stream; returns the per-frame JSON objects (also kept in log_path)."""
    command = [cli, "stream", model, "--video", VIDEO, "--size", SIZE, "--start", str(first),
               "--frames", str(last - first + 1), "--threads", str(threads)] + extra
    result = subprocess.run(command, capture_output=True, text=True)
    with open(log_path, "w") as log:
        log.write(" ".join(command) + "\n" + result.stdout + result.stderr)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}): {result.stderr.strip()[-500:]}")
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def iou(a, b):
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def ap50(predictions, truths):
    """predictions, truths: {frame: [detection]}; AP at IoU 0.5, all-point interpolation."""
    total = sum(len(v) for v in truths.values())
    if total == 0:
        return None
    ranked = sorted(((d["score"], f, d["box"]) for f, ds in predictions.items() for d in ds), key=lambda x: -x[0])
    used = {f: [False] * len(v) for f, v in truths.items()}
    tp, fp, points = 0, 0, []
    for _, f, box in ranked:
        best, best_j = 0.5, -1
        for j, t in enumerate(truths.get(f, [])):
            overlap = iou(box, t["box"])
            if overlap >= best and not used[f][j]:
                best, best_j = overlap, j
        if best_j >= 0:
            used[f][best_j] = True
            tp += 1
        else:
            fp += 1
        points.append((tp / total, tp / (tp + fp)))
    ap, previous_recall = 0.0, 0.0
    for i, (recall, _) in enumerate(points):
        precision = max(p for _, p in points[i:])
        ap += (recall - previous_recall) * precision
        previous_recall = recall
    return ap


def summarize(frames, eval_from):
    evaluated = [f for f in frames if f["frame"] >= eval_from]
    mean = lambda xs: sum(xs) / len(xs) if xs else None  # noqa: E731
    out = {"frames": len(evaluated),
           "executed_fraction": mean([f.get("executed_fraction", 1.0) for f in evaluated]),
           "mac_fraction": mean([f["mac_fraction"] for f in evaluated]),
           "ms": mean([f["ms"] for f in evaluated])}
    stages = [f["stage_ms"] for f in evaluated]
    out["stage_ms"] = {k: mean([s[k] for s in stages]) for k in stages[0]} if stages else {}
    policies = [f["policy"] for f in evaluated if "policy" in f]
    if policies:
        out["policy_ms"] = {k: mean([p[k] for p in policies])
                            for k in ("forward_ms", "information_gain_ms", "backward_ms", "update_ms")}
        out["final_running_cost"] = policies[-1]["running_cost"]
    if evaluated and "mask_iou" in evaluated[0]:
        out["mask_iou"] = mean([f["mask_iou"] for f in evaluated])
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cli", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--eval-from", type=int, default=50)
    parser.add_argument("--last", type=int, default=349)
    parser.add_argument("--taus", default="0.1,0.2,0.3,0.5,0.7,0.9")
    # Change-gate thresholds on the network input: the SSD takes x/127.5 - 1, the selfie model x/255.
    parser.add_argument("--thresholds-ssd", default="0.1,0.2,0.4")
    parser.add_argument("--thresholds-selfie", default="0.05,0.1,0.2")
    parser.add_argument("--models", default="ssd,selfie")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    for path in [VIDEO, args.cli] + [MODELS[m] for m in args.models.split(",")]:
        if not os.path.isfile(path):
            print(f"blockcopy_curves: {path} not found")
            return 1
    os.makedirs(args.out, exist_ok=True)
    taus = [float(t) for t in args.taus.split(",") if t]
    runs = []  # (model, gate, value, extra arguments)
    for m in args.models.split(","):
        compare = ["--compare-dense"] if m == "selfie" else ["--decode"]
        if m == "ssd":
            runs.append((m, "dense", None, ["--mode", "dense", "--decode"]))
        runs += [(m, "policy", t, ["--mode", "block", "--gate", "policy", "--cost-target", str(t)] + compare)
                 for t in taus]
        thresholds = [float(t) for t in getattr(args, f"thresholds_{m}").split(",") if t]
        runs += [(m, "change", t, ["--mode", "block", "--gate", "change", "--block-threshold", str(t)] + compare)
                 for t in thresholds]

    def execute(run):
        m, gate, value, extra = run
        log = os.path.join(args.out, f"{m}_{gate}_{value}.log")
        return run, run_stream(args.cli, MODELS[m], extra, args.first, args.last, args.threads, log)

    results = {}
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for (m, gate, value, _), frames in pool.map(execute, runs):
            results[(m, gate, value)] = frames
    rows = []
    for (m, gate, value), frames in results.items():
        if gate == "dense":
            continue
        row = {"model": m, "gate": gate, "cost_target" if gate == "policy" else "threshold": value,
               "first": args.first, "eval_from": args.eval_from, "last": args.last}
        row.update(summarize(frames, args.eval_from))
        if m == "ssd":
            truth = {f["frame"]: f["detections"] for f in results[(m, "dense", None)] if f["frame"] >= args.eval_from}
            ours = {f["frame"]: f["detections"] for f in frames if f["frame"] >= args.eval_from}
            row["ap50"] = ap50(ours, truth)
        rows.append(row)
        print(json.dumps(row))
    with open(os.path.join(args.out, "blockcopy_curves.json"), "w") as f:
        json.dump(rows, f, indent=1)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = args.models.split(",")
    fig, axes = plt.subplots(1, len(models), figsize=(6 * len(models), 4.5), squeeze=False)
    for ax, m in zip(axes[0], models):
        metric = "ap50" if m == "ssd" else "mask_iou"
        for gate, style in (("policy", "o-"), ("change", "s--")):
            pts = sorted((r["executed_fraction"], r[metric]) for r in rows
                         if r["model"] == m and r["gate"] == gate and r.get(metric) is not None)
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], style, label=f"{gate} gate")
        for r in rows:
            if r["model"] == m and r["gate"] == "policy" and r.get(metric) is not None:
                ax.annotate(f"τ={r['cost_target']}", (r["executed_fraction"], r[metric]), fontsize=7)
        ax.axhline(0.95, color="grey", lw=0.8, ls=":")
        ax.set_xlabel("executed fraction of blocks")
        ax.set_ylabel("AP50 vs dense" if m == "ssd" else "person-mask IoU vs dense")
        ax.set_title(f"{m} 768x576, vtest frames {args.eval_from}-{args.last}")
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "blockcopy_curves.png"), dpi=110)
    return 0


if __name__ == "__main__":
    sys.exit(main())
