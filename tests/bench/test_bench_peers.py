#!/usr/bin/python3
"""tests/bench/bench with ONNX Runtime and OpenVINO as references, end to end.

Runs the SSDLite MobileNetV2 pedestrian detector (300x300) for two vtest.avi
frames with --reference onnxruntime,openvino --profile --rounds 2 and checks that every
JSON field the benchmark promises is there, that the speedups are the ratios
of the medians, and that our dense outputs agree with both peers on the same
frames. Fails (never skips) when the model, the video, the runner or the peer
venv is missing.

Usage: test_bench_peers.py BUILD_DIR
"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MODEL = os.path.join(ROOT, "examples", "models", "pretrained", "ssdlite_mbv2_pedestrian_300.onnx")
VIDEO = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"
PEERS = ("onnxruntime", "openvino")
# Float32 engines summing in different orders: the largest difference over
# every box and score, relative to the output's largest magnitude.
REL_TOLERANCE = 1e-4


def check(cond, message):
    if not cond:
        print("FAIL: " + message)
        sys.exit(1)


def main():
    build = sys.argv[1]
    check(os.path.isfile(MODEL), f"model {MODEL} is missing")
    check(os.path.isfile(VIDEO), f"video {VIDEO} is missing (Debian package opencv-doc)")
    cmd = [os.path.join(HERE, "bench"), "--build", build, "--model", MODEL, "--video", VIDEO, "--frames", "2",
           "--size", "300x300", "--threads", "1", "--warmup", "1", "--reference", ",".join(PEERS), "--profile",
           "--rounds", "2"]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    print(r.stdout)
    print(r.stderr, file=sys.stderr)
    check(r.returncode == 0, f"bench exited with {r.returncode}")
    lines = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    dense = [l for l in lines if l.get("mode") == "dense"]
    refs = {l["reference"]: l for l in lines if l.get("mode") == "reference"}
    check(len(dense) == 1, "one dense row expected")
    check(set(refs) == set(PEERS), f"one line per peer expected, got {sorted(refs)}")
    d = dense[0]
    check(d["threads"] == 1 and d["frames"] == 2, "the dense row must say 1 thread and 2 frames")
    check(d["rounds"] == 2 and len(d["ms_rounds"]) == 2, "the dense row must merge 2 rounds")
    check(min(d["ms_rounds"]) <= d["ms_median"] <= max(d["ms_rounds"]), "ms_median is not the rounds' median")
    for name in PEERS:
        ref = refs[name]
        check("error" not in ref, f"{name} failed: {ref.get('error')}")
        check(ref["threads"] == 1 and ref["frames"] == 2, f"{name} must run the same 2 frames on 1 thread")
        check(ref["ms_median"] > 0, f"{name} has no time")
        check(ref["rounds"] == 2 and len(ref["ms_rounds"]) == 2, f"{name} must run in both rounds")
        check(ref["cpu_ms_median"] > 0 and d[f"cpu_speedup_vs_{name}"] > 0, f"{name}: no CPU times")
        want = round(ref["ms_median"] / d["ms_median"], 4)
        check(abs(d[f"speedup_vs_{name}"] - want) < 1e-3, f"speedup_vs_{name} {d[f'speedup_vs_{name}']} != {want}")
        rel = d.get(f"rel_diff_vs_{name}")
        check(rel is not None, f"no rel_diff_vs_{name}: {d.get(f'diff_vs_{name}_error')}")
        check(rel < REL_TOLERANCE, f"our outputs differ from {name}'s by {rel} (relative) > {REL_TOLERANCE}")
        check("conv 1x1" in ref.get("type_ms", {}), f"{name} profile has no 'conv 1x1' row: {ref.get('type_ms')}")
    best = min(PEERS, key=lambda n: refs[n]["ms_median"])
    check(d["best_peer"] == best, f"best_peer {d['best_peer']} != {best}")
    check(abs(d["speedup_vs_best_peer"] - round(refs[best]["ms_median"] / d["ms_median"], 4)) < 1e-3,
          "speedup_vs_best_peer is not the fastest peer's median over ours")
    types = d.get("type_ms", {})
    for t in ("conv 1x1", "depthwise 3x3", "depthwise 3x3 s2", "conv 3x3 s2"):
        check(t in types and types[t] > 0, f"our profile lacks '{t}': {types}")
    # The layers run inside the frame: their sum cannot exceed the frame's median by much.
    check(sum(types.values()) <= 1.5 * d["ms_median"] + 1.0, f"type_ms sums to more than the frame: {types}")
    print("bench peers: ok")


if __name__ == "__main__":
    main()
