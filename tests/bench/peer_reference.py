#!/usr/bin/env python3
"""ONNX Runtime or OpenVINO on the benchmark's frames: the peers for speed.

Runs in the peer venv (tests/peers/peer-venv.sh prints its python); the
product never links either runtime. Both run the .onnx file itself, dense,
float32, with the given number of threads, one frame at a time, on the
(N,3,H,W) frames the C++ runner preprocessed, so every engine sees the same
input. Prints one JSON line:
  {"reference":"onnxruntime","version":...,"threads":T,"frames":N,
   "ms_median":...,"ms_p90":...,"cpu_ms_median":...,"precision":"f32"
   [,"type_ms":{...}]}
or {"reference":...,"error":"..."} and exit status 3.

--save-outputs writes every graph output, frames concatenated along axis 0,
to an .npz keyed out0, out1, ... in graph order (the bench compares them with
ours). --profile adds type_ms: milliseconds per frame per layer type (names
from layer_types.py, the same as `sparseinfer info --profile`), measured in a
separate profiled session after the timed one so profiling never slows the
timed frames.

Usage: peer_reference.py --engine onnxruntime|openvino --model M.onnx
                         --frames FRAMES.npy --threads T [--warmup 2]
                         [--save-outputs OUT.npz] [--profile]
"""

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import layer_types  # noqa: E402

EXIT_ERROR = 3
ENGINES = ("onnxruntime", "openvino")


def fail(engine, message):
    print(json.dumps({"reference": engine, "error": message}), flush=True)
    sys.exit(EXIT_ERROR)


class OrtPeer:
    """ONNX Runtime's CPU execution provider with all graph optimizations (its default)."""

    def __init__(self, model, threads, profile_dir=None):
        import onnxruntime as ort

        self.version = ort.__version__
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if profile_dir:
            so.enable_profiling = True
            so.profile_file_prefix = os.path.join(profile_dir, "ort")
        self.session = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name

    def run(self, x):
        return self.session.run(None, {self.input: x})

    def type_ms(self, warmup, frames):
        """Per layer type, ms per frame, from the profiler's per-node kernel
        times of the runs after the first `warmup` ones."""
        path = self.session.end_profiling()
        with open(path) as f:
            events = json.load(f)
        os.unlink(path)
        runs = sorted(e["ts"] for e in events if e.get("cat") == "Session" and e.get("name") == "model_run")
        if len(runs) != warmup + frames:
            raise RuntimeError(f"the profile holds {len(runs)} runs, expected {warmup + frames}")
        start = runs[warmup] if warmup < len(runs) else 0
        totals = {}
        for e in events:
            if e.get("cat") != "Node" or not e.get("name", "").endswith("_kernel_time") or e.get("ts", 0) < start:
                continue
            args = e.get("args", {})
            kind = ort_node_type(args)
            totals[kind] = totals.get(kind, 0.0) + e.get("dur", 0) / 1000.0
        return {k: round(v / frames, 4) for k, v in sorted(totals.items(), key=lambda kv: -kv[1])}


def shape_of(entry):
    """[dims] from one of ORT's {"float": [dims]} shape records."""
    return next(iter(entry.values())) if entry else []


