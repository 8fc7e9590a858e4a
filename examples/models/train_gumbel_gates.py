#!/usr/bin/python3
"""Trains Skip-Conv Gumbel gates (Habibian et al. 2021, §3.2.2) for a frozen
ONNX network on a clip, and exports them for the engine (GateKind::Gumbel).

One gate per gated layer (every spatial convolution; 1x1 layers reuse their
input's change set). The gate reads the layer's input residual r = x - s,
where s is the input as the layer last computed it (the closed-loop state the
engine keeps, CBinfer §III-C), and gives one logit per input pixel:

    logit(p) = bias + sum_c (w_abs[c] * |r_c(p)| + w_signed[c] * r_c(p))

i.e. a 1x1 convolution over [|r|, r] with a single output channel. The pixel
is recomputed (s takes x there) where logit > 0 and r is not all zero.

Why 1x1 and on input pixels, where the paper uses the layer's own k x k window
at output resolution: the engine gates input pixels (they enter the closed-loop
state, and the kernel dilates them to the affected outputs, CBinfer eq. 4); an
input the engine holds for one frame only is valid at the pixels the layers
before changed, so a gate may not read its neighbours; and on a depthwise layer
a k x k gate costs as much as the layer itself. The |r| term makes the
input-norm gate (Eq. 5) one point of the family, which is where training
starts.

Training (Eq. 8, 9): clips of --clip-length frames; the first frame is
computed densely, the others run the closed loop with binary decisions sampled
by the Gumbel (logistic) reparametrization with a straight-through gradient.
The network's weights stay frozen. Loss = distillation to the dense network's
outputs + beta * cost, where cost is the share of the gated MACs spent: each
gate's mask dilated to the layer's affected outputs (a max pool over the
layer's window), weighted by the MACs of the layer and of the 1x1 layers that
follow it until the next gated layer (they recompute the same pixels).

Frames come from an .npy of preprocessed network inputs [N,3,H,W], written by
the engine's own preprocessing so training sees what the engine sees:

    sparseinfer-bench --model M.onnx --video vtest.avi --frames 300 \\
        --modes dense --frames-out frames.npy
    train_gumbel_gates.py --model M.onnx --frames frames.npy \\
        --out M.gumbel_gates.json

Output (JSON, documented in docs/gumbel-gates.md):
    {"format": "sparseinfer-gumbel-gates", "version": 1, "model": "M.onnx",
     "input_shape": [1,3,H,W], "layers": {"Conv_0": {"channels": 3,
     "weight_abs": [...], "weight_signed": [...], "bias": b}, ...},
     "training": {...}}
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from onnx_torch_graph import OnnxTorchGraph, node_attributes  # noqa: E402

FORMAT = "sparseinfer-gumbel-gates"
kLogitScale = 10.0
# The starting input-norm gate fires where mean |r| exceeds this share of the
# layer's mean |x|: above the sensor and compression noise of a static camera.
kInitialMargin = 0.3


class GumbelGates(torch.nn.Module):
    """The gates of every gated layer: w_abs, w_signed [C] and a bias each."""

    def __init__(self, layers, channels, input_scale):
        super().__init__()
        self.layers = list(layers)
        self.w_abs = torch.nn.ParameterDict()
        self.w_signed = torch.nn.ParameterDict()
        self.bias = torch.nn.ParameterDict()
        for name in self.layers:
            c = channels[name]
            key = self.key(name)
            # Start as an input-norm gate (Eq. 5 with a 1x1 support): mean |r|
            # over channels, in units of the layer's typical activation, minus
            # kInitialMargin of it.
            # Scaled by kLogitScale so that the logistic noise of the sampling
            # (unit scale) does not drown the decisions at the start.
            self.w_abs[key] = torch.nn.Parameter(torch.full((c,), kLogitScale / (c * input_scale[name])))
            self.w_signed[key] = torch.nn.Parameter(torch.zeros(c))
            self.bias[key] = torch.nn.Parameter(torch.tensor(-kInitialMargin * kLogitScale))

    @staticmethod
    def key(name):
        # ParameterDict keys may not hold dots.
        return name.replace(".", "_").replace("/", "__")

    def logits(self, name, residual):
        k = self.key(name)
        w_abs = self.w_abs[k].view(1, -1, 1, 1)
        w_signed = self.w_signed[k].view(1, -1, 1, 1)
        return self.bias[k] + (residual.abs() * w_abs + residual * w_signed).sum(dim=1, keepdim=True)

    def export(self, model_path, input_shape, training):
        layers = {}
        for name in self.layers:
            k = self.key(name)
            layers[name] = {
                "channels": int(self.w_abs[k].numel()),
                "weight_abs": [float(v) for v in self.w_abs[k].detach().tolist()],
                "weight_signed": [float(v) for v in self.w_signed[k].detach().tolist()],
                "bias": float(self.bias[k].detach()),
            }
        return {
            "format": FORMAT,
            "version": 1,
            "model": os.path.basename(model_path),
            "input_shape": list(input_shape),
            "gate": "1x1 convolution over [|r|, r] of the input residual; fire where logit > threshold",
            "layers": layers,
            "training": training,
        }


def load_gates(path, graph):
    """Reads an exported gates file into a GumbelGates for `graph`."""
    with open(path) as f:
        j = json.load(f)
    if j.get("format") != FORMAT:
        raise ValueError("%s: not a %s file" % (path, FORMAT))
    channels = {name: layer["channels"] for name, layer in j["layers"].items()}
    gates = GumbelGates(graph.gated, channels, {n: 1.0 for n in graph.gated})
    with torch.no_grad():
        for name, layer in j["layers"].items():
            k = gates.key(name)
            gates.w_abs[k].copy_(torch.tensor(layer["weight_abs"]))
            gates.w_signed[k].copy_(torch.tensor(layer["weight_signed"]))
            gates.bias[k].fill_(layer["bias"])
    return gates


def dilate_to_outputs(mask, node):
    """The outputs a layer recomputes for a mask of changed inputs (CBinfer
    eq. 4): a max pool over the layer's window, padding and stride."""
    a = node_attributes(node)
    kernel = list(a.get("kernel_shape", [1, 1]))
    strides = list(a.get("strides", [1, 1]))
    pads = list(a.get("pads", [0, 0, 0, 0]))
    if any(pads):
        mask = F.pad(mask, (pads[1], pads[3], pads[0], pads[2]))
    return F.max_pool2d(mask, kernel, strides)


