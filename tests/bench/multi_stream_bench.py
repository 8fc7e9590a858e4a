#!/usr/bin/python3
"""Batching across streams (issue 19): N streams in one process, sharing one
engine, batched against the same N streams unbatched, in one run, for dense
and change mode. Each configuration runs in its own process
(tests/gst/multi_stream.py bench: frames of vtest.avi 0-299 decoded once,
fed by appsrc) and prints one JSON object; a last object gives the ratios.

  GST_PLUGIN_PATH=build/gst tests/bench/multi_stream_bench.py --streams 8 --frames 40
"""

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def run(a, mode, batched):
    cmd = [sys.executable, os.path.join(ROOT, "tests", "gst", "multi_stream.py"), "bench",
           "--streams", str(a.streams), "--frames", str(a.frames), "--model", a.model, "--size", a.size,
           "--mode", mode, "--instance-id", "bench", "--threads", str(a.threads)]
    if mode == "change" and a.thresholds:
        cmd += ["--thresholds", a.thresholds]
    if batched:
        cmd += ["--batch-timeout", str(a.batch_timeout)]
    out = subprocess.run(cmd, capture_output=True, text=True)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{out.stdout}\n{out.stderr}")
    result = json.loads(lines[-1])
    print(json.dumps(result), flush=True)
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--streams", type=int, default=8)
    ap.add_argument("--frames", type=int, default=40)
    ap.add_argument("--model", default=os.path.join(ROOT, "examples", "models", "cbinfer_personlabel.onnx"))
    ap.add_argument("--thresholds",
                    default=os.path.join(ROOT, "tests", "bench", "results", "cbinfer_personlabel.thresholds.json"))
    ap.add_argument("--size", default="384x288")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--batch-timeout", type=int, default=20_000_000, help="nanoseconds")
    ap.add_argument("--modes", default="dense,change")
    a = ap.parse_args()
    summary = {"streams": a.streams, "size": a.size, "model": os.path.basename(a.model)}
    for mode in a.modes.split(","):
        alone = run(a, mode, False)
        batched = run(a, mode, True)
        summary[mode] = {
            "unbatched_fps": round(alone["aggregate_fps"], 2),
            "batched_fps": round(batched["aggregate_fps"], 2),
            "fps_ratio": round(batched["aggregate_fps"] / alone["aggregate_fps"], 3),
            "unbatched_p50_p95_ms": [round(alone["p50_ms_median_over_streams"], 1),
                                     round(alone["p95_ms_median_over_streams"], 1)],
            "batched_p50_p95_ms": [round(batched["p50_ms_median_over_streams"], 1),
                                   round(batched["p95_ms_median_over_streams"], 1)],
        }
    print(json.dumps({"summary": summary}), flush=True)


if __name__ == "__main__":
    main()
