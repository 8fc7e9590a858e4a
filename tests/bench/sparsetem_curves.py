#!/usr/bin/python3
"""Fixed against online thresholds at equal sparsity (SparseTem Fig. 10 shape).

For each clip (vtest frames 0-299, the first 150 frames of tree and Megamind) and
each network, runs `sparseinfer stream` in change mode with one fixed threshold for
every gated layer (DeltaCNN's fixed truncation threshold) at several values, and with
the online controller (--target-sparsity, SparseTem IBST) at several targets. Every
run starts from the same threshold. Sparsity is measured per gated layer per frame as
the share of output pixels not recomputed; a run's sparsity is the mean over steady
frames and gated layers, its cost the mean MAC fraction. Accuracy is measured against
the dense engine on the same frames:
  - person: the person network (cbinfer_personlabel.onnx), mean per-pixel argmax
    agreement with dense (stream --compare-dense);
  - ssd: the SSDLite MobileNetV2 pedestrian detector at 300x300, AP50 of its
    detections with the dense detections as ground truth (blockcopy_curves.ap50).
Writes DIR/sparsetem_curves.json and DIR/sparsetem_curves.png (accuracy against
sparsity, one panel per network and clip) and prints one JSON object per run.

Usage: sparsetem_curves.py --cli build/core/cli/sparseinfer --out DIR [--frames N]
       [--jobs 2] [--threads 1] [--nets person,ssd] [--clips vtest,tree,megamind]
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

DATA = "/usr/share/doc/opencv-doc/examples/data"
CLIPS = {"vtest": f"{DATA}/vtest.avi", "tree": f"{DATA}/tree.avi", "megamind": f"{DATA}/Megamind.avi"}
# vtest: frames 0-299 only (the tuning range); the other clips' first frames.
CLIP_FRAMES = {"vtest": 300, "tree": 150, "megamind": 150}
MODELS = os.path.join(HERE, "..", "..", "examples", "models")
NETS = {
    # model, size, fixed thresholds, targets, start threshold of the online runs
    "person": (os.path.join(MODELS, "cbinfer_personlabel.onnx"), "192x144",
               [0.1, 0.3, 1.0, 3.0], [0.6, 0.8, 0.9, 0.95], 0.1),
    "ssd": (os.path.join(MODELS, "pretrained", "ssdlite_mbv2_pedestrian_300.onnx"), "300x300",
            [0.1, 0.3, 1.0], [0.6, 0.8, 0.9], 0.1),
}


def run_stream(cli, model, video, size, frames, threads, extra, log_path):
    command = [cli, "stream", model, "--video", video, "--size", size, "--frames", str(frames),
               "--threads", str(threads)] + extra
    result = subprocess.run(command, capture_output=True, text=True)
    with open(log_path, "w") as log:
        log.write(" ".join(command) + "\n" + result.stdout + result.stderr)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}): {result.stderr.strip()[-500:]}")
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def summarize(frames):
    steady = [f for f in frames if not f["dense_frame"]]
    gated = list(steady[0]["accepted_fraction"].keys())
    mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
    per_layer = {g: mean([1 - f["changed_fraction"][g] for f in steady]) for g in gated}
    out = {"frames": len(frames),
           "sparsity": mean(list(per_layer.values())),
           "layer_sparsity": per_layer,
           "layer_spread": max(per_layer.values()) - min(per_layer.values()),
           "mac_fraction": mean([f["mac_fraction"] for f in steady]),
           "ms": mean([f["ms"] for f in steady])}
    if "agreement" in steady[0]:
        out["agreement"] = mean([f["agreement"] for f in steady])
        out["agreement_min"] = min(f["agreement"] for f in steady)
    if "sparsity" in steady[0]:
        band = [f["sparsity"]["in_band"] for f in steady]
        out["in_band"] = mean(band)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cli", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--frames", type=int, default=0, help="frames per clip (default: CLIP_FRAMES)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--nets", default="person,ssd")
    parser.add_argument("--clips", default="vtest,tree,megamind")
    parser.add_argument("--extra", default="", help="more stream options for the online runs (tuning)")
    args = parser.parse_args()
    nets, clips = args.nets.split(","), args.clips.split(",")
    for path in [args.cli] + [CLIPS[c] for c in clips] + [NETS[n][0] for n in nets]:
        if not os.path.isfile(path):
            print(f"sparsetem_curves: {path} not found")
            return 1
    os.makedirs(args.out, exist_ok=True)
    runs = []  # (net, clip, kind, value, extra)
    for n in nets:
        model, size, fixed, targets, start = NETS[n]
        score = ["--compare-dense"] if n == "person" else ["--decode"]
        for c in clips:
            if n == "ssd":
                runs.append((n, c, "dense", None, ["--mode", "dense", "--decode"]))
            runs += [(n, c, "fixed", t, ["--threshold", str(t)] + score) for t in fixed]
            runs += [(n, c, "online", t, ["--threshold", str(start), "--target-sparsity", str(t)] +
                      args.extra.split() + score) for t in targets]

    def execute(run):
        n, c, kind, value, extra = run
        model, size = NETS[n][0], NETS[n][1]
        log = os.path.join(args.out, f"{n}_{c}_{kind}_{value}.log")
        frames = min(args.frames or CLIP_FRAMES[c], CLIP_FRAMES[c])
        return run, run_stream(args.cli, model, CLIPS[c], size, frames, args.threads, extra, log)

    results = {}
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for (n, c, kind, value, _), frames in pool.map(execute, runs):
            results[(n, c, kind, value)] = frames
    rows = []
    for (n, c, kind, value), frames in results.items():
        if kind == "dense":
            continue
        row = {"net": n, "clip": c, "kind": kind, "threshold" if kind == "fixed" else "target": value,
               "size": NETS[n][1]}
        row.update(summarize(frames))
        if n == "ssd":
            truth = {f["frame"]: f["detections"] for f in results[(n, c, "dense", None)]}
            ours = {f["frame"]: f["detections"] for f in frames}
            row["ap50"] = ap50(ours, truth)
        rows.append(row)
        print(json.dumps(row), flush=True)
    with open(os.path.join(args.out, "sparsetem_curves.json"), "w") as f:
        json.dump(rows, f, indent=1)
    plot(rows, nets, clips, os.path.join(args.out, "sparsetem_curves.png"))
    return 0


def plot(rows, nets, clips, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(nets), len(clips), figsize=(4.6 * len(clips), 3.8 * len(nets)), squeeze=False)
    for i, n in enumerate(nets):
        metric = "agreement" if n == "person" else "ap50"
        for j, c in enumerate(clips):
            ax = axes[i][j]
            for kind, style in (("fixed", "s--"), ("online", "o-")):
                pts = sorted((100 * r["sparsity"], 100 * r[metric]) for r in rows
                             if r["net"] == n and r["clip"] == c and r["kind"] == kind and r.get(metric) is not None)
                if pts:
                    ax.plot([p[0] for p in pts], [p[1] for p in pts], style,
                            label="fixed threshold" if kind == "fixed" else "online (IBST)")
            ax.set_xlabel("sparsity of the gated layers [%]")
            ax.set_ylabel("agreement with dense [%]" if n == "person" else "AP50 vs dense [%]")
            ax.set_title(f"{n} {NETS[n][1]}, {c}")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    sys.exit(main())
