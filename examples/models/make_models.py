#!/usr/bin/python3
"""Build the example CNNs in PyTorch and export them to ONNX.

cbinfer_scenelabel and cbinfer_personlabel are trained (train_scenelabel.py,
train_personlabel.py): their weights live only in the committed .onnx files, and
build_model reads them back from there. The other models are untrained: weights come from a fixed seed per model so that every
run (and every other script calling build_model) gets the same numbers. They are
shaped like the networks in the papers the project implements, which is what the
engines and benchmarks need; their outputs carry no meaning yet.

Usage: make_models.py [--out DIR] [--only NAME ...] [--missing-only] [--stats]
"""

import argparse
import math
import os
import sys
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F

OPSET = 13

# name -> default input shape (N, C, H, W)
MODELS = {
    "cbinfer_scenelabel": (1, 3, 576, 768),
    "cbinfer_personlabel": (1, 3, 576, 768),
    "mobilenetv3_large_w100": (1, 3, 256, 512),
    "mobilenetv3_large_w010": (1, 3, 256, 512),
    "segnet_small": (1, 3, 256, 512),
    "detnet_small": (1, 3, 256, 512),
}

# Each model's seed, fixed so that adding a model never changes another one.
SEEDS = {
    "cbinfer_scenelabel": 1001,
    "mobilenetv3_large_w100": 1002,
    "mobilenetv3_large_w010": 1003,
    "segnet_small": 1004,
    "detnet_small": 1005,
    "cbinfer_personlabel": 1006,
}


# ---------------------------------------------------------------------------
# CBinfer scene labeling (Cavigelli & Benini, Table I)


class SceneLabelNet(nn.Module):
    """CBinfer Table I: per-pixel class scores (8 classes in the paper) at 1/4 of the input resolution."""

    def __init__(self, num_classes=8):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 7, padding=3)
        self.conv2 = nn.Conv2d(16, 64, 7, padding=3)
        self.conv3 = nn.Conv2d(64, 256, 7, padding=3)
        self.conv4 = nn.Conv2d(256, 64, 1)
        self.conv5 = nn.Conv2d(64, num_classes, 1)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.conv3(x))
        x = F.relu(self.conv4(x))
        return self.conv5(x)


# ---------------------------------------------------------------------------
# MobileNetV3-Large (Howard et al. 2019, Table 1)


