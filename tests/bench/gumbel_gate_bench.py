#!/usr/bin/python3
"""Skip-Conv Gumbel gates against the threshold gate at equal MAC fraction.

Runs the selfie segmenter (examples/models/pretrained, 256x256) over vtest
frames --start..--start+--count-1 in change mode with
  - the threshold gate (CBinfer eq. 3) at a sweep of thresholds, and
  - each given Gumbel gates file at a sweep of logit cuts (0 is the paper's),
and measures per configuration the mean MAC fraction (the first, dense frame
excluded) and the agreement with the dense engine on the same frames: the
person mask (probability > 0.5) pixel agreement (mean and worst frame) and
the IoU of the person masks and their mIoU with the background (over the
whole clip). The threshold gate's accuracy at a Gumbel point's MAC fraction
is interpolated along its sweep.

Writes OUT_DIR/gumbel_vs_threshold_<start>_<end>.json and .png.

Usage: gumbel_gate_bench.py --tool build/tests/reference/gumbel_gate_tool
           --models-dir examples/models [--gates F.json ...] [--start 0 --count 300]
           [--out-dir tests/bench/results/gumbel]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

VIDEO = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"
MODEL = "pretrained/mp_selfie_segmentation.onnx"
GATES = "pretrained/mp_selfie_segmentation.gumbel_gates.json"
THRESHOLDS = [0.0, 0.01, 0.03, 0.06, 0.12, 0.3, 0.6, 1.5]
GUMBEL_CUTS = [0.0, 1.0, 3.0]


def run_tool(tool, args):
    r = subprocess.run([tool] + args, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("gumbel_gate_bench: gumbel_gate_tool failed: %s" % r.stderr.strip())
    return [json.loads(line) for line in r.stdout.splitlines()[1:] if line.strip()]


def measure(stats, out, dense):
    n = out.shape[0] - 1
    ours, ref = out[1:].reshape(n, -1) > 0.5, dense[1:].reshape(n, -1) > 0.5
    agree = (ours == ref).mean(axis=1)
    inter_p, union_p = np.logical_and(ours, ref).sum(), np.logical_or(ours, ref).sum()
    inter_b, union_b = np.logical_and(~ours, ~ref).sum(), np.logical_or(~ours, ~ref).sum()
    iou_person = float(inter_p / max(union_p, 1))
    iou_background = float(inter_b / max(union_b, 1))
    return {
        "mac_fraction": float(np.mean([s["mac_fraction"] for s in stats[1:]])),
        "agreement_mean": float(agree.mean()),
        "agreement_min": float(agree.min()),
        "iou_person": iou_person,
        "miou": (iou_person + iou_background) / 2,
        "max_abs_diff": float(np.abs(out[1:] - dense[1:]).max()),
    }


def interpolate(curve, mac, key):
    """The threshold gate's `key` at MAC fraction `mac`, linear along the sweep."""
    pts = sorted((c["mac_fraction"], c[key]) for c in curve)
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    if mac < xs[0] or mac > xs[-1]:
        return None
    return float(np.interp(mac, xs, ys))


