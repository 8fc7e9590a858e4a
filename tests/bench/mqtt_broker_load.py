#!/usr/bin/python3
"""How many messages per second one mosquitto takes from N publishers on this
machine (issue 19, "Scale beyond one box"). Starts Debian's mosquitto on a
free local port; N simulated edge boxes are N sparseinferpublish elements in
one process (fakesrc ! sparseinferpublish method=mqtt, one connection each),
every one offering M lines at once into a queue that holds them all; the
rate is N*M over the time until the broker acknowledged the last one (QoS 1)
or the last one was written (QoS 0). The lines are the element's own (about
250 bytes: no detections on these buffers). No subscriber is attached, so
this is the broker's intake. Prints one JSON object per N.

  GST_PLUGIN_PATH=build/gst tests/bench/mqtt_broker_load.py --publishers 1,4,16 --messages 5000
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
import time

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure(port, publishers, messages, qos):
    branches = [
        f"fakesrc num-buffers={messages} sizetype=fixed sizemax=16 ! "
        f"sparseinferpublish name=p{i} method=mqtt host=127.0.0.1 port={port} topic=load/{i} qos={qos} "
        f"queue-size={messages} ! fakesink sync=false"
        for i in range(publishers)
    ]
    p = Gst.parse_launch(" ".join(branches))
    p.set_state(Gst.State.PAUSED)
    p.get_state(Gst.CLOCK_TIME_NONE)
    elements = [p.get_by_name(f"p{i}") for i in range(publishers)]
    # Wait for every connection before the clock starts.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all(e.get_property("stats").get_value("connected") for e in elements):
        time.sleep(0.01)
    t0 = time.perf_counter()
    p.set_state(Gst.State.PLAYING)
    total = publishers * messages
    deadline = time.monotonic() + 600
    published = 0
    while time.monotonic() < deadline:
        published = sum(e.get_property("stats").get_value("published") for e in elements)
        if published >= total:
            break
        time.sleep(0.002)
    wall = time.perf_counter() - t0
    dropped = sum(e.get_property("stats").get_value("dropped") for e in elements)
    p.set_state(Gst.State.NULL)
    return {"publishers": publishers, "messages_each": messages, "qos": qos, "published": published,
            "dropped": dropped, "wall_s": round(wall, 3), "messages_per_s": round(published / wall, 1)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--publishers", default="1,4,16")
    ap.add_argument("--messages", type=int, default=5000)
    ap.add_argument("--qos", type=int, default=1)
    a = ap.parse_args()
    mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not os.path.exists(mosquitto):
        raise SystemExit("mosquitto is missing (Debian package mosquitto)")
    Gst.init(None)
    with tempfile.TemporaryDirectory() as workdir:
        port = free_port()
        conf = os.path.join(workdir, "mosquitto.conf")
        with open(conf, "w") as f:
            f.write(f"listener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\nuser {getpass.getuser()}\n")
        broker = subprocess.Popen([mosquitto, "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(0.5)
            for n in (int(x) for x in a.publishers.split(",")):
                print(json.dumps(measure(port, n, a.messages, a.qos)), flush=True)
        finally:
            broker.send_signal(signal.SIGTERM)
            broker.wait(10)


if __name__ == "__main__":
    sys.exit(main())
