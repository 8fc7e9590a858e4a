#!/usr/bin/python3
"""N camera streams through cbinferconv in one process (issue 19).

`hold`: N branches of vtest.avi (filesrc ! decodebin per camera, as a real
box decodes each camera), each blocked once it has passed --frames frames, so
that another process can read this one's memory; prints READY and waits for
stdin to close. Used by test_shared_memory.py.

`bench`: N branches fed from frames decoded once (appsrc), so that decoding
does not dilute the comparison; prints one JSON object: aggregate frames per
second and each stream's latency through cbinferconv (p50, p95, from its sink
pad to its src pad, batching waits included). Used by
tests/bench/multi_stream_bench.py.
"""

import argparse
import json
import statistics
import sys
import threading
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstApp", "1.0")
from gi.repository import Gst, GstApp  # noqa: E402,F401

VTEST = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"


def infer_props(a, i):
    props = f"model={a.model} mode={a.mode} threads={a.threads} name=infer{i}"
    if a.thresholds:
        props += f" thresholds-file={a.thresholds}"
    if a.instance_id:
        props += f" model-instance-id={a.instance_id}"
    if a.batch_timeout:
        props += f" batch-timeout={a.batch_timeout}"
    return props


def caps(a):
    w, h = a.size.split("x")
    return f"video/x-raw,format=RGB,width={w},height={h}"


def run_pipeline(p, timeout):
    bus = p.get_bus()
    p.set_state(Gst.State.PLAYING)
    msg = bus.timed_pop_filtered(int(timeout * Gst.SECOND), Gst.MessageType.ERROR | Gst.MessageType.EOS)
    if msg is None:
        return "timeout"
    if msg.type == Gst.MessageType.ERROR:
        return msg.parse_error()[0].message
    return None