class ClosedLoop:
    """One pass of the gated network over a clip, the way the engine runs it:
    each gated layer computes from its state s, which takes the input x where
    the gate fires."""

    def __init__(self, graph, gates, mode, temperature=2.0 / 3.0, threshold=0.0):
        self.graph = graph
        self.gates = gates
        self.mode = mode  # "sample" (training) or "hard" (inference: logit > threshold)
        self.temperature = temperature
        self.threshold = threshold
        self.states = {}
        self.masks = {}

    def prime(self, x):
        collect = {}
        outs = self.graph.run(x, collect=collect)
        self.states = {name: v.detach() if self.mode == "hard" else v for name, v in collect.items()}
        self.masks = {}
        return outs

    def hook(self, name, x):
        s = self.states[name]
        r = x - s
        logit = self.gates.logits(name, r)
        moved = (r.abs().amax(dim=1, keepdim=True) > 0).to(x.dtype)
        if self.mode == "sample":
            u = torch.rand_like(logit).clamp(1e-6, 1 - 1e-6)
            soft = torch.sigmoid((logit + torch.log(u) - torch.log1p(-u)) / self.temperature)
            hard = (soft > 0.5).to(x.dtype)
            m = (hard + soft - soft.detach()) * moved
        else:
            m = (logit > self.threshold).to(x.dtype) * moved
        self.masks[name] = m
        s_new = s + m * r
        self.states[name] = s_new
        return s_new

    def step(self, x):
        self.masks = {}
        return self.graph.run(x, gate_hook=self.hook)


def cost_weights(graph, input_shape):
    """Per gated layer, the MACs that follow its decisions: its own and those
    of the non-gated convolutions after it until the next gated one."""
    macs, _ = graph.layer_macs(input_shape)
    weights = {name: 0 for name in graph.gated}
    owner = None
    for n in graph.conv_nodes():
        if n.name in weights:
            owner = n.name
        if owner is not None:
            weights[owner] += macs[n.name]
    return weights, sum(macs.values())


