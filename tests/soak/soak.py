#!/usr/bin/python3
"""Soak and drift check of change mode (issue 14, point 6; CBinfer Fig. 15).

Runs `sparseinfer stream --compare-dense` for many frames of a moving test
pattern (`--video synthetic`: a still background with objects crossing it and
sensor noise, periodic) or of any clip OpenCV reads, samples the resident set
size of the process from /proc/<pid>/status (VmRSS) at every frame, and checks

  * memory: RSS after warm-up stays flat: every sample after warm-up within
    `--rss-tolerance` (5 %) of the sample at the end of warm-up;
  * drift: the mean error against the dense engine (mse) over the last 100
    frames is no higher than over frames 100-200 (within `--drift-slack`,
    relative, for the noise of the comparison itself).

Prints a JSON summary, writes it (and a PNG plot of RSS and error per frame)
into --out, and exits 1 when a check fails.

Usage (the full run committed under tests/soak/results/, about 40 minutes on 2 shared cores):

    tests/soak/soak.py --cli build/core/cli/sparseinfer \\
        --model examples/models/cbinfer_scenelabel.onnx --size 128x96 \\
        --frames 10000 --threshold 0.1 --out tests/soak/results

The meson test (suite 'soak') runs a short 300-frame version of the same into
the build directory.
"""
import argparse
import json
import os
import subprocess
import sys
import time


def read_rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def mean(values):
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else float("nan")


def run_stream(args):
    # One frame more than read: the last sample is taken while the program still
    # runs, not while it frees everything on its way out.
    cmd = [args.cli, "stream", args.model, "--video", args.video, "--size", args.size,
           "--frames", str(args.frames + 1), "--threshold", str(args.threshold),
           "--threads", str(args.threads), "--compare-dense"]
    frames = []
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, bufsize=1)
    for line in proc.stdout:
        line = line.strip()
        if not line.startswith("{"):
            continue
        r = json.loads(line)
        frames.append({
            "frame": r["frame"],
            "rss_kib": read_rss_kib(proc.pid),
            "state_bytes": r.get("state_bytes"),
            "ms": r.get("ms"),
            "mac_fraction": r.get("mac_fraction"),
            "mse": r.get("mse"),
            "agreement": r.get("agreement"),
            "dense_frame": r.get("dense_frame"),
        })
        if args.progress and len(frames) % args.progress == 0:
            print(f"frame {len(frames)} rss {frames[-1]['rss_kib']} KiB mse {frames[-1]['mse']}",
                  file=sys.stderr, flush=True)
        if len(frames) == args.frames:
            proc.kill()
            proc.wait()
            return cmd, 0, frames, time.monotonic() - start
    rc = proc.wait()
    return cmd, rc, frames, time.monotonic() - start


def summarize(args, cmd, frames, wall_s):
    n = len(frames)
    warm = min(args.warmup, n - 1)
    rss = [f["rss_kib"] for f in frames]
    rss_warm = rss[warm]
    after = [r for r in rss[warm:] if r is not None]
    rss_max_dev = max(abs(r - rss_warm) / rss_warm for r in after) if after and rss_warm else float("nan")
    early = frames[100:200]
    late = frames[-100:]
    mse_early = mean([f["mse"] for f in early])
    mse_late = mean([f["mse"] for f in late])
    agr_early = mean([f["agreement"] for f in early])
    agr_late = mean([f["agreement"] for f in late])
    trend = trend_fields(frames)
    rss_ok = rss_max_dev <= args.rss_tolerance
    drift_ok = mse_late <= mse_early * (1.0 + args.drift_slack)
    return {
        "command": " ".join(os.path.relpath(c) if os.path.exists(c) else c for c in cmd),
        "frames": n,
        "size": args.size,
        "threshold": args.threshold,
        "wall_s": round(wall_s, 1),
        "mean_ms_per_frame_change": round(mean([f["ms"] for f in frames[1:]]), 3),
        "mean_mac_fraction": round(mean([f["mac_fraction"] for f in frames[1:]]), 4),
        "warmup_frames": warm,
        "rss_kib_at_warmup": rss_warm,
        "rss_kib_end": rss[-1],
        "rss_kib_min_after_warmup": min(after) if after else None,
        "rss_kib_max_after_warmup": max(after) if after else None,
        "rss_max_deviation": round(rss_max_dev, 5),
        "rss_tolerance": args.rss_tolerance,
        "state_bytes_at_warmup": frames[warm]["state_bytes"],
        "state_bytes_end": frames[-1]["state_bytes"],
        "mse_frames_100_200": mse_early,
        "mse_last_100": mse_late,
        "agreement_frames_100_200": agr_early,
        "agreement_last_100": agr_late,
        **trend,
        "drift_slack": args.drift_slack,
        "rss_flat": rss_ok,
        "no_drift": drift_ok,
        "passed": bool(rss_ok and drift_ok),
    }


