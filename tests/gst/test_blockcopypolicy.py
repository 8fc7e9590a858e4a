#!/usr/bin/python3
"""blockcopypolicy in real pipelines through python3-gi: the first frame of a
stream executes every block, a moving ball only the blocks it crosses, a still
picture none; the executed grid rides on the stream meta (grid size in the
stats); a missing model is refused by property name."""

import argparse
import os
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

failures = []


def check(name, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + name + (": " + detail if detail else ""))
    if not ok:
        failures.append(name)


def run(desc, timeout_s=300):
    p = Gst.parse_launch(desc)
    bus = p.get_bus()
    p.set_state(Gst.State.PLAYING)
    frames, error = [], None
    while True:
        msg = bus.timed_pop(timeout_s * Gst.SECOND)
        if msg is None:
            error = "timeout"
            break
        if msg.type == Gst.MessageType.ELEMENT and msg.get_structure().get_name() == "sparseinfer-block-stats":
            s = msg.get_structure()
            frames.append({k: s.get_value(k) for k in ("dense-frame", "executed-fraction", "grid-cols", "grid-rows",
                                                       "block-size", "mac-fraction")})
        elif msg.type == Gst.MessageType.ERROR:
            error = msg.parse_error()[0].message
            break
        elif msg.type == Gst.MessageType.EOS:
            break
    p.set_state(Gst.State.NULL)
    return frames, error


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", required=True)
    a = ap.parse_args()
    model = os.path.join(a.models, "cbinfer_personlabel.onnx")
    if not os.path.exists(model):
        sys.exit(f"missing model {model}")
    Gst.init(None)

    src = "videotestsrc num-buffers=8 pattern={} ! video/x-raw,format=RGB,width=128,height=96"
    infer = f"blockcopypolicy model={model} block-size=32 threshold=0.05 emit-stats=true"

    frames, error = run(f"{src.format('ball')} ! {infer} ! fakesink")
    check("ball: runs to EOS", error is None and len(frames) == 8, f"error={error} frames={len(frames)}")
    if frames:
        check("ball: first frame executes every block", frames[0]["dense-frame"] and frames[0]["executed-fraction"] == 1.0,
              str(frames[0]))
        check("ball: grid of 4x3 blocks of 32 px", (frames[0]["grid-cols"], frames[0]["grid-rows"],
                                                     frames[0]["block-size"]) == (4, 3, 32), str(frames[0]))
        later = [f["executed-fraction"] for f in frames[1:]]
        check("ball: later frames execute only the blocks the ball crosses",
              len(later) == 7 and all(0.0 < x < 1.0 for x in later) and not any(f["dense-frame"] for f in frames[1:]),
              str(later))
        check("ball: MACs follow the executed blocks",
              all(f["mac-fraction"] < 1.0 for f in frames[1:]), str([f["mac-fraction"] for f in frames[1:]]))

    frames, error = run(f"{src.format('white')} ! {infer} ! fakesink")
    check("still picture: no block after the first", error is None and len(frames) == 8 and
          all(f["executed-fraction"] == 0.0 for f in frames[1:]), f"error={error} {[f['executed-fraction'] for f in frames]}")

    frames, error = run(f"{src.format('ball')} ! blockcopypolicy model=/nonexistent/net.onnx ! fakesink")
    check("missing model: an error naming the property", error is not None and "model" in error, str(error))

    print(f"{len(failures)} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
