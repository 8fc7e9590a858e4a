#!/usr/bin/python3
"""The BlockCopy bar (issue 17) in one JSON line per model: block-mode speed
against our dense engine and the best of ONNX Runtime / OpenVINO, next to
block-mode accuracy against dense on the same frames.

For each model (SSDLite pedestrian detector and selfie segmenter, free size,
768x576, vtest.avi), at the given change-gate threshold:
  speed     tests/bench/bench --modes dense,block --reference onnxruntime,openvino
            over clip frames START..START+FRAMES-1 after WARMUP frames on the
            same stream (median ms, same run; cpu_* ratios are CPU times);
  accuracy  `sparseinfer stream` from START-WARMUP, evaluated on START..END:
            SSD: AP50 of block detections with the dense detections as ground
            truth (blockcopy_curves.ap50); selfie: mean person-mask IoU
            against dense (stream --compare-dense mask_iou).
The line says whether each part of the bar is met (4x dense, 3x best peer,
accuracy >= 0.95).

  tests/bench/block_bar.py --build build --start 50 --warmup 50 --frames 250
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from blockcopy_curves import MODELS, SIZE, VIDEO, ap50, run_stream  # noqa: E402

# Change-gate thresholds on each model's own input scale (the model
# description: the SSD takes x/127.5 - 1, the selfie model x/255), tuned on
# vtest frames 0-299 (docs/block-mode.md).
DEFAULT_THRESHOLDS = {"ssd": 0.2, "selfie": 0.05}


def bench_rows(args, model, threshold, log_dir):
    cmd = [os.path.join(HERE, "bench"), "--model", MODELS[model], "--video", VIDEO, "--size", SIZE, "--start",
           str(args.start), "--warmup", str(args.warmup), "--frames", str(args.frames), "--threads",
           str(args.threads), "--modes", "dense,block", "--block-size", str(args.block_size), "--block-threshold",
           str(threshold), "--reference", args.reference, "--rounds", str(args.rounds), "--build", args.build]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with open(os.path.join(log_dir, f"{model}_bench.jsonl"), "w") as log:
        log.write(r.stdout)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()[-800:]}")
    return [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]


def accuracy(args, model, threshold, log_dir):
    cli = os.path.join(args.build, "core", "cli", "sparseinfer")
    first, last = args.start - args.warmup, args.start + args.frames - 1
    block = ["--mode", "block", "--gate", "change", "--block-size", str(args.block_size), "--block-threshold",
             str(threshold)]
    out = {"accuracy_frames": f"{args.start}-{last}"}
    if model == "ssd":
        dense = run_stream(cli, MODELS[model], ["--mode", "dense", "--decode"], first, last, args.threads,
                           os.path.join(log_dir, "ssd_dense.log"))
        ours = run_stream(cli, MODELS[model], block + ["--decode"], first, last, args.threads,
                          os.path.join(log_dir, f"ssd_block_{threshold}.log"))
        truth = {f["frame"]: f["detections"] for f in dense if f["frame"] >= args.start}
        pred = {f["frame"]: f["detections"] for f in ours if f["frame"] >= args.start}
        out["ap50"] = round(ap50(pred, truth), 4)
        out["accuracy_met"] = out["ap50"] >= 0.95
    else:
        ours = run_stream(cli, MODELS[model], block + ["--compare-dense"], first, last, args.threads,
                          os.path.join(log_dir, f"selfie_block_{threshold}.log"))
        ious = [f["mask_iou"] for f in ours if f["frame"] >= args.start]
        out["mask_iou"] = round(sum(ious) / len(ious), 4)
        out["accuracy_met"] = out["mask_iou"] >= 0.95
    evaluated = [f for f in ours if f["frame"] >= args.start]
    out["accuracy_executed_fraction"] = round(sum(f.get("executed_fraction", 1.0) for f in evaluated) / len(evaluated), 4)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--start", type=int, default=50)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--frames", type=int, default=250)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--block-size", type=int, default=32)
    p.add_argument("--reference", default="onnxruntime,openvino", help="bench references, or none")
    p.add_argument("--models", default="ssd,selfie")
    p.add_argument("--threshold-ssd", type=float, default=DEFAULT_THRESHOLDS["ssd"])
    p.add_argument("--threshold-selfie", type=float, default=DEFAULT_THRESHOLDS["selfie"])
    p.add_argument("--skip-speed", action="store_true")
    p.add_argument("--skip-accuracy", action="store_true")
    p.add_argument("--logs", default=None, help="folder for the stream logs (default: a temporary one)")
    args = p.parse_args()
    if args.warmup > args.start:
        p.error("--warmup cannot exceed --start")
    cli = os.path.join(args.build, "core", "cli", "sparseinfer")
    for path in [VIDEO, cli] + [MODELS[m] for m in args.models.split(",")]:
        if not os.path.isfile(path):
            print(f"block_bar: {path} not found", file=sys.stderr)
            return 1
    import tempfile

    log_dir = args.logs or tempfile.mkdtemp(prefix="block_bar_")
    os.makedirs(log_dir, exist_ok=True)
    for m in args.models.split(","):
        threshold = getattr(args, f"threshold_{m}")
        row = {"model": m, "size": SIZE, "block_size": args.block_size, "gate": "change", "threshold": threshold,
               "threads": args.threads, "start": args.start, "warmup": args.warmup, "frames": args.frames}
        if not args.skip_speed:
            rows = bench_rows(args, m, threshold, log_dir)
            dense = next(r for r in rows if r.get("mode") == "dense")
            block = next(r for r in rows if r.get("mode") == "block")
            row.update({"dense_ms": dense["ms_median"], "block_ms": block["ms_median"],
                        "dense_cpu_ms": dense.get("cpu_ms_median"), "block_cpu_ms": block.get("cpu_ms_median"),
                        "executed_fraction": block.get("executed_fraction"), "mac_fraction": block["mac_fraction"],
                        "stage_ms": block["stage_ms"], "speedup_vs_dense": round(dense["ms_median"] / block["ms_median"], 3)})
            if dense.get("cpu_ms_median") and block.get("cpu_ms_median"):
                row["cpu_speedup_vs_dense"] = round(dense["cpu_ms_median"] / block["cpu_ms_median"], 3)
            # The bench adds the peers' ratios to each of our rows (fastest peer: best_peer).
            if block.get("best_peer"):
                best = block["best_peer"]
                row.update({"best_peer": best, "best_peer_ms": block.get(f"{best}_ms_median"),
                            "speedup_vs_best_peer": block.get("speedup_vs_best_peer"),
                            "cpu_speedup_vs_best_peer": block.get(f"cpu_speedup_vs_{best}"),
                            "dense_speedup_vs_best_peer": dense.get("speedup_vs_best_peer")})
            row["speed_met"] = row["speedup_vs_dense"] >= 4.0 and (row.get("speedup_vs_best_peer") or 0.0) >= 3.0
        if not args.skip_accuracy:
            row.update(accuracy(args, m, threshold, log_dir))
        row["load_average"] = round(os.getloadavg()[0], 2)
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