def trend_fields(frames):
    """Drift seen over the whole run, less noisy than two 100-frame windows:
    the mean mse of every 1000 frames and the least-squares trend of the mse
    over the run, relative to its mean."""
    mse = [f["mse"] for f in frames]
    n = len(mse)
    xm, ym = (n - 1) / 2, mean(mse)
    slope = sum((i - xm) * (y - ym) for i, y in enumerate(mse)) / sum((i - xm) ** 2 for i in range(n))
    return {
        "mse_per_1000_frames": [mean(mse[i:i + 1000]) for i in range(0, n, 1000)],
        "mse_trend_over_run_relative": round(slope * n / ym, 5) if ym else None,
    }


def plot(frames, summary, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = [f["frame"] for f in frames]
    fig, (a, b) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    a.plot(x, [f["rss_kib"] / 1024 for f in frames], lw=0.8, label="RSS (VmRSS)")
    w = summary["warmup_frames"]
    a.axvline(w, color="grey", ls=":", lw=0.8, label=f"end of warm-up ({w})")
    ref = summary["rss_kib_at_warmup"] / 1024
    tol = summary["rss_tolerance"]
    a.axhspan(ref * (1 - tol), ref * (1 + tol), color="green", alpha=0.1, label=f"±{tol:.0%} of warm-up RSS")
    a.set_ylabel("MiB")
    a.legend(loc="lower right", fontsize=8)
    a.set_title(f"change mode soak: {summary['frames']} frames at {summary['size']}, threshold {summary['threshold']}")
    # Frame 0 is computed densely (mse 0): left out of the linear scale.
    b.plot(x[1:], [f["mse"] for f in frames[1:]], lw=0.3, color="tab:red", label="mse vs dense, per frame")
    blocks = summary.get("mse_per_1000_frames") or []
    for i, v in enumerate(blocks):
        b.hlines(v, i * 1000, min((i + 1) * 1000, len(frames)) - 1, color="tab:green", lw=1.5,
                 label="mean per 1000 frames" if i == 0 else None)
    b.axhline(summary["mse_frames_100_200"], color="black", ls="--", lw=0.8, label="mean over frames 100-200")
    b.axhline(summary["mse_last_100"], color="tab:blue", ls=":", lw=1.0, label="mean over the last 100")
    b.set_xlabel("frame")
    b.set_ylabel("mse vs dense")
    b.set_ylim(bottom=0)
    b.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cli", default="build/core/cli/sparseinfer", help="the sparseinfer program")
    p.add_argument("--model", default="examples/models/cbinfer_scenelabel.onnx")
    p.add_argument("--video", default="synthetic", help="a clip, or 'synthetic' (default)")
    p.add_argument("--size", default="128x96", help="network input WxH (default 128x96)")
    p.add_argument("--frames", type=int, default=10000)
    p.add_argument("--threshold", type=float, default=0.1, help="change threshold of every layer (default 0.1)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--warmup", type=int, default=200, help="frames before RSS must be flat (default 200)")
    p.add_argument("--rss-tolerance", type=float, default=0.05)
    p.add_argument("--drift-slack", type=float, default=0.0)
    p.add_argument("--out", required=True, help="folder for soak.json, soak_frames.json and soak.png")
    p.add_argument("--progress", type=int, default=0, help="print a line every N frames to stderr")
    p.add_argument("--replot", action="store_true",
                   help="only recompute the trend fields and redraw soak.png from the files in --out")
    args = p.parse_args()
    if args.replot:
        with open(os.path.join(args.out, "soak.json")) as f:
            summary = json.load(f)
        with open(os.path.join(args.out, "soak_frames.json")) as f:
            table = json.load(f)
        frames = [dict(zip(table["columns"], row)) for row in table["rows"]]
        summary.update(trend_fields(frames))
        with open(os.path.join(args.out, "soak.json"), "w") as f:
            json.dump(summary, f, indent=2)
            f.write("\n")
        plot(frames, summary, os.path.join(args.out, "soak.png"))
        return 0
    if args.frames < 300:
        p.error("--frames must be at least 300 (frames 100-200 and the last 100 are compared)")

    cmd, rc, frames, wall_s = run_stream(args)
    if rc != 0 or len(frames) < args.frames:
        print(json.dumps({"error": f"sparseinfer stream exited {rc} after {len(frames)} frames"}))
        return 1
    summary = summarize(args, cmd, frames, wall_s)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "soak.json"), "w") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")
    with open(os.path.join(args.out, "soak_frames.json"), "w") as f:
        json.dump({"columns": ["frame", "rss_kib", "state_bytes", "ms", "mac_fraction", "mse", "agreement"],
                   "rows": [[fr["frame"], fr["rss_kib"], fr["state_bytes"], fr["ms"], fr["mac_fraction"], fr["mse"],
                             fr["agreement"]] for fr in frames]}, f, separators=(",", ":"))
    plot(frames, summary, os.path.join(args.out, "soak.png"))
    print(json.dumps(summary, indent=2))
    return 0 if summary["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
