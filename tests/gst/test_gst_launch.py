#!/usr/bin/python3
"""gst-launch-1.0 as a user runs it, in subprocesses.

Good pipelines (videotestsrc, vtest.avi) exit 0 under the leaks tracer with no
object left alive; bad models make gst-launch exit non-zero (not by a signal)
with an error that names the file and the reason.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

VTEST = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"
failures = []


def launch(pipeline, leaks=False, timeout=120):
    env = dict(os.environ)
    if leaks:
        env["GST_TRACERS"] = "leaks"
        env["GST_DEBUG"] = "GST_TRACER:7"
        env["GST_DEBUG_NO_COLOR"] = "1"
    proc = subprocess.run(["gst-launch-1.0", "-q"] + pipeline.split(), env=env, capture_output=True, text=True,
                          timeout=timeout)
    return proc.returncode, proc.stdout + proc.stderr


def check(name, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + name)
    if not ok:
        failures.append(name)
        print(detail[-3000:])


def good(name, pipeline):
    rc, out = launch(pipeline, leaks=True)
    leaked = [line for line in out.splitlines() if "object-alive, type-name=(string)" in line and "%s" not in line]
    check(name + ": exits 0", rc == 0, out)
    check(name + ": leaks tracer active", "object-alive" in out, out)
    check(name + ": no leaks", not leaked and "Leaks detected" not in out, "\n".join(leaked[:20]) or out)


def bad(name, pipeline, *expected):
    rc, out = launch(pipeline)
    # A signal shows as a negative code (subprocess); gst-launch-1.0 exits 255 on errors.
    check(name + ": fails without a crash", rc > 0 and rc not in (128 + 6, 128 + 11), "rc=%d\n%s" % (rc, out))
    for text in expected:
        check(name + ": error mentions " + repr(text), text in out, out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", required=True)
    ap.add_argument("--fixtures", required=True)
    args = ap.parse_args()
    seg = os.path.join(args.models, "segnet_small.onnx")
    det = os.path.join(args.models, "detnet_small.onnx")

    good("videotestsrc", "videotestsrc num-buffers=8 pattern=ball ! video/x-raw,width=64,height=48 ! videoconvert ! "
         "cbinferconv model=%s emit-stats=true ! sparseinferoverlay change-mask=true ! fakesink" % seg)
    if os.path.exists(VTEST):
        good("vtest.avi", "filesrc location=%s ! decodebin ! videoconvert ! videoscale ! "
             "video/x-raw,format=RGB,width=128,height=96 ! identity eos-after=10 ! "
             "cbinferconv model=%s ! sparseinferoverlay ! videoconvert ! jpegenc ! avimux ! fakesink" % (VTEST, det))

    src = "videotestsrc num-buffers=2 ! video/x-raw,format=RGB,width=64,height=32 ! "
    bad("missing model", src + "cbinferconv model=/nonexistent/net.onnx ! fakesink", "/nonexistent/net.onnx",
        "does not exist")
    tmp = tempfile.mkdtemp()
    try:
        truncated = os.path.join(tmp, "truncated.onnx")
        with open(seg, "rb") as f, open(truncated, "wb") as g:
            g.write(f.read()[:50000])
        bad("truncated model", src + "cbinferconv model=%s ! fakesink" % truncated, truncated,
            "truncated or corrupted")
    finally:
        shutil.rmtree(tmp)
    unsupported = os.path.join(args.fixtures, "unsupported_op.onnx")
    bad("unsupported operator", src + "cbinferconv model=%s ! fakesink" % unsupported, unsupported,
        "unsupported operator 'Einsum'")
    bad("cuda backend", src + "cbinferconv model=%s backend=cuda ! fakesink" % seg, "cuda")
    bad("I420 refused", "videotestsrc num-buffers=2 ! video/x-raw,format=I420,width=64,height=32 ! "
        "cbinferconv model=%s ! fakesink" % seg, "can't handle caps")
    bad("NV12 refused", "videotestsrc num-buffers=2 ! video/x-raw,format=NV12,width=64,height=32 ! "
        "cbinferconv model=%s ! fakesink" % seg, "can't handle caps")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
