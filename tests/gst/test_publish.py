#!/usr/bin/python3
"""sparseinferpublish (issue 19) against real destinations.

1. file: 4 streams, one JSON line per frame with the fields the issue lists.
2. MQTT: starts Debian's mosquitto on 127.0.0.1 on a free port (its own
   config in a temporary directory, no system service), runs 4 streams and
   counts every message with a paho-mqtt subscriber: nothing is lost while
   the broker is up.
3. The broker is stopped mid-stream and started again: the pipeline keeps
   running, publishing resumes, and for every stream the messages received
   plus the element's drop count equal the frames offered, exactly.
"""

import argparse
import getpass
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

import paho.mqtt.client as mqtt  # noqa: E402

STREAMS = 4
failures = []


def check(name, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + name + (": " + detail if detail else ""), flush=True)
    if not ok:
        failures.append(name)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    """mosquitto with persistence, so that a restart keeps the subscriber's session."""

    def __init__(self, workdir, port):
        self.port = port
        self.conf = os.path.join(workdir, "mosquitto.conf")
        os.makedirs(os.path.join(workdir, "db"), exist_ok=True)
        with open(self.conf, "w") as f:
            # user: mosquitto started as root otherwise drops to the user "mosquitto", who cannot write here.
            f.write(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\nuser {getpass.getuser()}\n"
                    f"persistence_location {workdir}/db/\nmax_queued_messages 0\n"
                    f"log_dest file {workdir}/mosquitto.log\n")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-c", self.conf])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start listening")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # saves the persistent sessions
            self.proc.wait(10)
        self.proc = None


class Counter:
    """Subscribes to test/# at QoS 1 with a persistent session; counts unique (topic, frame) pairs."""

    def __init__(self, port):
        self.seen = {}
        self.messages = 0
        self.bad = []
        self.lock = threading.Lock()
        self.client = mqtt.Client(client_id="sparseinfer-test-counter", clean_session=False)
        self.client.on_connect = lambda c, u, f, rc: c.subscribe("test/#", qos=1)
        self.client.on_message = self.on_message
        self.client.reconnect_delay_set(min_delay=1, max_delay=1)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def on_message(self, client, userdata, msg):
        with self.lock:
            self.messages += 1
            try:
                line = json.loads(msg.payload)
                self.seen.setdefault(msg.topic, set()).add(line["frame_index"])
            except (ValueError, KeyError) as e:
                self.bad.append(repr(e))

    def unique(self, topic):
        with self.lock:
            return len(self.seen.get(topic, ()))

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


def pipeline(models, frames, publish, live=False):
    branches = []
    for i in range(STREAMS):
        src = f"videotestsrc pattern=ball num-buffers={frames} is-live={'true' if live else 'false'}"
        branches.append(
            f"{src} ! video/x-raw,format=RGB,width=128,height=96,framerate=25/1 ! "
            f"cbinferconv model={models}/detnet_small.onnx model-instance-id=pub threads=1 score-threshold=0.3 ! "
            f"sparseinferpublish name=pub{i} {publish(i)} ! fakesink name=sink{i} sync=false")
    return Gst.parse_launch(" ".join(branches))


