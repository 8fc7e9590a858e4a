#!/usr/bin/python3
"""Soak and drift check of change mode through the element (issue 14, point 6; CBinfer Fig. 15).

Runs tests/soak/soak_pipeline: the first --period (100) frames of a real clip
(vtest.avi), decoded once and scaled to --size, looped through
appsrc ! cbinferconv mode=change ! appsink for --frames frames, every output
compared with the element's own dense result for the same input frame (computed
once per input frame: the input repeats, so does the dense output). The
process's resident set size (VmRSS) is sampled at every frame. Checks

  * memory: every RSS sample after warm-up (--warmup frames) is within
    --rss-tolerance (5 %) of the sample at the end of warm-up;
  * drift, the issue's literal criterion: the mean error against dense (mse of
    the output tensor) over the last 100 frames is no higher than over frames
    100-199. The period divides 100 and the frame count, so both windows see
    the same 100 input frames in the same order: like is compared with like;
  * change mode throughout: only frame 0 is computed densely, every frame is
    inferred (a reset or refresh would hide drift).

Prints a JSON summary, writes it (soak.json), the per-frame table
(soak_frames.json) and a plot (soak.png) into --out, and exits 1 when a check
fails.

The full run committed under tests/soak/results/ (about 10 minutes on 2 shared cores):

    GST_PLUGIN_PATH=build/gst tests/soak/soak.py --driver build/tests/soak/soak_pipeline \\
        --model examples/models/cbinfer_personlabel.onnx \\
        --thresholds-file tests/bench/results/cbinfer_personlabel.thresholds.json \\
        --size 192x144 --frames 10000 --out tests/soak/results

The meson test soak_short (suite 'soak') runs 300 frames of the same into the
build folder.
"""
import argparse
import json
import os
import subprocess
import sys
import time

VTEST = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"
COLUMNS = ["frame", "input", "rss_kib", "dense_frame", "inferred", "mac_fraction", "changed_fraction", "ms",
           "state_bytes", "mse", "max_abs", "agreement"]


def mean(values):
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else float("nan")


def run_driver(args):
    cmd = [args.driver, "--clip", args.clip, "--model", args.model, "--size", args.size, "--period",
           str(args.period), "--frames", str(args.frames), "--threads", str(args.threads)]
    if args.thresholds_file:
        cmd += ["--thresholds-file", args.thresholds_file]
    if args.threshold is not None:
        cmd += ["--threshold", str(args.threshold)]
    frames = []
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, bufsize=1)
    for line in proc.stdout:
        if not line.startswith("{"):
            continue
        r = json.loads(line)
        frames.append({c: r.get(c) for c in COLUMNS})
        if args.progress and len(frames) % args.progress == 0:
            f = frames[-1]
            print(f"frame {f['frame']} rss {f['rss_kib']} KiB mse {f['mse']:.6g}", file=sys.stderr, flush=True)
    rc = proc.wait()
    return cmd, rc, frames, time.monotonic() - start


def shown(arg):
    """A path inside the working folder relative to it, anything else as given."""
    if not os.path.exists(arg):
        return arg
    rel = os.path.relpath(arg)
    return arg if rel.startswith("..") else rel