def plot(results, stem):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, key, label in ((axes[0], "iou_person", "person-mask IoU with dense"),
                           (axes[1], "agreement_mean", "pixel agreement with dense (mean)")):
        # A threshold above every input change freezes the network (MAC 0): noted, not drawn.
        th = sorted((c for c in results["threshold_gate"] if c["mac_fraction"] > 0.05), key=lambda c: c["mac_fraction"])
        ax.plot([c["mac_fraction"] for c in th], [c[key] for c in th], "o-", label="threshold gate (CBinfer eq. 3)")
        for g in sorted({c["gates"] for c in results["gumbel_gate"]}):
            pts = sorted((c for c in results["gumbel_gate"] if c["gates"] == g), key=lambda c: c["mac_fraction"])
            ax.plot([c["mac_fraction"] for c in pts], [c[key] for c in pts], "s--",
                    label="Gumbel gates (beta %s), logit cuts %s" % (pts[0]["beta"], "/".join(
                        str(c["logit_cut"]) for c in reversed(pts))))
        ax.set_xlabel("MAC fraction of dense (mean over frames)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    frozen = [c for c in results["threshold_gate"] if c["mac_fraction"] <= 0.05]
    if frozen:
        axes[0].text(0.98, 0.02, "threshold %s: MAC %.2f, IoU %.3f (frozen)" %
                     (frozen[0]["threshold"], frozen[0]["mac_fraction"], frozen[0]["iou_person"]),
                     transform=axes[0].transAxes, ha="right", fontsize=7)
    axes[0].legend(fontsize=7)
    fig.suptitle("Selfie segmenter 256x256, vtest frames %d-%d: Gumbel vs threshold gate" %
                 (results["frames"][0], results["frames"][1]))
    fig.tight_layout()
    fig.savefig(stem + ".png", dpi=110)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", required=True)
    ap.add_argument("--models-dir", required=True)
    ap.add_argument("--gates", nargs="*", help="Gumbel gates files (default: the committed one)")
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out-dir", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "gumbel"))
    ap.add_argument("--replot", help="only redraw the PNG of this results JSON")
    args = ap.parse_args()
    if args.replot:
        with open(args.replot) as f:
            plot(json.load(f), os.path.splitext(args.replot)[0])
        return
    model = os.path.join(args.models_dir, MODEL)
    gates_files = args.gates or [os.path.join(args.models_dir, GATES)]
    for path in [VIDEO, model, args.tool] + gates_files:
        if not os.path.exists(path):
            sys.exit("gumbel_gate_bench: missing %s" % path)
    if args.start + args.count > 400:
        sys.exit("gumbel_gate_bench: frames 400-699 are held out; stay below 400")
    common = ["--model", model, "--threads", str(args.threads)]
    results = {"model": MODEL, "video": VIDEO, "frames": [args.start, args.start + args.count - 1],
               "size": [256, 256], "threshold_gate": [], "gumbel_gate": []}
    with tempfile.TemporaryDirectory() as tmp:
        frames = os.path.join(tmp, "frames.npy")
        out_npy = os.path.join(tmp, "out.npy")
        run_tool(args.tool, common + ["--video", VIDEO, "--size", "256x256", "--start", str(args.start), "--count",
                                      str(args.count), "--frames-out", frames, "--mode", "dense", "--outputs-out",
                                      out_npy])
        dense = np.load(out_npy)
        common += ["--frames", frames, "--outputs-out", out_npy]
        for t in THRESHOLDS:
            stats = run_tool(args.tool, common + ["--threshold", str(t)])
            m = dict(threshold=t, **measure(stats, np.load(out_npy), dense))
            results["threshold_gate"].append(m)
            print(json.dumps(dict(gate="threshold", **m)))
            sys.stdout.flush()
        for g in gates_files:
            with open(g) as f:
                training = json.load(f).get("training", {})
            for cut in GUMBEL_CUTS:
                stats = run_tool(args.tool, common + ["--gates-file", g, "--threshold", str(cut)])
                m = dict(gates=os.path.basename(g), beta=training.get("beta"), logit_cut=cut,
                         **measure(stats, np.load(out_npy), dense))
                for key in ("iou_person", "agreement_mean", "miou"):
                    m["threshold_gate_" + key + "_at_equal_macs"] = interpolate(results["threshold_gate"],
                                                                               m["mac_fraction"], key)
                results["gumbel_gate"].append(m)
                print(json.dumps(dict(gate="gumbel", **m)))
                sys.stdout.flush()

    os.makedirs(args.out_dir, exist_ok=True)
    stem = os.path.join(args.out_dir, "gumbel_vs_threshold_%d_%d" % (args.start, args.start + args.count - 1))
    with open(stem + ".json", "w") as f:
        json.dump(results, f, indent=1)
        f.write("\n")

    plot(results, stem)
    print("wrote %s.json and .png" % stem)


if __name__ == "__main__":
    main()