def run_to_eos(p, timeout=300, during=None):
    bus = p.get_bus()
    p.set_state(Gst.State.PLAYING)
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if during:
            during(time.monotonic() - start)
        msg = bus.timed_pop_filtered(Gst.SECOND // 20, Gst.MessageType.ERROR | Gst.MessageType.EOS)
        if msg is not None:
            return None if msg.type == Gst.MessageType.EOS else msg.parse_error()[0].message
    return "timeout"


def stats(p, i):
    s = p.get_by_name(f"pub{i}").get_property("stats")
    return {k: s.get_value(k) for k in ("offered", "published", "dropped", "queued", "connected", "connects")}


def wait_drained(p, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(stats(p, i)["queued"] == 0 for i in range(STREAMS)):
            return True
        time.sleep(0.1)
    return False


def test_file(models, workdir):
    frames = 12
    p = pipeline(models, frames, lambda i: f"location={workdir}/stream{i}.jsonl")
    error = run_to_eos(p)
    p.set_state(Gst.State.NULL)
    check("file: 4 streams run to EOS", error is None, error or "")
    ids = set()
    for i in range(STREAMS):
        with open(f"{workdir}/stream{i}.jsonl") as f:
            lines = [json.loads(line) for line in f]
        check(f"file: stream {i} has one line per frame", len(lines) == frames, f"{len(lines)} lines")
        keys = {"timestamp", "wallclock_us", "stream_id", "frame_index", "model", "detections", "segmentation",
                "stats"}
        check(f"file: stream {i} lines carry {sorted(keys)}", all(keys <= set(x) for x in lines))
        check(f"file: stream {i} frame indexes in order", [x["frame_index"] for x in lines] == list(range(frames)))
        check(f"file: stream {i} timestamps are the buffers'",
              [x["timestamp"] for x in lines] == [k * Gst.SECOND // 25 for k in range(frames)])
        check(f"file: stream {i} has the frame statistics",
              all(x["stats"]["inferred"] and x["stats"]["macs_dense"] > 0 for x in lines))
        dets = [d for x in lines for d in x["detections"]]
        check(f"file: stream {i} detections have label, box, score",
              all(set(d) >= {"label", "box", "score"} and len(d["box"]) == 4 for d in dets), f"{len(dets)} boxes")
        ids.add(lines[0]["stream_id"])
    check("file: each stream has its own stream id", len(ids) == STREAMS, str(ids))

    # A segmentation summary: shares of pixels per class that add up to 1.
    p = Gst.parse_launch(
        f"videotestsrc num-buffers=3 ! video/x-raw,format=RGB,width=64,height=32 ! "
        f"cbinferconv model={models}/segnet_small.onnx ! sparseinferpublish location={workdir}/seg.jsonl ! fakesink")
    error = run_to_eos(p)
    p.set_state(Gst.State.NULL)
    with open(f"{workdir}/seg.jsonl") as f:
        seg = [json.loads(line)["segmentation"] for line in f]
    check("file: segmentation summary per frame", error is None and len(seg) == 3 and all(
        s and abs(sum(c["fraction"] for c in s["classes"]) - 1.0) < 1e-6 for s in seg), str(seg[:1]))

    # An unwritable location is refused by property name.
    p = Gst.parse_launch(f"videotestsrc num-buffers=1 ! sparseinferpublish location={workdir}/no/such/dir/x ! fakesink")
    error = run_to_eos(p, timeout=30)
    p.set_state(Gst.State.NULL)
    check("file: an unwritable location is an error naming 'location'", error and "'location'" in error, error or "")


def test_mqtt(models, workdir):
    port = free_port()
    broker = Broker(workdir, port)
    broker.start()
    counter = Counter(port)
    try:
        time.sleep(0.5)
        # Broker up all the time: nothing may be lost.
        frames = 60
        p = pipeline(models, frames, lambda i: f"method=mqtt host=127.0.0.1 port={port} topic=test/up{i} qos=1")
        error = run_to_eos(p)
        drained = wait_drained(p)
        st = [stats(p, i) for i in range(STREAMS)]
        p.set_state(Gst.State.NULL)
        check("mqtt: 4 streams run to EOS", error is None, error or "")
        check("mqtt: every line acknowledged", drained and all(s["published"] == frames for s in st), str(st))
        check("mqtt: nothing dropped while the broker is up", all(s["dropped"] == 0 for s in st), str(st))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(counter.unique(f"test/up{i}") < frames for i in range(STREAMS)):
            time.sleep(0.1)
        got = [counter.unique(f"test/up{i}") for i in range(STREAMS)]
        check("mqtt: the subscriber received every frame of every stream", got == [frames] * STREAMS, str(got))
        check("mqtt: every message is a JSON line with a frame index", not counter.bad, str(counter.bad[:3]))

        # The broker goes away mid-stream and comes back.
        frames = 250  # 10 s at 25 fps, live
        p = pipeline(models, frames,
                     lambda i: f"method=mqtt host=127.0.0.1 port={port} topic=test/outage{i} qos=1 queue-size=40 "
                               f"reconnect-max-delay=2", live=True)
        passed = [0] * STREAMS
        for i in range(STREAMS):
            p.get_by_name(f"sink{i}").get_static_pad("sink").add_probe(
                Gst.PadProbeType.BUFFER, lambda pad, info, i=i: (passed.__setitem__(i, passed[i] + 1),
                                                                  Gst.PadProbeReturn.OK)[1])
        events = {}

        def during(t):
            if t > 3.0 and "stopped" not in events:
                broker.stop()
                events["stopped"] = (t, list(passed))
            elif t > 6.5 and "restarted" not in events:
                events["while_down"] = (t, list(passed), [stats(p, i)["connected"] for i in range(STREAMS)])
                broker.start()
                events["restarted"] = t

        error = run_to_eos(p, during=during)
        drained = wait_drained(p)
        st = [stats(p, i) for i in range(STREAMS)]
        p.set_state(Gst.State.NULL)
        check("outage: the pipeline ran to EOS without error", error is None, error or "")
        before, down = events.get("stopped"), events.get("while_down")
        check("outage: frames kept flowing while the broker was down",
              before and down and all(d > b + 25 for b, d in zip(before[1], down[1])), str(events))
        check("outage: the publishers saw the broker go", down and not any(down[2]), str(events))
        check("outage: publishing resumed (reconnected, queue drained)",
              drained and all(s["connects"] >= 2 for s in st), str(st))
        check("outage: lines were dropped when the queue overflowed", all(s["dropped"] > 0 for s in st), str(st))
        deadline = time.monotonic() + 30
        want = [s["offered"] - s["dropped"] for s in st]
        while time.monotonic() < deadline and [counter.unique(f"test/outage{i}") for i in range(STREAMS)] != want:
            time.sleep(0.1)
        got = [counter.unique(f"test/outage{i}") for i in range(STREAMS)]
        check("outage: every frame offered", all(s["offered"] == frames for s in st), str(st))
        check("outage: received + dropped == offered for every stream (the drop count is exact)", got == want,
              f"received {got}, offered - dropped {want}")
        print(json.dumps({"outage": {"received": got, "stats": st, "events": {k: v for k, v in events.items()}}}))
    finally:
        counter.close()
        broker.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--models", required=True)
    a = ap.parse_args()
    for path in (os.path.join(a.models, "detnet_small.onnx"), shutil.which("mosquitto") or "/usr/sbin/mosquitto"):
        if not os.path.exists(path):
            check("input present", False, path + " is missing")
            return 1
    Gst.init(None)
    with tempfile.TemporaryDirectory() as workdir:
        test_file(a.models, workdir)
        test_mqtt(a.models, workdir)
    print(f"{len(failures)} failed" if failures else "all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