def distillation(student, teacher):
    """Binary KL for probability maps (one channel in [0, 1]), per unit of
    foreground (people cover 2-3% of a vtest frame, so a plain mean would
    let the cost term win everywhere); else MSE relative to the variance."""
    if student.shape[1] == 1 and float(teacher.min()) >= 0.0 and float(teacher.max()) <= 1.0:
        p = student.clamp(1e-6, 1 - 1e-6)
        q = teacher.clamp(1e-6, 1 - 1e-6)
        kl = q * (q.log() - p.log()) + (1 - q) * ((1 - q).log() - (1 - p).log())
        return kl.mean() / teacher.mean().clamp_min(1e-3)
    return F.mse_loss(student, teacher) / teacher.var().clamp_min(1e-6)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="the ONNX network (frozen)")
    ap.add_argument("--frames", required=True, help=".npy of preprocessed inputs [N,3,H,W] (frames 0.. of the clip)")
    ap.add_argument("--first", type=int, default=0, help="first training frame in the .npy (default 0)")
    ap.add_argument("--count", type=int, default=300, help="training frames (default 300: vtest 0-299)")
    ap.add_argument("--out", required=True, help="gates file to write (JSON)")
    ap.add_argument("--beta", type=float, default=2.0, help="weight of the cost loss (Eq. 9; default 2)")
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--clip-length", type=int, default=3, help="frames per training clip, the first dense")
    ap.add_argument("--downscale", type=int, default=1,
                    help="train on frames average-pooled by this factor (default 1: full size)")
    ap.add_argument("--batch", type=int, default=2, help="clips per step")
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (default 1: on a loaded machine more threads spin and run far slower)")
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = np.random.RandomState(args.seed)
    for path in (args.model, args.frames):
        if not os.path.exists(path):
            sys.exit("train_gumbel_gates: %s: no such file" % path)
    frames = np.load(args.frames, mmap_mode="r")
    if frames.ndim != 4 or frames.shape[0] < args.first + args.count:
        sys.exit("train_gumbel_gates: %s: need [N,C,H,W] with N >= %d, got %s" %
                 (args.frames, args.first + args.count, frames.shape))
    frames = torch.from_numpy(np.array(frames[args.first:args.first + args.count], dtype=np.float32))
    graph = OnnxTorchGraph(args.model)
    for p in graph.consts.values():
        p.requires_grad_(False)
    input_shape = (1,) + tuple(frames.shape[1:])
    weights, total_macs = cost_weights(graph, input_shape)
    gated_macs = sum(weights.values())
    if args.downscale > 1:
        # Training cost falls with the square of the factor; the gates are
        # per pixel, so they carry over to the full size (docs/gumbel-gates.md).
        graph.allow_free_size(input_shape)
        frames = F.avg_pool2d(frames, args.downscale)

    # Each gated layer's typical input magnitude, from a few dense frames.
    t0 = time.time()
    channels = {}
    scale = {}
    with torch.no_grad():
        collect = {}
        graph.run(frames[::max(1, len(frames) // 4)], collect=collect)
        for n, v in collect.items():
            scale[n] = max(float(v.abs().mean()), 1e-6)
            channels[n] = v.shape[1]
    print("train_gumbel_gates: %d gated layers, %.1f of %.1f MMAC follow a gate; training at %dx%d" %
          (len(graph.gated), gated_macs / 1e6, total_macs / 1e6, frames.shape[3], frames.shape[2]))

    gates = GumbelGates(graph.gated, channels, scale)
    opt = torch.optim.Adam(gates.parameters(), lr=args.lr)
    nodes = {n.name: n for n in graph.nodes}
    history = []
    t0 = time.time()
    for step in range(args.steps):
        starts = rng.randint(0, len(frames) - args.clip_length + 1, size=args.batch)
        clips = torch.stack([frames[s:s + args.clip_length] for s in starts], dim=1)  # [T, B, C, H, W]
        loop = ClosedLoop(graph, gates, "sample")
        with torch.no_grad():
            targets = [graph.run(clips[t])[0] for t in range(args.clip_length)]
            loop.prime(clips[0])
        task = 0.0
        cost = 0.0
        for t in range(1, args.clip_length):
            out = loop.step(clips[t])[0]
            task = task + distillation(out, targets[t])
            for name, m in loop.masks.items():
                cost = cost + weights[name] * dilate_to_outputs(m, nodes[name]).mean()
        task = task / (args.clip_length - 1)
        cost = cost / (gated_macs * (args.clip_length - 1))
        loss = task + args.beta * cost
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append((float(task), float(cost)))
        if step % 10 == 0 or step == args.steps - 1:
            recent = np.array(history[-10:])
            print("step %4d  task %.5f  cost %.4f  (%.0f s)" % (step, recent[:, 0].mean(), recent[:, 1].mean(),
                                                                time.time() - t0))
            sys.stdout.flush()

    recent = np.array(history[-20:])
    training = {
        "frames": os.path.basename(args.frames),
        "frame_range": [args.first, args.first + args.count - 1],
        "beta": args.beta,
        "steps": args.steps,
        "clip_length": args.clip_length,
        "batch": args.batch,
        "learning_rate": args.lr,
        "downscale": args.downscale,
        "seed": args.seed,
        "final_task_loss": float(recent[:, 0].mean()),
        "final_cost": float(recent[:, 1].mean()),
        "seconds": round(time.time() - t0, 1),
    }
    with open(args.out, "w") as f:
        json.dump(gates.export(args.model, input_shape, training), f, indent=1)
        f.write("\n")
    print("train_gumbel_gates: wrote %s" % args.out)


if __name__ == "__main__":
    main()
