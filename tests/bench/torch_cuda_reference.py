#!/usr/bin/env python3
"""GPU peer of the benchmark: an ONNX model run densely by PyTorch with cuDNN.

The graph is executed node by node with torch.nn.functional (Conv, Relu,
Clip, MaxPool, AveragePool, Add, Mul, Sigmoid), the weights taken from the
ONNX file, so no hand-made PyTorch copy of the network is needed. Frames come
from a video (OpenCV), resized to --size and scaled to [0, 1]; the timing is
dense, so the pixel values do not change it. cudnn.benchmark is on, as a user
tuning PyTorch would set it. Prints one JSON line per precision:
{"reference":"torch-cudnn","precision":"fp32"|"tf32","size":"WxH",
 "frames":N,"ms_median":...,"ms_p90":...,"device":...}

Usage: torch_cuda_reference.py --model M.onnx --video V --size WxH [--frames 50]
"""

import argparse
import json
import sys


def graph_runner(model_path):
    import onnx
    import torch
    import torch.nn.functional as F
    from onnx import numpy_helper

    model = onnx.load(model_path)
    weights = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()).cuda() for t in model.graph.initializer}
    attrs = lambda n: {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}  # noqa: E731

    def symmetric_pads(a, key="pads"):
        pads = a.get(key, [0, 0, 0, 0])
        if pads[0] != pads[2] or pads[1] != pads[3]:
            raise SystemExit(f"{model_path}: asymmetric pads {pads} are not supported here")
        return pads[0], pads[1]

    def run(x):
        values = {model.graph.input[0].name: x}
        values.update(weights)
        for n in model.graph.node:
            a = attrs(n)
            ins = [values[i] for i in n.input if i]
            if n.op_type == "Conv":
                y = F.conv2d(ins[0], ins[1], ins[2] if len(ins) > 2 else None, stride=a.get("strides", [1, 1]),
                             padding=symmetric_pads(a), dilation=a.get("dilations", [1, 1]), groups=a.get("group", 1))
            elif n.op_type == "Relu":
                y = F.relu(ins[0])
            elif n.op_type == "Clip":
                y = torch.clamp(ins[0], float(ins[1]), float(ins[2]))
            elif n.op_type == "Sigmoid":
                y = torch.sigmoid(ins[0])
            elif n.op_type == "MaxPool":
                y = F.max_pool2d(ins[0], a["kernel_shape"], a.get("strides", a["kernel_shape"]), symmetric_pads(a),
                                 ceil_mode=bool(a.get("ceil_mode", 0)))
            elif n.op_type == "AveragePool":
                y = F.avg_pool2d(ins[0], a["kernel_shape"], a.get("strides", a["kernel_shape"]), symmetric_pads(a),
                                 ceil_mode=bool(a.get("ceil_mode", 0)),
                                 count_include_pad=bool(a.get("count_include_pad", 0)))
            elif n.op_type == "Add":
                y = ins[0] + ins[1]
            elif n.op_type == "Mul":
                y = ins[0] * ins[1]
            else:
                raise SystemExit(f"{model_path}: operator {n.op_type} is not supported by this reference")
            values[n.output[0]] = y
        return [values[o.name] for o in model.graph.output]

    return run


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--video", required=True)
    parser.add_argument("--size", required=True, help="WxH")
    parser.add_argument("--frames", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args(argv)

    import cv2
    import numpy as np
    import torch

    if not torch.cuda.is_available():
        print(json.dumps({"reference": "torch-cudnn", "error": "no CUDA device"}))
        return 3
    width, height = (int(v) for v in args.size.split("x"))
    capture = cv2.VideoCapture(args.video)
    frames = []
    while len(frames) < args.frames:
        ok, bgr = capture.read()
        if not ok:
            break
        rgb = cv2.cvtColor(cv2.resize(bgr, (width, height), interpolation=cv2.INTER_LINEAR), cv2.COLOR_BGR2RGB)
        frames.append(torch.from_numpy(rgb.transpose(2, 0, 1).astype(np.float32)[None] / 255.0).cuda())
    if not frames:
        print(json.dumps({"reference": "torch-cudnn", "error": f"cannot read frames from {args.video}"}))
        return 3

    torch.backends.cudnn.benchmark = True
    run = graph_runner(args.model)
    for precision in ("fp32", "tf32"):
        torch.backends.cudnn.allow_tf32 = precision == "tf32"
        torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
        times = []
        with torch.no_grad():
            for i in range(args.warmup):
                run(frames[i % len(frames)])
            torch.cuda.synchronize()
            for x in frames:
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                run(x)
                end.record()
                end.synchronize()
                times.append(start.elapsed_time(end))
        times.sort()
        print(json.dumps({"reference": "torch-cudnn", "precision": precision, "torch_version": torch.__version__,
                          "device": torch.cuda.get_device_name(0), "model": args.model, "size": args.size,
                          "frames": len(times), "ms_median": times[len(times) // 2],
                          "ms_p90": times[min(len(times) - 1, int(len(times) * 0.9))]}))
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
