#!/usr/bin/python3
"""cbinferconv gates-file=F: the selfie segmenter's Skip-Conv Gumbel gates in a
real pipeline (vtest.avi through python3-gi).

The element with the gates plays to EOS and skips work after its dense first
frame (mean MAC fraction over 8 frames below 0.9); a gates file for another
model or a missing one fails with an error naming the file.
"""
import argparse
import os
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

VTEST = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"
failures = []


def check(name, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else ": " + detail))
    if not ok:
        failures.append(name)


def run(model, gates, frames=8):
    pipeline = Gst.parse_launch(
        "filesrc location=%s ! decodebin ! videoconvert ! identity eos-after=%d ! "
        "cbinferconv name=c model=%s gates-file=%s threshold=0 threads=1 ! fakesink" % (VTEST, frames, model, gates))
    pipeline.set_state(Gst.State.PLAYING)
    bus = pipeline.get_bus()
    msg = bus.timed_pop_filtered(300 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    error = None
    if msg is None:
        error = "timeout"
    elif msg.type == Gst.MessageType.ERROR:
        err, debug = msg.parse_error()
        error = "%s %s" % (err.message, debug)
    stats = pipeline.get_by_name("c").get_property("stats")
    pipeline.set_state(Gst.State.NULL)
    return error, stats


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", required=True)
    args = ap.parse_args()
    Gst.init(None)
    model = os.path.join(args.models, "pretrained", "mp_selfie_segmentation.onnx")
    gates = os.path.join(args.models, "pretrained", "mp_selfie_segmentation.gumbel_gates.json")
    for path in (VTEST, model, gates):
        if not os.path.exists(path):
            print("FAIL: missing input " + path)
            return 1
    error, stats = run(model, gates)
    check("plays to EOS with gates-file", error is None, str(error))
    if error is None:
        mac = stats.get_value("mean-mac-fraction")
        print("stats: %s" % stats.to_string())
        # 8 frames: one dense (1.0), seven gated; the gates skip a third or more.
        check("gated frames skip work", mac < 0.9, "mean-mac-fraction %.3f" % mac)
    error, _ = run(os.path.join(args.models, "cbinfer_personlabel.onnx"), gates)
    check("gates of another model refused by file name", error is not None and gates in error, str(error))
    missing = "/nonexistent/gates.json"
    error, _ = run(model, missing)
    check("missing gates file refused by name", error is not None and missing in error, str(error))
    print("PASS" if not failures else "FAILED (%d)" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
