#!/usr/bin/python3
"""Threshold sweep in the manner of CBinfer Fig. 7.

For each clip, runs `sparseinfer stream --compare-dense` with the calibrated
thresholds multiplied by a joint scale, and plots throughput, changed pixels
(first detecting layer and MACs) and error (1 - argmax agreement) against the
scale, one trace per clip. Writes the numbers as JSON next to the PNG so the
plot can be checked and redrawn.

  tests/bench/threshold_sweep.py --model examples/models/cbinfer_scenelabel.onnx \
      --thresholds tests/bench/results/cbinfer_scenelabel.thresholds.json \
      --size 768x576 --frames 40 --out tests/bench/results/threshold_sweep
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CLIPS = "/usr/share/doc/opencv-doc/examples/data"


def run_clip(cli, model, video, thresholds, scale, size, frames, threads):
    cmd = [cli, "stream", model, "--video", video, "--thresholds", thresholds, "--threshold-scale", str(scale),
           "--size", size, "--frames", str(frames), "--compare-dense"]
    if threads:
        cmd += ["--threads", str(threads)]
    out = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True).stdout
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    steady = [r for r in rows if not r["dense_frame"]]  # the first frame is dense by design
    first_layer = next(iter(steady[0]["changed_fraction"]))
    return {
        "scale": scale,
        "frames": len(rows),
        "ms_median": statistics.median(r["ms"] for r in steady),
        "fps": 1000.0 / statistics.median(r["ms"] for r in steady),
        "changed_fraction_first_layer": statistics.mean(r["changed_fraction"][first_layer] for r in steady),
        "mac_fraction": statistics.mean(r["mac_fraction"] for r in steady),
        "agreement_mean": statistics.mean(r["agreement"] for r in steady),
        "agreement_min": min(r["agreement"] for r in steady),
    }


def plot(results, path_png, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for clip, rows in results.items():
        s = [r["scale"] for r in rows]
        axes[0].plot(s, [r["fps"] for r in rows], marker="o", label=clip)
        axes[1].plot(s, [100 * r["changed_fraction_first_layer"] for r in rows], marker="o", label=clip + " (layer 1 pixels)")
        axes[1].plot(s, [100 * r["mac_fraction"] for r in rows], marker="x", linestyle="--", label=clip + " (MACs)")
        axes[2].plot(s, [100 * (1 - r["agreement_mean"]) for r in rows], marker="o", label=clip + " (mean)")
        axes[2].plot(s, [100 * (1 - r["agreement_min"]) for r in rows], marker="x", linestyle="--", label=clip + " (worst frame)")
    axes[0].set_ylabel("throughput [frame/s]")
    axes[1].set_ylabel("changed [%]")
    axes[2].set_ylabel("pixels whose class differs from dense [%]")
    for ax in axes:
        ax.set_xlabel("threshold scale (x calibrated thresholds)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path_png, dpi=110)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--thresholds", required=True, help="calibrated thresholds JSON")
    p.add_argument("--size", default="768x576")
    p.add_argument("--frames", type=int, default=40)
    p.add_argument("--scales", default="0,0.25,0.5,1,1.5,2,3,4")
    p.add_argument("--clips", default="vtest.avi,tree.avi,Megamind.avi")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--out", required=True, help="output path without extension (.json and .png are written)")
    a = p.parse_args()
    cli = os.path.join(a.build, "core", "cli", "sparseinfer")
    results = {}
    for clip in a.clips.split(","):
        results[clip] = []
        for scale in [float(s) for s in a.scales.split(",")]:
            r = run_clip(cli, a.model, os.path.join(CLIPS, clip), a.thresholds, scale, a.size, a.frames, a.threads)
            results[clip].append(r)
            print(json.dumps({"clip": clip, **r}), flush=True)
    meta = {"model": a.model, "thresholds": a.thresholds, "size": a.size, "frames": a.frames,
            "machine": os.uname().nodename, "cpus": os.cpu_count()}
    with open(a.out + ".json", "w") as f:
        json.dump({"meta": meta, "results": results}, f, indent=1)
    plot(results, a.out + ".png", f"{os.path.basename(a.model)} at {a.size}: change-based inference vs threshold scale")
    print(f"wrote {a.out}.json and {a.out}.png", file=sys.stderr)


if __name__ == "__main__":
    main()
