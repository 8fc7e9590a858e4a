#!/usr/bin/python3
"""`sparseinfer info --profile`: time per layer type on real frames.

On the SSDLite MobileNetV2 pedestrian detector (300x300, two vtest.avi
frames): the layer types name every convolution by kernel and stride, their
MACs sum to the model's total from `info --json`, their layer counts to its
layer count, and their times fit inside the frame. Also checks the text
report and that the profile options are refused without --profile.

Usage: test_info_profile.py SPARSEINFER_CLI
"""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.path.join(ROOT, "examples", "models", "pretrained", "ssdlite_mbv2_pedestrian_300.onnx")
VIDEO = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"


def check(cond, message):
    if not cond:
        print("FAIL: " + message)
        sys.exit(1)


def run(cli, *args):
    r = subprocess.run([cli, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return r.returncode, r.stdout, r.stderr


def main():
    cli = sys.argv[1]
    check(os.path.isfile(MODEL), f"model {MODEL} is missing")
    check(os.path.isfile(VIDEO), f"video {VIDEO} is missing (Debian package opencv-doc)")
    rc, out, err = run(cli, "info", MODEL, "--size", "300x300", "--json")
    check(rc == 0, f"info --json failed: {err}")
    info = json.loads(out)
    rc, out, err = run(cli, "info", "--profile", MODEL, "--size", "300x300", "--video", VIDEO, "--frames", "2",
                       "--threads", "1", "--json")
    check(rc == 0, f"info --profile --json failed: {err}")
    prof = json.loads(out)
    print(json.dumps(prof))
    check(prof["threads"] == 1 and prof["frames"] == 2, "threads and frames must be as asked")
    types = {t["type"]: t for t in prof["types"]}
    for t in ("conv 3x3 s2", "conv 1x1", "depthwise 3x3", "depthwise 3x3 s2", "element-wise", "layout"):
        check(t in types, f"no '{t}' row in {sorted(types)}")
    check(sum(t["macs"] for t in prof["types"]) == info["total_macs"], "per-type MACs do not sum to the total")
    check(sum(t["layers"] for t in prof["types"]) == len(info["layers"]), "per-type layers do not sum to the count")
    check(all(t["ms"] >= 0 for t in prof["types"]), "negative time")
    check(0 < prof["layers_ms"] <= 1.5 * prof["ms_median"] + 1.0, "the layers' times do not fit in the frame")
    check(prof["type_ms"] == {t["type"]: round(t["ms"], 4) for t in prof["types"]}, "type_ms disagrees with types")

    rc, out, err = run(cli, "info", "--profile", MODEL, "--size", "300x300", "--frames", "1", "--threads", "1")
    check(rc == 0 and "depthwise 3x3" in out and "ms/frame" in out, f"text report: {out} {err}")
    rc, out, err = run(cli, "info", MODEL, "--size", "300x300", "--frames", "2")
    check(rc != 0 and "--profile" in err, f"--frames without --profile must be refused: {err}")
    print("info --profile: ok")


if __name__ == "__main__":
    main()
