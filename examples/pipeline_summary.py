#!/usr/bin/python3
"""Runs a video through cbinferconv (change mode) and the overlay into an
annotated file, then the same frames in dense mode, and prints a summary:
throughput of both, speedup, mean changed fraction, MAC fraction, and where
the annotated video was written. Uses GStreamer's Python bindings (python3-gi).

  GST_PLUGIN_PATH=build/gst examples/pipeline_summary.py --model M.onnx \
      --thresholds T.json --video vtest.avi --size 768x576 --frames 100 --out vtest-annotated.avi
"""
import argparse
import json
import sys
import time

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402


def run(description):
    """Plays a pipeline to EOS; returns (cbinferconv stats dict, wall seconds)."""
    pipeline = Gst.parse_launch(description)
    start = time.monotonic()
    pipeline.set_state(Gst.State.PLAYING)
    msg = pipeline.get_bus().timed_pop_filtered(Gst.CLOCK_TIME_NONE, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    wall = time.monotonic() - start
    if msg.type == Gst.MessageType.ERROR:
        err, debug = msg.parse_error()
        pipeline.set_state(Gst.State.NULL)
        sys.exit(f"pipeline error: {err.message}\n{debug}")
    s = pipeline.get_by_name("cb").get_property("stats")
    stats = {s.nth_field_name(i): s.get_value(s.nth_field_name(i)) for i in range(s.n_fields())}
    pipeline.set_state(Gst.State.NULL)
    return stats, wall


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--video", required=True)
    p.add_argument("--thresholds", help="thresholds JSON from `sparseinfer calibrate`")
    p.add_argument("--size", default="768x576", help="frame size fed to the element")
    p.add_argument("--frames", type=int, default=100)
    p.add_argument("--out", default="annotated.avi")
    a = p.parse_args()
    Gst.init(None)
    w, h = a.size.split("x")
    source = (f'filesrc location="{a.video}" ! decodebin ! videoconvert ! videoscale ! '
              f"video/x-raw,format=RGB,width={w},height={h} ! identity eos-after={a.frames} ! ")
    change = f'cbinferconv name=cb model="{a.model}" mode=change qos=false'
    if a.thresholds:
        change += f' thresholds-file="{a.thresholds}"'
    stats_change, wall_change = run(source + change + " ! sparseinferoverlay change-mask=true ! videoconvert ! "
                                    f'avenc_mpeg4 bitrate=4000000 ! avimux ! filesink location="{a.out}"')
    stats_dense, wall_dense = run(source + f'cbinferconv name=cb model="{a.model}" mode=dense qos=false ! fakesink')
    summary = {
        "model": a.model,
        "video": a.video,
        "size": a.size,
        "frames": stats_change["frames"],
        "change_ms_per_frame": round(stats_change["mean-ms"], 2),
        "dense_ms_per_frame": round(stats_dense["mean-ms"], 2),
        "change_fps": round(1000.0 / stats_change["mean-ms"], 2),
        "dense_fps": round(1000.0 / stats_dense["mean-ms"], 2),
        "speedup_vs_dense": round(stats_dense["mean-ms"] / stats_change["mean-ms"], 2),
        "mean_changed_fraction": round(stats_change["mean-changed-fraction"], 4),
        "mean_mac_fraction": round(stats_change["mean-mac-fraction"], 4),
        "pipeline_wall_s": {"change": round(wall_change, 1), "dense": round(wall_dense, 1)},
        "annotated_output": a.out,
    }
    print(json.dumps(summary, indent=1))
    print(f"\n{summary['frames']} frames at {a.size}: change mode {summary['change_fps']} fps vs dense "
          f"{summary['dense_fps']} fps ({summary['speedup_vs_dense']}x), mean changed fraction "
          f"{summary['mean_changed_fraction']:.1%}; annotated video: {a.out}")


if __name__ == "__main__":
    main()
