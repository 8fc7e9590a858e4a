#!/usr/bin/python3
"""Issue 19: 8 streams of vtest.avi at 384x288 in one process, sharing one
engine (model-instance-id), use at most half the memory of 8 separate
processes, in dense mode (the streams share weights and borrow activation
arenas, one per core). Change mode keeps each stream's state (CBinfer's
per-layer inputs and outputs, at full resolution in this network), which is
most of the memory: its figure is measured and must only be below the
separate processes'. Memory is the proportional set size (PSS, /proc/PID/smaps_rollup):
pages shared between the separate processes (libraries) count once in their
sum, so the comparison is fair to them. Also checks that a mismatching
member is refused with an error naming the property.
"""

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
VTEST = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"
failures = []


def check(name, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + name + (": " + detail if detail else ""), flush=True)
    if not ok:
        failures.append(name)


def pss_kib(pid):
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    raise RuntimeError(f"no Pss in /proc/{pid}/smaps_rollup")


def start_hold(a, streams, instance_id, mode):
    cmd = [sys.executable, os.path.join(HERE, "multi_stream.py"), "hold", "--streams", str(streams),
           "--frames", str(a.frames), "--model", a.model, "--thresholds", a.thresholds, "--size", a.size,
           "--mode", mode, "--timeout", "500"]
    if instance_id:
        cmd += ["--instance-id", instance_id]
    return subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def wait_ready(procs):
    for p in procs:
        line = p.stdout.readline().strip()
        if line != "READY":
            raise RuntimeError(f"process {p.pid}: {line or 'exited'}")


def finish(procs):
    for p in procs:
        p.stdin.close()
    for p in procs:
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def measure(a, processes, streams_each, instance_id, mode):
    procs = [start_hold(a, streams_each, instance_id, mode) for _ in range(processes)]
    try:
        wait_ready(procs)
        time.sleep(0.5)
        return sum(pss_kib(p.pid) for p in procs)
    finally:
        finish(procs)


def mismatch(a):
    import gi

    gi.require_version("Gst", "1.0")
    from gi.repository import Gst

    Gst.init(None)
    desc = (f"videotestsrc num-buffers=2 ! video/x-raw,format=RGB,width=64,height=32 ! "
            f"cbinferconv model={a.models}/segnet_small.onnx model-instance-id=m mode=change ! fakesink "
            f"videotestsrc num-buffers=2 ! video/x-raw,format=RGB,width=64,height=32 ! "
            f"cbinferconv model={a.models}/segnet_small.onnx model-instance-id=m mode=dense ! fakesink")
    p = Gst.parse_launch(desc)
    p.set_state(Gst.State.PLAYING)
    msg = p.get_bus().timed_pop_filtered(60 * Gst.SECOND, Gst.MessageType.ERROR | Gst.MessageType.EOS)
    p.set_state(Gst.State.NULL)
    text = msg.parse_error()[0].message if msg and msg.type == Gst.MessageType.ERROR else "no error"
    check("a member with another mode is refused, naming 'mode' and the instance",
          "'mode'" in text and "'m'" in text, text)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--models", required=True)
    ap.add_argument("--thresholds", required=True)
    ap.add_argument("--streams", type=int, default=8)
    ap.add_argument("--frames", type=int, default=10)
    ap.add_argument("--size", default="384x288")
    a = ap.parse_args()
    a.model = os.path.join(a.models, "cbinfer_personlabel.onnx")
    for path in (VTEST, a.model, a.thresholds):
        if not os.path.exists(path):
            check("input present", False, path + " is missing")
            return 1

    mismatch(a)
    for mode, bar in (("dense", 0.5), ("change", 1.0)):
        shared = measure(a, 1, a.streams, "cam", mode)
        separate = measure(a, a.streams, 1, "", mode)
        ratio = shared / separate
        print(json.dumps({"figure": "shared engine memory", "streams": a.streams, "size": a.size,
                          "model": os.path.basename(a.model), "mode": mode,
                          "one_process_shared_pss_mib": round(shared / 1024, 1),
                          "separate_processes_pss_mib": round(separate / 1024, 1), "ratio": round(ratio, 3)}),
              flush=True)
        check(f"{mode}: {a.streams} streams in one process with a shared engine use < {bar}x the memory of "
              f"{a.streams} processes", ratio <= bar, f"{shared / 1024:.1f} MiB vs {separate / 1024:.1f} MiB, "
              f"{ratio:.3f}x")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
