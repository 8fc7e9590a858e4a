#!/usr/bin/python3
"""The least a change-based engine must recompute on a clip, and the speed-up that caps.

A change-based engine cannot run faster than dense divided by the fraction of MACs
it spends. This script measures that fraction for a chain network (Conv, pooling,
activations, as cbinfer_scenelabel) on a static-camera clip in two ways:

- "moving": an oracle that recomputes exactly what a moving object can reach and
  nothing for compression noise. Moving pixels differ from the clip's median
  background (every 10th frame) by more than FG grey levels in some channel,
  opened with a 3x3 square to drop isolated noise; the changed input at frame t is
  what moves at t or at t-1 (what appeared and what was uncovered).
- "closed-loop": CBinfer's per-pixel detection (§III-C) on the network input at
  threshold T in normalised units (max over channels, the state updated only
  where a change was accepted), every change propagated to the end, as
  `sparseinfer stream` with thresholds on the first layer and 0 after it.

Each input mask goes through the layers as the engine propagates changes: a KxK
convolution or pool with stride S marks every output whose window holds a changed
input; other layers keep the mask. Prints one JSON object per setting: medians
over frames 1..N of the changed fraction of every convolution's outputs, the MAC
fraction, and the ceiling 1 / mac_fraction (the speed-up at efficiency 1).

  tests/bench/change_ceiling.py --model examples/models/cbinfer_scenelabel.onnx \\
      --clip vtest --size 768x576 --frames 60 --foreground 30,50 --closed-loop 0.1,0.3
"""
import argparse
import json
import os
import statistics
import sys

import numpy as np
import onnx
from numpy.lib.stride_tricks import sliding_window_view

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "examples", "models"))
from train_personlabel import opened  # noqa: E402  (the person labels' speck removal)
from train_scenelabel import CLIPS, MEAN, STD, decode, resize  # noqa: E402  (the engine's resize)


def attribute(node, name, default):
    for a in node.attribute:
        if a.name == name:
            return list(a.ints)
    return default


def window_layers(path):
    """[(name, kernel, stride, pads, dilation, macs_per_output or 0)] for a chain network."""
    if not os.path.isfile(path):
        raise SystemExit(f"{path}: no such model file")
    model = onnx.load(path)
    weights = {w.name: list(w.dims) for w in model.graph.initializer}
    layers = []
    for node in model.graph.node:
        if len([i for i in node.input if i and i not in weights]) > 1:
            raise SystemExit(f"{path}: {node.op_type} {node.name} has two activation inputs; only chain networks")
        if node.op_type in ("Conv", "MaxPool", "AveragePool"):
            if node.op_type == "Conv":
                w = weights[node.input[1]]
                kernel, macs = w[2:], w[0] * w[1] * w[2] * w[3]
            else:
                kernel, macs = attribute(node, "kernel_shape", None), 0
            pads = attribute(node, "pads", [0, 0, 0, 0])
            layers.append((node.name, kernel, attribute(node, "strides", [1, 1]), pads,
                           attribute(node, "dilations", [1, 1]), macs))
        elif node.op_type.startswith("Global") or node.op_type in ("Gemm", "MatMul", "Flatten", "Reshape"):
            raise SystemExit(f"{path}: {node.op_type} is global; this bound is for fully convolutional chains")
    return layers


def propagate(mask, layers):
    """Changed fraction of each layer's outputs and the MAC fraction, for one input mask."""
    fractions, spent, total = {}, 0.0, 0.0
    for name, (kh, kw), (sh, sw), pads, (dh, dw), macs in layers:
        padded = np.pad(mask, ((pads[0], pads[2]), (pads[1], pads[3])))
        windows = sliding_window_view(padded, (dh * (kh - 1) + 1, dw * (kw - 1) + 1))
        mask = windows[::sh, ::sw, ::dh, ::dw].any(axis=(-1, -2))
        if macs:
            fractions[name] = float(mask.mean())
            spent += macs * mask.sum()
            total += macs * mask.size
    return fractions, float(spent / total)


def summarise(setting, rows):
    layers = rows[0][0].keys()
    mac = statistics.median(r[1] for r in rows)
    return {**setting, "frames": len(rows) + 1,
            "changed_fraction": {n: round(statistics.median(r[0][n] for r in rows), 4) for n in layers},
            "mac_fraction": round(mac, 4), "ceiling": round(1 / mac, 2)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--clip", default="vtest", choices=sorted(CLIPS), help="an opencv-doc clip")
    parser.add_argument("--data", default="/usr/share/doc/opencv-doc/examples/data")
    parser.add_argument("--work", default="/tmp/train_scenelabel", help="folder for the decoded clip")
    parser.add_argument("--size", required=True, help="network input WxH")
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--foreground", default="30,50", help="grey levels, comma-separated")
    parser.add_argument("--closed-loop", default="0.1,0.3", help="thresholds in normalised units, comma-separated")
    args = parser.parse_args(argv)

    width, height = (int(v) for v in args.size.split("x"))
    layers = window_layers(args.model)
    video = decode(args.data, args.clip, args.work)
    frames = [resize(video[i], width, height) for i in range(args.frames)]
    background = np.median(np.stack([resize(video[i], width, height) for i in range(0, len(video), 10)]), axis=0)

    for fg in (float(v) for v in args.foreground.split(",")):
        moving = [opened(np.abs(f - background).max(axis=-1) > fg) for f in frames]
        rows = [propagate(moving[t] | moving[t - 1], layers) for t in range(1, len(frames))]
        print(json.dumps(summarise({"oracle": "moving", "foreground_grey_levels": fg}, rows)))

    normalised = [(f / 255.0 - MEAN) / STD for f in frames]
    for threshold in (float(v) for v in args.closed_loop.split(",")):
        state, rows = normalised[0].copy(), []
        for x in normalised[1:]:
            accepted = np.abs(x - state).max(axis=-1) > threshold
            state[accepted] = x[accepted]
            rows.append(propagate(accepted, layers))
        print(json.dumps(summarise({"oracle": "closed-loop", "threshold": threshold}, rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