def make_divisible(value, divisor=8):
    """Round a channel count to a multiple of divisor, never dropping more than 10%."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


# (kernel, expansion, out, squeeze-excite, activation, stride) per bneck block.
MOBILENETV3_LARGE_BLOCKS = [
    (3, 16, 16, False, "RE", 1),
    (3, 64, 24, False, "RE", 2),
    (3, 72, 24, False, "RE", 1),
    (5, 72, 40, True, "RE", 2),
    (5, 120, 40, True, "RE", 1),
    (5, 120, 40, True, "RE", 1),
    (3, 240, 80, False, "HS", 2),
    (3, 200, 80, False, "HS", 1),
    (3, 184, 80, False, "HS", 1),
    (3, 184, 80, False, "HS", 1),
    (3, 480, 112, True, "HS", 1),
    (3, 672, 112, True, "HS", 1),
    (5, 672, 160, True, "HS", 2),
    (5, 960, 160, True, "HS", 1),
    (5, 960, 160, True, "HS", 1),
]


def activation(kind):
    return nn.ReLU(inplace=True) if kind == "RE" else nn.Hardswish(inplace=True)


def conv_bn_act(cin, cout, kernel, stride=1, groups=1, act="RE"):
    layers = [
        nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
    ]
    if act is not None:
        layers.append(activation(act))
    return nn.Sequential(*layers)


class SqueezeExcite(nn.Module):
    """SE with a hard-sigmoid gate; squeeze width is a quarter of the expansion."""

    def __init__(self, channels):
        super().__init__()
        squeezed = make_divisible(channels // 4)
        self.reduce = nn.Conv2d(channels, squeezed, 1)
        self.expand = nn.Conv2d(squeezed, channels, 1)

    def forward(self, x):
        s = F.adaptive_avg_pool2d(x, 1)
        s = F.relu(self.reduce(s))
        s = F.hardsigmoid(self.expand(s))
        return x * s


class InvertedResidual(nn.Module):
    def __init__(self, cin, kernel, expanded, cout, use_se, act, stride):
        super().__init__()
        layers = []
        if expanded != cin:
            layers.append(conv_bn_act(cin, expanded, 1, act=act))
        layers.append(conv_bn_act(expanded, expanded, kernel, stride, groups=expanded, act=act))
        if use_se:
            layers.append(SqueezeExcite(expanded))
        layers.append(conv_bn_act(expanded, cout, 1, act=None))
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.body(x)
        return x + y if self.residual else y


class MobileNetV3Large(nn.Module):
    """MobileNetV3-Large classifier; width scales every layer including the 1280 head."""

    def __init__(self, width=1.0, num_classes=3):
        super().__init__()
        channels = make_divisible(16 * width)
        layers = [conv_bn_act(3, channels, 3, stride=2, act="HS")]
        for kernel, expansion, out, use_se, act, stride in MOBILENETV3_LARGE_BLOCKS:
            expanded = make_divisible(expansion * width)
            cout = make_divisible(out * width)
            layers.append(InvertedResidual(channels, kernel, expanded, cout, use_se, act, stride))
            channels = cout
        last_conv = make_divisible(960 * width)
        layers.append(conv_bn_act(channels, last_conv, 1, act="HS"))
        self.features = nn.Sequential(*layers)
        features = make_divisible(1280 * width)
        self.classifier = nn.Sequential(
            nn.Linear(last_conv, features),
            nn.Hardswish(inplace=True),
            nn.Dropout(0.2),
            nn.Linear(features, num_classes),
        )

    def forward(self, x):
        x = self.features(x)
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.classifier(x)


# ---------------------------------------------------------------------------
# Small encoder-decoder segmentation net


class SegNetSmall(nn.Module):
    """Encoder to 1/8, decoder back up with skip concatenations; scores at input size.

    Input height and width must be multiples of 8 so the skips line up.
    """

    def __init__(self, num_classes=8):
        super().__init__()
        self.stem = conv_bn_act(3, 16, 3, stride=2)  # 1/2
        self.enc2 = nn.Sequential(conv_bn_act(16, 32, 3, stride=2), conv_bn_act(32, 32, 3))  # 1/4
        self.enc3 = nn.Sequential(conv_bn_act(32, 64, 3, stride=2), conv_bn_act(64, 64, 3))  # 1/8
        self.dec2 = conv_bn_act(64 + 32, 32, 3)
        self.dec1 = conv_bn_act(32 + 16, 16, 3)
        self.classify = nn.Conv2d(16, num_classes, 1)

    def forward(self, x):
        s1 = self.stem(x)
        s2 = self.enc2(s1)
        s3 = self.enc3(s2)
        up2 = F.interpolate(s3, scale_factor=2.0, mode="nearest")
        d2 = self.dec2(torch.cat([up2, s2], dim=1))
        up1 = F.interpolate(d2, scale_factor=2.0, mode="bilinear", align_corners=False)
        d1 = self.dec1(torch.cat([up1, s1], dim=1))
        scores = self.classify(d1)
        return F.interpolate(scores, scale_factor=2.0, mode="bilinear", align_corners=False)


# ---------------------------------------------------------------------------
# Small single-stage detector


def separable(cin, cout, stride):
    return nn.Sequential(
        conv_bn_act(cin, cin, 3, stride=stride, groups=cin),
        conv_bn_act(cin, cout, 1),
    )


class DetNetSmall(nn.Module):
    """Anchor-free detector with per-cell outputs at stride 8 (CenterNet/FCOS style).

    Outputs, for an input of H x W (multiples of 8), on a grid of H/8 x W/8 cells:
      heatmap (N, num_classes, H/8, W/8): sigmoid score that cell (i, j) holds the
          centre of an object of that class.
      boxes (N, 4, H/8, W/8): non-negative distances (left, top, right, bottom), in
          cells, from the cell centre to the box sides.
    Decoding: keep cells whose heatmap score is a 3x3 local maximum above a threshold;
    with the cell centre cx = (j + 0.5) * 8, cy = (i + 0.5) * 8 in input pixels,
    the box is x1 = cx - 8*l, y1 = cy - 8*t, x2 = cx + 8*r, y2 = cy + 8*b, with the
    class of the maximum and its score as confidence.
    """

    STRIDE = 8

    def __init__(self, num_classes=3):
        super().__init__()
        self.stem = conv_bn_act(3, 16, 3, stride=2)  # 1/2
        self.down4 = separable(16, 32, 2)  # 1/4
        self.block4 = separable(32, 32, 1)
        self.down8 = separable(32, 64, 2)  # 1/8
        self.block8 = separable(64, 64, 1)
        self.head = conv_bn_act(64, 64, 3)
        self.heatmap = nn.Conv2d(64, num_classes, 1)
        self.boxes = nn.Conv2d(64, 4, 1)

    def forward(self, x):
        x = self.stem(x)
        x = self.down4(x)
        x = x + self.block4(x)
        x = self.down8(x)
        x = x + self.block8(x)
        h = self.head(x)
        return torch.sigmoid(self.heatmap(h)), F.relu(self.boxes(h))


# ---------------------------------------------------------------------------


OUTPUT_NAMES = {
    "cbinfer_scenelabel": ["scores"],
    "cbinfer_personlabel": ["scores"],
    "mobilenetv3_large_w100": ["logits"],
    "mobilenetv3_large_w010": ["logits"],
    "segnet_small": ["scores"],
    "detnet_small": ["heatmap", "boxes"],
}


def _construct(name):
    if name == "cbinfer_scenelabel":
        return SceneLabelNet()
    if name == "cbinfer_personlabel":
        return SceneLabelNet(num_classes=2)
    if name == "mobilenetv3_large_w100":
        return MobileNetV3Large(width=1.0)
    if name == "mobilenetv3_large_w010":
        return MobileNetV3Large(width=0.1)
    if name == "segnet_small":
        return SegNetSmall()
    assert name == "detnet_small"
    return DetNetSmall()


def _seed_weights(model, generator):
    """Fan-in scaled random weights; BatchNorm affine terms away from identity."""
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            fan_in = module.weight[0].numel()
            std = math.sqrt(2.0 / fan_in)
            with torch.no_grad():
                module.weight.copy_(torch.randn(module.weight.shape, generator=generator) * std)
                if module.bias is not None:
                    module.bias.copy_(torch.randn(module.bias.shape, generator=generator) * 0.05)
        elif isinstance(module, nn.BatchNorm2d):
            n = module.num_features
            with torch.no_grad():
                module.weight.copy_(0.6 + 0.8 * torch.rand(n, generator=generator))
                module.bias.copy_(0.1 * torch.randn(n, generator=generator))


def _calibrate_batchnorm(model, shape, generator):
    """Running statistics measured on a seeded input, then perturbed.

    A trained network's BatchNorm keeps activations near unit scale; random running
    statistics would let them grow through deep stacks (x1000 in MobileNetV3). The
    perturbation keeps BN from being an exact normalisation, so folding is exercised.
    Measured in float64 on one thread and rounded to half precision, so that the
    exported weights do not depend on the machine's summation order.
    """
    layers = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    if not layers:
        return
    noise = {m: (torch.randn(m.num_features, generator=generator),
                 0.8 + 0.45 * torch.rand(m.num_features, generator=generator)) for m in layers}

    def measure(module, inputs):
        x = inputs[0]
        mean = x.mean(dim=(0, 2, 3))
        std = x.var(dim=(0, 2, 3), unbiased=False).clamp_min(1e-4).sqrt()
        shift, scale = noise[module]
        module.running_mean.copy_(mean + 0.1 * std * shift.double())
        module.running_var.copy_((std * std) * scale.double())

    sample = torch.randn(shape, generator=generator, dtype=torch.float64)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    handles = [m.register_forward_pre_hook(measure) for m in layers]
    try:
        model.double().eval()
        with torch.no_grad():
            model(sample)
    finally:
        for h in handles:
            h.remove()
        torch.set_num_threads(threads)
        model.float()
    for m in layers:
        m.running_mean.copy_(m.running_mean.half().float())
        m.running_var.copy_(m.running_var.half().float())


# Models whose weights were trained: read back from the committed ONNX file next to
# this script (the torch parameter names are the initializer names, nothing is folded).
TRAINED = {
    "cbinfer_scenelabel": "train_scenelabel.py",
    "cbinfer_personlabel": "train_personlabel.py",
}


def trained_weights_path(name):
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), name + ".onnx")


def _load_trained_weights(model, name):
    import onnx
    import onnx.numpy_helper

    path = trained_weights_path(name)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path} holds the trained weights of {name} and is missing; "
                                f"restore it from git or rerun {TRAINED[name]}")
    initializers = {i.name: i for i in onnx.load(path).graph.initializer}
    state = model.state_dict()
    missing = [key for key in state if key not in initializers]
    if missing:
        raise ValueError(f"{path} lacks the weights {', '.join(missing)}; it is not a {name} export")
    loaded = {}
    for key, value in state.items():
        array = onnx.numpy_helper.to_array(initializers[key])
        if tuple(array.shape) != tuple(value.shape):
            raise ValueError(f"{path}: {key} has shape {array.shape}, expected {tuple(value.shape)}")
        loaded[key] = torch.from_numpy(array.copy())
    model.load_state_dict(loaded)


def build_model(name):
    """The named example model, with its trained or seeded weights, in eval mode."""
    if name not in MODELS:
        raise KeyError(f"unknown model '{name}' (known: {', '.join(MODELS)})")
    torch.manual_seed(SEEDS[name])
    model = _construct(name)
    if name in TRAINED:
        _load_trained_weights(model, name)
        return model.eval()
    generator = torch.Generator().manual_seed(SEEDS[name])
    _seed_weights(model, generator)
    n, c, h, w = MODELS[name]
    _calibrate_batchnorm(model, (n, c, h // 2, w // 2), generator)
    if isinstance(model, DetNetSmall):
        # CenterNet prior: heatmap starts near 0.1 so most cells read as background.
        with torch.no_grad():
            model.heatmap.bias.fill_(-2.19)
    return model.eval()


def export(name, out_dir):
    """Export one model to out_dir/name.onnx and return the path."""
    return export_model(build_model(name), name, out_dir)


def export_model(model, name, out_dir):
    """Export this module as the named model to out_dir/name.onnx and return the path."""
    model.eval()
    sample = torch.zeros(MODELS[name])
    outputs = OUTPUT_NAMES[name]
    dynamic = {"input": {2: "height", 3: "width"}}
    if name.startswith("mobilenetv3"):
        pass  # logits do not depend on the spatial size
    else:
        for out in outputs:
            dynamic[out] = {2: "out_height", 3: "out_width"}
    path = os.path.join(out_dir, name + ".onnx")
    with torch.no_grad(), warnings.catch_warnings():
        # The model is in eval mode, so constant folding cannot alter trained state; and
        # the Resize scales constants need no shape inference.
        warnings.filterwarnings("ignore", message=".*constant folding be turned off.*")
        warnings.filterwarnings("ignore", message=".*shape inference of prim::Constant.*")
        torch.onnx.export(
            model,
            sample,
            path,
            opset_version=OPSET,
            do_constant_folding=True,
            input_names=["input"],
            output_names=outputs,
            dynamic_axes=dynamic,
            # PRESERVE on an eval-mode model: inference graph, but without the exporter's
            # own Conv+BatchNormalization fusion, so the importer's BN folding is exercised.
            training=torch.onnx.TrainingMode.PRESERVE,
        )
    return path


def count_parameters(model):
    return sum(p.numel() for p in model.parameters())


def count_macs(model, shape):
    """Multiply-accumulates of the Conv and Linear layers for one input of this shape."""
    total = 0

    def hook(module, inputs, output):
        nonlocal total
        if isinstance(module, nn.Conv2d):
            per_output = module.weight[0].numel()  # (cin / groups) * kh * kw
            total += output.numel() * per_output
        elif isinstance(module, nn.Linear):
            total += output.numel() * module.in_features

    handles = [
        m.register_forward_hook(hook)
        for m in model.modules()
        if isinstance(m, (nn.Conv2d, nn.Linear))
    ]
    with torch.no_grad():
        model(torch.zeros(shape))
    for h in handles:
        h.remove()
    return total


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_out = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--out", default=default_out, help="output folder (default: next to this script)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="export only these models")
    parser.add_argument(
        "--missing-only", action="store_true", help="skip models whose .onnx is already in the output folder"
    )
    parser.add_argument("--stats", action="store_true", help="print parameters and MACs per model")
    args = parser.parse_args(argv)

    names = args.only or list(MODELS)
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        parser.error(f"unknown model(s) {', '.join(unknown)}; known: {', '.join(MODELS)}")
    os.makedirs(args.out, exist_ok=True)
    for name in names:
        if args.missing_only and os.path.exists(os.path.join(args.out, name + ".onnx")):
            continue
        path = export(name, args.out)
        line = f"{name}: {path} ({os.path.getsize(path)} bytes)"
        if args.stats:
            model = build_model(name)
            macs = count_macs(model, MODELS[name])
            shape = "x".join(str(d) for d in MODELS[name])
            line += f", {count_parameters(model)} params, {macs / 1e9:.3f} GMACs at {shape}"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
