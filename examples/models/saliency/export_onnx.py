#!/usr/bin/python3
"""Export Φ, Φ' and S to ONNX with the names and shapes of the issue-6 contract.

saliency_large.onnx           frame [1,3,H,W] -> logits [1,3], saliency_a [1,1,H/8,W/8], saliency_b [1,1,H/16,W/16]
saliency_small.onnx           frame [1,3,H/2,W/2], saliency_a, saliency_b, decay [1] -> logits [1,3]
saliency_small_baseline.onnx  frame [1,3,H/2,W/2] -> logits [1,3]

Fixed shapes (no dynamic axes), opset 13, constant folding, eval mode (BatchNorm is
folded into the convolutions by the exporter), metadata_props "labels".

Usage: export_onnx.py --untrained [--out DIR]   (random-init models: the contract, before training)
"""

import argparse
import os
import sys
import warnings

import onnx
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import saliency_models  # noqa: E402
import traffic_scenes  # noqa: E402

OPSET = 13
LABELS = ",".join(traffic_scenes.LABELS)
MODELS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class _SmallWithDecayVector(torch.nn.Module):
    """Φ' with the contract's decay input of shape [1]."""

    def __init__(self, small):
        super().__init__()
        self.small = small

    def forward(self, frame, saliency_a, saliency_b, decay):
        return self.small(frame, saliency_a, saliency_b, decay)


def _export(module, inputs, input_names, output_names, path, description):
    module.eval()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*constant folding be turned off.*")
        torch.onnx.export(
            module,
            inputs,
            path,
            opset_version=OPSET,
            do_constant_folding=True,
            input_names=input_names,
            output_names=output_names,
            training=torch.onnx.TrainingMode.EVAL,
        )
    model = onnx.load(path)
    for key, value in (("labels", LABELS), ("description", description)):
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def export_all(large, small, baseline, out_dir, width=traffic_scenes.WIDTH, height=traffic_scenes.HEIGHT, note=""):
    """Write the three files to out_dir; returns their paths."""
    os.makedirs(out_dir, exist_ok=True)
    frame = torch.zeros(1, 3, height, width)
    half = torch.zeros(1, 3, height // 2, width // 2)
    s_a = torch.zeros(1, 1, height // 8, width // 8)
    s_b = torch.zeros(1, 1, height // 16, width // 16)
    decay = torch.ones(1)
    return [
        _export(large, (frame,), ["frame"], ["logits", "saliency_a", "saliency_b"],
                os.path.join(out_dir, "saliency_large.onnx"),
                f"Phi: MobileNetV3-Large w=1.0 with saliency gates after blocks 6 and 10, {width}x{height}{note}"),
        _export(_SmallWithDecayVector(small), (half, s_a, s_b, decay), ["frame", "saliency_a", "saliency_b", "decay"],
                ["logits"], os.path.join(out_dir, "saliency_small.onnx"),
                f"Phi': MobileNetV3-Large w=0.1 with saliency propagation modules, {width // 2}x{height // 2}{note}"),
        _export(baseline, (half,), ["frame"], ["logits"], os.path.join(out_dir, "saliency_small_baseline.onnx"),
                f"S: MobileNetV3-Large w=0.1 without propagation modules, {width // 2}x{height // 2}{note}"),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--untrained", action="store_true", required=True,
                        help="export random-init models (the trained ones come from train_saliency.py)")
    parser.add_argument("--out", default=MODELS_DIR)
    args = parser.parse_args()
    torch.manual_seed(0)
    large = saliency_models.LargeStream()
    small = saliency_models.SmallStream(propagation=True)
    baseline = saliency_models.SmallStream(propagation=False)
    for path in export_all(large, small, baseline, args.out, note=" (UNTRAINED, random init)"):
        print(f"{path}: {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