def ort_node_type(args):
    """Layer type of one ORT profiler event: convolutions by their weight and
    input/output shapes (ORT renames and fuses nodes, NCHWc among them)."""
    op = args.get("op_name", "")
    ins = [shape_of(s) for s in args.get("input_type_shape", [])]
    outs = [shape_of(s) for s in args.get("output_type_shape", [])]
    if op in ("Conv", "FusedConv") and len(ins) >= 2 and len(ins[0]) == 4 and len(ins[1]) == 4 and outs:
        w = ins[1]
        group = max(1, ins[0][1] // max(1, w[1]))
        stride = max(1, round(ins[0][2] / max(1, outs[0][2])))
        return layer_types.conv_type(w, group, [stride])
    if op in ("ReorderInput", "ReorderOutput"):
        return "layout"
    return layer_types.op_family(op)


class OpenVinoPeer:
    """OpenVINO's CPU plugin, latency hint, f32 inference precision, input shape fixed to the frames'."""

    def __init__(self, model, threads, shape, profile=False):
        import openvino as ov

        self.version = ov.get_version()
        core = ov.Core()
        net = core.read_model(model)
        net.reshape({net.inputs[0].get_any_name(): list(shape)})
        config = {
            "INFERENCE_NUM_THREADS": threads,
            "NUM_STREAMS": 1,
            "PERFORMANCE_HINT": "LATENCY",
            # A CPU with bf16 or AMX would otherwise run bf16; ours is f32.
            "INFERENCE_PRECISION_HINT": "f32",
        }
        if profile:
            config["PERF_COUNT"] = True
        self.compiled = core.compile_model(net, "CPU", config)
        self.request = self.compiled.create_infer_request()
        self.times = {}

    def run(self, x):
        self.request.infer({0: x})
        outs = [self.request.get_output_tensor(i).data.copy() for i in range(len(self.compiled.outputs))]
        return outs

    def collect(self, onnx_model):
        """Adds this request's per-node times (last inference) to the running totals."""
        if not hasattr(self, "kinds"):
            types, producer = layer_types.node_types(onnx_model)
            self.kinds = {}
            for op in self.compiled.get_runtime_model().get_ordered_ops():
                rt = op.get_rt_info()
                layer_type = rt["layerType"].astype(str) if "layerType" in rt else op.get_type_name()
                names = rt["originalLayersNames"].astype(str).split(",") if "originalLayersNames" in rt else []
                found = [types.get(n) or types.get(producer.get(n, "")) for n in names]
                found = [k for k in found if k]
                convs = [k for k in found if k.startswith(("conv", "depthwise"))]
                if layer_type in ("Convolution", "GroupConvolution") and op.get_input_size() >= 2:
                    # OpenVINO renames convolutions it merged with a BatchNormalization: go by shapes.
                    kind = openvino_conv_type(op) or (convs[0] if convs else "conv")
                elif layer_type == "Deconvolution":
                    kind = "conv transpose"
                elif convs:
                    kind = convs[0]
                elif found:
                    kind = found[0]
                elif layer_type in ("Reorder", "Reshape", "Transpose", "Concatenation"):
                    kind = "layout"
                else:
                    kind = layer_type.lower()
                self.kinds[op.get_friendly_name()] = kind
        for p in self.request.get_profiling_info():
            if p.real_time.total_seconds() <= 0:
                continue
            kind = self.kinds.get(p.node_name, p.node_type.lower())
            self.times[kind] = self.times.get(kind, 0.0) + p.real_time.total_seconds() * 1000.0

    def type_ms(self, frames):
        return {k: round(v / frames, 4) for k, v in sorted(self.times.items(), key=lambda kv: -kv[1])}


def openvino_conv_type(op):
    """Layer type of an OpenVINO runtime (GroupConvolution|Convolution) from its
    data, weight and output shapes; None when a shape is not static."""
    try:
        x = op.get_input_partial_shape(0).get_min_shape()
        w = list(op.get_input_partial_shape(1).to_shape())
        y = op.get_output_partial_shape(0).get_min_shape()
    except RuntimeError:
        return None
    if len(w) == 5:  # [groups, out/group, in/group, kH, kW]
        groups = w[0]
        w = [w[0] * w[1], w[2], w[3], w[4]]
    elif len(w) == 4:
        groups = 1
    else:
        return None
    stride = max(1, round(x[2] / max(1, y[2]))) if len(x) == 4 and len(y) == 4 else 1
    return layer_types.conv_type(w, groups, [stride])


def make_peer(engine, model, threads, shape, profile_dir=None):
    if engine == "onnxruntime":
        return OrtPeer(model, threads, profile_dir)
    return OpenVinoPeer(model, threads, shape, profile=profile_dir is not None)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", required=True, choices=ENGINES)
    parser.add_argument("--model", required=True, help=".onnx file (run as it is)")
    parser.add_argument("--frames", required=True, help="(N,3,H,W) float32 .npy of preprocessed frames")
    parser.add_argument("--threads", type=int, required=True, help="intra-op threads")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs before the timed frames")
    parser.add_argument("--save-outputs", metavar="OUT.npz", help="save every output, frames along axis 0")
    parser.add_argument("--profile", action="store_true", help="add type_ms (a separate, profiled pass)")
    args = parser.parse_args(argv)
    engine = args.engine

    if args.threads < 1:
        fail(engine, f"--threads must be at least 1, got {args.threads}")
    if args.warmup < 0:
        fail(engine, f"--warmup must not be negative, got {args.warmup}")
    if not os.path.isfile(args.model):
        fail(engine, f"model {args.model} does not exist")
    try:
        frames = np.load(args.frames)
    except (OSError, ValueError) as error:
        fail(engine, f"cannot read frames {args.frames}: {error}")
    if frames.ndim != 4 or frames.shape[1] != 3 or frames.dtype != np.float32 or frames.shape[0] == 0:
        fail(engine, f"frames {args.frames} must be (N,3,H,W) float32 with N > 0, got {frames.dtype} {frames.shape}")

    one = (1,) + frames.shape[1:]
    try:
        peer = make_peer(engine, args.model, args.threads, one)
        for i in range(args.warmup):
            peer.run(frames[i % len(frames)][None])
        times_ms, cpu_ms, outputs = [], [], []
        for frame in frames:
            x = np.ascontiguousarray(frame[None])
            cpu = time.process_time()
            start = time.perf_counter()
            out = peer.run(x)
            times_ms.append((time.perf_counter() - start) * 1e3)
            cpu_ms.append((time.process_time() - cpu) * 1e3)
            if args.save_outputs:
                outputs.append([np.asarray(o, dtype=np.float32).copy() for o in out])
    except Exception as error:  # the runtimes raise their own exception types
        fail(engine, f"{engine} failed on {args.model} with frames {tuple(frames.shape)}: {error}")

    result = {
        "reference": engine,
        "version": peer.version,
        "threads": args.threads,
        "frames": int(len(frames)),
        "height": int(frames.shape[2]),
        "width": int(frames.shape[3]),
        "ms_median": round(float(np.median(times_ms)), 4),
        "ms_p90": round(float(np.percentile(times_ms, 90)), 4),
        # Every thread's CPU time: free of the time other processes took on a
        # loaded machine, but it counts a thread pool's spin-waiting as work.
        "cpu_ms_median": round(float(np.median(cpu_ms)), 4),
        "precision": "f32",
    }
    if args.save_outputs:
        np.savez(args.save_outputs,
                 **{f"out{k}": np.concatenate([o[k] for o in outputs], axis=0) for k in range(len(outputs[0]))})

    if args.profile:
        import onnx

        onnx_model = onnx.load(args.model)
        try:
            with tempfile.TemporaryDirectory() as tmp:
                profiled = make_peer(engine, args.model, args.threads, one, profile_dir=tmp)
                for i in range(args.warmup):
                    profiled.run(frames[i % len(frames)][None])
                for frame in frames:
                    profiled.run(np.ascontiguousarray(frame[None]))
                    if engine == "openvino":
                        profiled.collect(onnx_model)
                if engine == "openvino":
                    result["type_ms"] = profiled.type_ms(len(frames))
                else:
                    result["type_ms"] = profiled.type_ms(args.warmup, len(frames))
        except Exception as error:
            fail(engine, f"{engine} profiling failed on {args.model}: {error}")

    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
