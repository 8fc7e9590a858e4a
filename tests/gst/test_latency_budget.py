#!/usr/bin/python3
"""latency-budget on cbinferconv and blockcopypolicy in real pipelines through
python3-gi (issue 18). With a budget far below what a frame takes, the
thresholds rise frame after frame (threshold-scale in cbinferconv's stats,
threshold in blockcopypolicy's); set to 0 while playing, the thresholds go
back to the properties' values on the next frame; settings the budget cannot
act on (dense mode, a batch, the policy gate) are refused by property name."""

import argparse
import os
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

VTEST = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"
failures = []


def check(name, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + name + (": " + detail if detail else ""))
    if not ok:
        failures.append(name)


def run(desc, stats_name, fields, on_output=None, warnings=None, timeout_s=300):
    """Plays `desc` to EOS or an error; returns the stats messages' `fields` per frame and the error.
    on_output(pipeline, n) runs in the streaming thread as the element pushes its n-th buffer, so
    what it changes holds from the next frame on however late the bus is read."""
    p = Gst.parse_launch(desc)
    if on_output:
        pushed = [0]

        def probe(pad, info):
            pushed[0] += 1
            on_output(p, pushed[0])
            return Gst.PadProbeReturn.OK

        p.get_by_name("infer").get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, probe)
    bus = p.get_bus()
    p.set_state(Gst.State.PLAYING)
    frames, error = [], None
    while True:
        msg = bus.timed_pop(timeout_s * Gst.SECOND)
        if msg is None:
            error = "timeout"
            break
        if msg.type == Gst.MessageType.ELEMENT and msg.get_structure().get_name() == stats_name:
            s = msg.get_structure()
            frames.append({k: s.get_value(k) for k in fields if s.has_field(k)})
        elif msg.type == Gst.MessageType.ERROR:
            error = msg.parse_error()[0].message
            break
        elif msg.type == Gst.MessageType.WARNING and warnings is not None:
            warnings.append(msg.parse_warning()[0].message)
        elif msg.type == Gst.MessageType.EOS:
            break
    p.set_state(Gst.State.NULL)
    return frames, error


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", required=True)
    ap.add_argument("--thresholds", required=True)
    a = ap.parse_args()
    person = os.path.join(a.models, "cbinfer_personlabel.onnx")
    for f in (person, a.thresholds, VTEST):
        if not os.path.exists(f):
            sys.exit(f"missing input {f}")
    Gst.init(None)
    # vtest.avi's frames 0-11 at 192x144: people walk through all of them. The stream ends one frame
    # later and only the first 12 count: the frame just before `identity eos-after` ends a stream does
    # not always arrive (1 run in 40 lost it, measured with fakesink).
    src = (f"filesrc location={VTEST} ! decodebin ! videoconvert ! videoscale ! "
           "video/x-raw,format=RGB,width=192,height=144 ! identity eos-after=13")
    conv = f"cbinferconv name=infer model={person} thresholds-file={a.thresholds} emit-stats=true threads=1"
    fields = ("dense-frame", "process-ms", "threshold-scale", "mac-fraction")

    # A budget of 0.01 ms: no frame fits, so every change frame raises the factor.
    frames, error = run(f"{src} ! {conv} latency-budget=0.01 ! fakesink", "sparseinfer-frame-stats", fields)
    frames = frames[:12]
    scales = [f.get("threshold-scale") for f in frames if not f["dense-frame"]]
    check("cbinferconv: runs to EOS with a budget", error is None and len(frames) == 12, f"error={error}")
    check("cbinferconv: the first change frame runs at threshold-scale 1", bool(scales) and scales[0] == 1.0,
          str(scales))
    check("cbinferconv: the thresholds rise while frames miss the budget",
          len(scales) == 11 and all(b >= a for a, b in zip(scales, scales[1:])) and scales[1] > 1 and scales[-1] > 10,
          str(scales))

    # Turned off while playing (as the 6th frame leaves the element): back to threshold-scale (2 here) from
    # the next frame on.
    def switch_off(p, n):
        if n == 6:
            p.get_by_name("infer").set_property("latency-budget", 0.0)

    frames, error = run(f"{src} ! {conv} threshold-scale=2 latency-budget=0.01 ! fakesink",
                        "sparseinfer-frame-stats", fields, on_output=switch_off)
    frames = frames[:12]
    scales = [f.get("threshold-scale") for f in frames]
    check("cbinferconv: latency-budget=0 while playing restores threshold-scale",
          error is None and len(scales) == 12 and scales[5] > 2 and all(s == 2.0 for s in scales[6:]), str(scales))

    # Both controllers move the thresholds and would fight: refused at start, ignored while playing.
    frames, error = run(f"{src} ! {conv} latency-budget=20 target-sparsity=0.8 ! fakesink",
                        "sparseinfer-frame-stats", fields)
    check("cbinferconv: latency-budget with target-sparsity is refused at start by property name",
          error is not None and "latency-budget" in error and "target-sparsity" in error, str(error))
    warnings, kept = [], []

    def add_target(p, n):
        if n == 3:
            infer = p.get_by_name("infer")
            infer.set_property("target-sparsity", 0.8)
            kept.append(infer.get_property("target-sparsity"))

    frames, error = run(f"{src} ! {conv} latency-budget=0.01 ! fakesink", "sparseinfer-frame-stats",
                        fields + ("gated-sparsity",), on_output=add_target, warnings=warnings)
    check("cbinferconv: target-sparsity set while a budget runs is ignored with a warning naming it",
          error is None and kept == [0.0] and any("target-sparsity" in w for w in warnings) and
          not any("gated-sparsity" in f for f in frames), f"error={error} kept={kept} warnings={warnings}")

    frames, error = run(f"{src} ! {conv} mode=dense latency-budget=20 ! fakesink", "sparseinfer-frame-stats", fields)
    check("cbinferconv: a budget in dense mode is refused by property name",
          error is not None and "latency-budget" in error, str(error))
    frames, error = run(f"{src} ! {conv} model-instance-id=budget-test batch-timeout=1000 latency-budget=20 ! fakesink",
                        "sparseinfer-frame-stats", fields)
    check("cbinferconv: a budget with batch-timeout is refused by property name",
          error is not None and "latency-budget" in error, str(error))

    block = (f"blockcopypolicy name=infer model={person} block-size=32 threshold=0.05 threads=1 emit-stats=true "
             "latency-budget=0.01")
    frames, error = run(f"{src} ! {block} ! fakesink", "sparseinfer-block-stats",
                        ("dense-frame", "threshold", "executed-fraction"))
    frames = frames[:12]
    thresholds = [f.get("threshold") for f in frames if not f["dense-frame"]]
    check("blockcopypolicy: runs to EOS with a budget", error is None and len(frames) == 12, f"error={error}")
    check("blockcopypolicy: the threshold rises from the property's while frames miss the budget",
          len(thresholds) == 11 and abs(thresholds[0] - 0.05) < 1e-6 and thresholds[-1] > 0.5, str(thresholds))
    frames, error = run(f"{src} ! {block} gate=policy ! fakesink", "sparseinfer-block-stats", ("dense-frame",))
    check("blockcopypolicy: a budget with gate=policy is refused by property name",
          error is not None and "latency-budget" in error, str(error))

    print(f"{len(failures)} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