def limit_cycle(mse, period, start):
    """The smallest multiple of the input period after which the per-frame error
    repeats exactly (bit for bit as printed) from frame `start` to the end, or
    None: a closed loop fed a periodic input that has settled into a cycle
    cannot drift."""
    n = len(mse)
    for m in range(period, (n - start) // 2 + 1, period):
        if all(mse[t] == mse[t + m] for t in range(start, n - m)):
            return m
    return None


def summarize(args, cmd, frames, wall_s):
    n = len(frames)
    warm = min(args.warmup, n - 1)
    rss = [f["rss_kib"] for f in frames]
    rss_warm = rss[warm]
    after = rss[warm:]
    rss_max_dev = max(abs(r - rss_warm) / rss_warm for r in after)
    early, late = frames[100:200], frames[-100:]
    same_inputs = [f["input"] for f in early] == [f["input"] for f in late]
    mse_early = mean([f["mse"] for f in early])
    mse_late = mean([f["mse"] for f in late])
    dense_frames = [f["frame"] for f in frames if f["dense_frame"]]
    not_inferred = [f["frame"] for f in frames if not f["inferred"]]
    mse = [f["mse"] for f in frames]
    per_period = [mean(mse[i:i + args.period]) for i in range(0, n, args.period)]
    cycle_start = n // 2
    rss_ok = rss_max_dev <= args.rss_tolerance
    drift_ok = same_inputs and mse_late <= mse_early
    change_ok = dense_frames == [0] and not not_inferred
    max_mse = max(mse)
    bound_ok = args.max_mse is None or max_mse <= args.max_mse
    return {
        "command": " ".join(shown(c) for c in cmd),
        "element": "appsrc ! cbinferconv mode=change ! appsink (dense reference: the same element, mode=dense)",
        "clip": args.clip,
        "period": args.period,
        "frames": n,
        "size": args.size,
        "thresholds_file": args.thresholds_file,
        "threshold": args.threshold,
        "wall_s": round(wall_s, 1),
        "mean_ms_per_frame_change": round(mean([f["ms"] for f in frames[1:]]), 3),
        "mean_mac_fraction": round(mean([f["mac_fraction"] for f in frames[1:]]), 4),
        "dense_frames": dense_frames,
        "frames_not_inferred": len(not_inferred),
        "warmup_frames": warm,
        "rss_kib_at_warmup": rss_warm,
        "rss_kib_end": rss[-1],
        "rss_kib_min_after_warmup": min(after),
        "rss_kib_max_after_warmup": max(after),
        "rss_max_deviation": round(rss_max_dev, 5),
        "rss_tolerance": args.rss_tolerance,
        "state_bytes_at_warmup": frames[warm]["state_bytes"],
        "state_bytes_end": frames[-1]["state_bytes"],
        "windows_see_same_inputs": same_inputs,
        "mse_frames_100_199": mse_early,
        "mse_last_100": mse_late,
        "mse_first_100": per_period[0] if args.period == 100 else mean(mse[:100]),
        "agreement_frames_100_199": mean([f["agreement"] for f in early]),
        "agreement_last_100": mean([f["agreement"] for f in late]),
        "mse_per_period": per_period,
        "mse_repeats_every_frames_in_second_half": limit_cycle(mse, args.period, cycle_start),
        "max_mse": max_mse,
        "max_mse_allowed": args.max_mse,
        "max_abs": max(f["max_abs"] for f in frames),
        "rss_flat": rss_ok,
        "no_drift": drift_ok,
        "change_mode_throughout": change_ok,
        "within_max_mse": bound_ok,
        "passed": bool(rss_ok and drift_ok and change_ok and bound_ok),
    }


def plot(frames, summary, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = [f["frame"] for f in frames]
    fig, (a, b, c) = plt.subplots(3, 1, figsize=(10, 8.5), sharex=True, gridspec_kw={"height_ratios": [1, 1.3, 1]})
    a.plot(x, [f["rss_kib"] / 1024 for f in frames], lw=0.8, label="RSS (VmRSS) of the pipeline process")
    w = summary["warmup_frames"]
    a.axvline(w, color="grey", ls=":", lw=0.8, label=f"end of warm-up ({w})")
    ref = summary["rss_kib_at_warmup"] / 1024
    tol = summary["rss_tolerance"]
    a.axhspan(ref * (1 - tol), ref * (1 + tol), color="green", alpha=0.1, label=f"±{tol:.0%} of warm-up RSS")
    a.set_ylabel("MiB")
    a.set_ylim(0, ref * 1.3)
    a.legend(loc="lower right", fontsize=8)
    a.set_title(f"cbinferconv change mode, {summary['frames']} frames at {summary['size']}: "
                f"vtest.avi frames 0-{summary['period'] - 1} looped")
    period = summary["period"]
    pp = summary["mse_per_period"]
    mid = [i * period + period / 2 for i in range(len(pp))]
    b.plot(x, [f["mse"] for f in frames], lw=0.3, color="tab:red", alpha=0.6, label="mse vs dense, per frame")
    b.plot(mid, pp, "-", lw=1.2, color="tab:green", label=f"mean per {period}-frame loop")
    b.set_ylabel("mse vs dense\n(output logits)")
    b.set_ylim(bottom=0)
    b.legend(loc="lower right", fontsize=8, ncol=2, framealpha=0.9)
    # The same per-loop means, zoomed: the windows the check compares.
    c.plot(mid, pp, ".-", lw=0.6, ms=3, color="tab:green", label=f"mean mse per {period}-frame loop")
    c.axhline(summary["mse_frames_100_199"], color="black", ls="--", lw=0.8,
              label=f"frames 100-199: {summary['mse_frames_100_199']:.6g}")
    c.axhline(summary["mse_last_100"], color="tab:blue", ls=":", lw=1.2,
              label=f"last 100 frames: {summary['mse_last_100']:.6g}")
    steady = pp[1:]
    span = max(max(steady) - min(steady), 1e-3 * max(steady), 1e-30)
    c.set_ylim(min(steady) - 0.5 * span, max(steady) + 0.5 * span)
    c.set_xlabel("frame")
    c.set_ylabel("mean mse per loop\n(first loop off scale)")
    c.legend(loc="lower right", fontsize=8, ncol=3, framealpha=0.9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def write_outputs(out, summary, frames):
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "soak.json"), "w") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")
    with open(os.path.join(out, "soak_frames.json"), "w") as f:
        json.dump({"columns": COLUMNS, "rows": [[fr[c] for c in COLUMNS] for fr in frames]}, f,
                  separators=(",", ":"))
    plot(frames, summary, os.path.join(out, "soak.png"))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--driver", default="build/tests/soak/soak_pipeline", help="the soak_pipeline program")
    p.add_argument("--clip", default=VTEST, help=f"a clip GStreamer decodes (default {VTEST})")
    p.add_argument("--model", default="examples/models/cbinfer_personlabel.onnx")
    p.add_argument("--thresholds-file", default="tests/bench/results/cbinfer_personlabel.thresholds.json",
                   help="per-layer thresholds (empty: the element's 'threshold')")
    p.add_argument("--threshold", type=float, default=None, help="the element's 'threshold' (default: its own)")
    p.add_argument("--size", default="192x144", help="frame and network input WxH (default 192x144)")
    p.add_argument("--period", type=int, default=100, help="clip frames looped; must divide 100 (default 100)")
    p.add_argument("--frames", type=int, default=10000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--warmup", type=int, default=200, help="frames before RSS must be flat (default 200)")
    p.add_argument("--rss-tolerance", type=float, default=0.05)
    p.add_argument("--max-mse", type=float, default=None,
                   help="also fail when any frame's mse exceeds this (threshold 0: dense within float tolerance)")
    p.add_argument("--out", required=True, help="folder for soak.json, soak_frames.json and soak.png")
    p.add_argument("--progress", type=int, default=0, help="print a line every N frames to stderr")
    p.add_argument("--replot", action="store_true", help="only recompute soak.json and redraw soak.png from soak_frames.json in --out")
    args = p.parse_args()
    if args.replot:
        # The summary is recomputed from the per-frame table with this script's
        # checks; the run's own settings come from the saved summary.
        with open(os.path.join(args.out, "soak.json")) as f:
            saved = json.load(f)
        with open(os.path.join(args.out, "soak_frames.json")) as f:
            table = json.load(f)
        frames = [dict(zip(table["columns"], row)) for row in table["rows"]]
        for key in ("clip", "period", "size", "thresholds_file", "threshold"):
            setattr(args, key, saved[key])
        args.warmup = saved["warmup_frames"]
        summary = summarize(args, [], frames, saved["wall_s"])
        summary["command"] = saved["command"]
        write_outputs(args.out, summary, frames)
        return 0 if summary["passed"] else 1
    if args.period <= 0 or 100 % args.period or args.frames % args.period:
        p.error("--period must divide 100 and --frames, so that frames 100-199 and the last 100 see the same inputs")
    if args.frames < 300:
        p.error("--frames must be at least 300 (frames 100-199 and the last 100 are compared)")
    for name in ("driver", "clip", "model", "thresholds_file"):
        path = getattr(args, name)
        if path and not os.path.isfile(path):
            p.error(f"--{name.replace('_', '-')}: no file {path}")

    cmd, rc, frames, wall_s = run_driver(args)
    if rc != 0 or len(frames) != args.frames:
        print(json.dumps({"error": f"soak_pipeline exited {rc} after {len(frames)} of {args.frames} frames"}))
        return 1
    summary = summarize(args, cmd, frames, wall_s)
    write_outputs(args.out, summary, frames)
    print(json.dumps({k: v for k, v in summary.items() if k != "mse_per_period"}, indent=2))
    return 0 if summary["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