def hold(a):
    branches = []
    for i in range(a.streams):
        branches.append(
            f"filesrc location={a.video} ! decodebin ! videoconvert ! videoscale ! {caps(a)} ! "
            f"cbinferconv {infer_props(a, i)} ! fakesink name=sink{i} sync=false"
        )
    p = Gst.parse_launch(" ".join(branches))
    passed = [0] * a.streams
    lock = threading.Lock()
    ready = threading.Event()

    def probe(pad, info, i):
        with lock:
            passed[i] += 1
            if all(n >= a.frames for n in passed):
                ready.set()
        if passed[i] >= a.frames:
            # Blocks this streaming thread: memory stays as it is while it is measured.
            ready.wait()
            time.sleep(3600)
        return Gst.PadProbeReturn.OK

    for i in range(a.streams):
        p.get_by_name(f"sink{i}").get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, probe, i)
    bus = p.get_bus()
    p.set_state(Gst.State.PLAYING)
    deadline = time.monotonic() + a.timeout
    while not ready.is_set() and time.monotonic() < deadline:
        msg = bus.timed_pop_filtered(Gst.SECOND // 10, Gst.MessageType.ERROR | Gst.MessageType.EOS)
        if msg is not None:
            what = msg.parse_error()[0].message if msg.type == Gst.MessageType.ERROR else "EOS before the frames"
            print("ERROR " + what, flush=True)
            sys.exit(1)
    if not ready.is_set():
        print("ERROR timeout", flush=True)
        sys.exit(1)
    print("READY", flush=True)
    sys.stdin.read()
    import os

    os._exit(0)  # the streaming threads stay blocked; nothing to tear down


def decode_frames(a, count):
    p = Gst.parse_launch(
        f"filesrc location={a.video} ! decodebin ! videoconvert ! videoscale ! {caps(a)} ! "
        f"appsink name=out sync=false max-buffers=0 emit-signals=false"
    )
    sink = p.get_by_name("out")
    p.set_state(Gst.State.PLAYING)
    frames = []
    while len(frames) < count:
        sample = sink.try_pull_sample(10 * Gst.SECOND)
        if sample is None:
            break
        buf = sample.get_buffer()
        frames.append(buf.extract_dup(0, buf.get_size()))
    out_caps = sample.get_caps() if frames else None
    p.set_state(Gst.State.NULL)
    return frames, out_caps


def bench(a):
    # Tuning frames only (0-299): each stream starts at its own offset in them.
    frames, frame_caps = decode_frames(a, 300)
    if len(frames) < a.frames:
        print(json.dumps({"error": f"decoded {len(frames)} frames of {a.video}"}))
        sys.exit(1)
    branches = [
        f"appsrc name=src{i} format=time is-live=false block=true max-bytes=0 ! "
        f"cbinferconv {infer_props(a, i)} ! fakesink name=sink{i} sync=false"
        for i in range(a.streams)
    ]
    p = Gst.parse_launch(" ".join(branches))
    enter = [dict() for _ in range(a.streams)]
    latency = [[] for _ in range(a.streams)]

    def on_enter(pad, info, i):
        enter[i][info.get_buffer().pts] = time.perf_counter()
        return Gst.PadProbeReturn.OK

    def on_leave(pad, info, i):
        t = enter[i].pop(info.get_buffer().pts, None)
        if t is not None:
            latency[i].append((time.perf_counter() - t) * 1000.0)
        return Gst.PadProbeReturn.OK

    for i in range(a.streams):
        infer = p.get_by_name(f"infer{i}")
        infer.get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, on_enter, i)
        infer.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, on_leave, i)
        src = p.get_by_name(f"src{i}")
        src.set_property("caps", frame_caps)

    def feed(i):
        src = p.get_by_name(f"src{i}")
        offset = (i * 37) % max(1, len(frames) - a.frames)
        for k in range(a.frames):
            buf = Gst.Buffer.new_wrapped(frames[offset + k])
            buf.pts = k * Gst.SECOND // 10
            buf.duration = Gst.SECOND // 10
            if src.emit("push-buffer", buf) != Gst.FlowReturn.OK:
                return
        src.emit("end-of-stream")

    p.set_state(Gst.State.PAUSED)
    feeders = [threading.Thread(target=feed, args=(i,)) for i in range(a.streams)]
    t0 = time.perf_counter()
    for f in feeders:
        f.start()
    error = run_pipeline(p, a.timeout)
    wall = time.perf_counter() - t0
    for f in feeders:
        f.join(1)
    p.set_state(Gst.State.NULL)
    per_stream = []
    for lat in latency:
        q = statistics.quantiles(lat, n=20) if len(lat) >= 2 else [float("nan")] * 19
        per_stream.append({"frames": len(lat), "p50_ms": statistics.median(lat) if lat else None, "p95_ms": q[18]})
    total = sum(len(lat) for lat in latency)
    print(
        json.dumps(
            {
                "streams": a.streams,
                "mode": a.mode,
                "batched": bool(a.batch_timeout),
                "batch_timeout_ns": a.batch_timeout,
                "shared": bool(a.instance_id),
                "size": a.size,
                "model": a.model.split("/")[-1],
                "frames_per_stream": a.frames,
                "wall_s": wall,
                "aggregate_fps": total / wall,
                "p50_ms_median_over_streams": statistics.median(s["p50_ms"] for s in per_stream if s["p50_ms"]),
                "p95_ms_median_over_streams": statistics.median(s["p95_ms"] for s in per_stream if s["p50_ms"]),
                "per_stream": per_stream,
                "error": error,
            }
        ),
        flush=True,
    )
    sys.exit(1 if error else 0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["hold", "bench"])
    ap.add_argument("--streams", type=int, default=8)
    ap.add_argument("--frames", type=int, default=20)
    ap.add_argument("--model", required=True)
    ap.add_argument("--thresholds", default="")
    ap.add_argument("--mode", default="change", choices=["change", "dense"])
    ap.add_argument("--size", default="384x288")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--instance-id", default="")
    ap.add_argument("--batch-timeout", type=int, default=0, help="nanoseconds; 0: no batching")
    ap.add_argument("--video", default=VTEST)
    ap.add_argument("--timeout", type=float, default=600)
    a = ap.parse_args()
    Gst.init(None)
    hold(a) if a.command == "hold" else bench(a)


if __name__ == "__main__":
    main()
