#!/usr/bin/python3
"""Skip-Conv Gumbel gates: the engine against the PyTorch closed loop.

On vtest frames 120-123 at 256x256 with the committed gates of the selfie
segmenter (examples/models/pretrained/mp_selfie_segmentation.gumbel_gates.json):
1. the engine's accepted pixels equal the gate decisions of
   train_gumbel_gates.py's closed loop (first gated layer: the same map within
   a few pixels; every gated layer: the same count within a few pixels), and
   its outputs equal the PyTorch network's under those decisions;
2. gates that fire everywhere give the dense engine's outputs;
3. a gates file missing a layer is refused with an error naming the layer.
Fails (never skips) when an input is missing.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

VIDEO = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"
MODEL = "pretrained/mp_selfie_segmentation.onnx"
GATES = "pretrained/mp_selfie_segmentation.gumbel_gates.json"
START, COUNT = 120, 4
# Engine and PyTorch sum in different orders, so a pixel whose logit is within
# float noise of the cut may go either way, and later layers see that.
MASK_SLACK_PIXELS = 8
COUNT_SLACK = 0.002  # share of a layer's grid


def run_tool(tool, args):
    r = subprocess.run([tool] + args, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("gumbel_gate_tool %s failed: %s" % (" ".join(args), r.stderr.strip()))
    lines = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    return lines[0]["layers"], lines[1:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", required=True)
    ap.add_argument("--models-dir", required=True)
    args = ap.parse_args()
    model = os.path.join(args.models_dir, MODEL)
    gates_path = os.path.join(args.models_dir, GATES)
    for path in (VIDEO, model, gates_path, args.tool):
        if not os.path.exists(path):
            print("FAIL: missing input %s" % path)
            return 1
    sys.path.insert(0, args.models_dir)
    import torch
    from onnx_torch_graph import OnnxTorchGraph
    from train_gumbel_gates import ClosedLoop, load_gates

    torch.set_num_threads(1)
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        frames_npy = os.path.join(tmp, "frames.npy")
        layers, stats = run_tool(args.tool, [
            "--model", model, "--video", VIDEO, "--size", "256x256", "--start", str(START), "--count", str(COUNT),
            "--frames-out", frames_npy, "--gates-file", gates_path, "--outputs-out",
            os.path.join(tmp, "out.npy"), "--masks-out", os.path.join(tmp, "masks.npy")
        ])
        frames = np.load(frames_npy)
        engine_out = np.load(os.path.join(tmp, "out.npy"))
        engine_masks = np.load(os.path.join(tmp, "masks.npy"))

        graph = OnnxTorchGraph(model)
        gates = load_gates(gates_path, graph)
        if layers != graph.gated:
            failures.append("gated layers differ: engine %s, torch %s" % (layers, graph.gated))
        loop = ClosedLoop(graph, gates, "hard")
        with torch.no_grad():
            torch_out = [loop.prime(torch.from_numpy(frames[0:1]))[0].numpy()]
            torch_masks = [None]
            for f in range(1, COUNT):
                torch_out.append(loop.step(torch.from_numpy(frames[f:f + 1]))[0].numpy())
                torch_masks.append({k: v.numpy()[0, 0] for k, v in loop.masks.items()})
        for f in range(1, COUNT):
            first = torch_masks[f][graph.gated[0]]
            differ = int(np.sum((first > 0.5) != (engine_masks[f] > 0.5)))
            print("frame %d: first layer %d of %d pixels accepted (torch %d), %d differ" %
                  (START + f, int(engine_masks[f].sum()), first.size, int(first.sum()), differ))
            if differ > MASK_SLACK_PIXELS:
                failures.append("frame %d: first-layer masks differ in %d pixels" % (START + f, differ))
            for i, name in enumerate(graph.gated):
                m = torch_masks[f][name]
                ours = stats[f]["accepted"][i] * m.size
                if abs(ours - m.sum()) > max(MASK_SLACK_PIXELS, COUNT_SLACK * m.size):
                    failures.append("frame %d, layer %s: engine accepted %.0f pixels, torch %.0f of %d" %
                                    (START + f, name, ours, m.sum(), m.size))
            diff = float(np.abs(torch_out[f] - engine_out[f]).max())
            print("frame %d: mac_fraction %.4f, max |engine - torch| %.2e" % (START + f, stats[f]["mac_fraction"], diff))
            if diff > 1e-3:
                failures.append("frame %d: outputs differ from torch by %.2e" % (START + f, diff))
        if all(s["mac_fraction"] >= 0.999 for s in stats[1:]):
            failures.append("the gates skipped nothing: the comparison says nothing")

        # 2. Gates that fire wherever the input moved: exactly the dense result.
        with open(gates_path) as f:
            always = json.load(f)
        for layer in always["layers"].values():
            layer["bias"] = 1e6
        always_path = os.path.join(tmp, "always.json")
        with open(always_path, "w") as f:
            json.dump(always, f)
        _, _ = run_tool(args.tool, ["--model", model, "--frames", frames_npy, "--gates-file", always_path,
                                    "--outputs-out", os.path.join(tmp, "always_out.npy")])
        _, _ = run_tool(args.tool, ["--model", model, "--frames", frames_npy, "--mode", "dense",
                                    "--outputs-out", os.path.join(tmp, "dense_out.npy")])
        d = float(np.abs(np.load(os.path.join(tmp, "always_out.npy")) - np.load(os.path.join(tmp, "dense_out.npy"))).max())
        print("gates firing everywhere: max |change - dense| %.2e" % d)
        # The sparse kernels sum in another order than the dense ones: float
        # noise on outputs in [0, 1], as at threshold 0 with the threshold gate.
        if d > 1e-4:
            failures.append("gates firing everywhere differ from dense by %.2e" % d)

        # 3. A file without one of the model's gated layers is refused, naming it.
        missing = graph.gated[3]
        del always["layers"][missing]
        with open(always_path, "w") as f:
            json.dump(always, f)
        r = subprocess.run([args.tool, "--model", model, "--frames", frames_npy, "--gates-file", always_path],
                           capture_output=True, text=True)
        if r.returncode == 0 or missing not in r.stderr or always_path not in r.stderr:
            failures.append("a gates file without layer %s was not refused by name: rc %d, %s" %
                            (missing, r.returncode, r.stderr.strip()))
        else:
            print("missing layer refused: %s" % r.stderr.strip())

    for f in failures:
        print("FAIL: " + f)
    print("PASS" if not failures else "FAILED (%d)" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
