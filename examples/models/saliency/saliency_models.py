"""The two streams of the saliency dual-stream classifier (paper §2), in PyTorch.

Both backbones are make_models.MobileNetV3Large's feature stack: features[0] is the
stem, features[1..15] are the 15 bneck blocks, features[16] is the last 1x1 conv
(f_N). "Block 6" and "block 10" are bneck blocks 6 and 10 (strides 8 and 16).

- LargeStream (Φ, w=1.0, full resolution): saliency gates after blocks 6 and 10
  (§2.1). Gate i encodes f_i and the upsampled last representation f_N into a
  one-channel sigmoid map s_i; the head sees s_i * f_i summed over space next to
  the pooled f_N. A sum (not an s_i-weighted mean) lets a map that is off
  everywhere mean "nothing here"; training adds an L1 penalty on the maps and
  drops the pooled f_N for half of the frames, so the gates must find the
  regions that decide the class, and only those (see gate_penalty). Training
  starts with the s_i-weighted mean (gate_sum=False) and no penalty, which
  learns the task; sparsifying from scratch did not (val AP 0.83 after 600 steps).
- SmallStream (Φ', w=0.1, half resolution): with propagation=True, saliency
  propagation modules after blocks 6 and 10 (§2.2): s_i pooled to f'_i's grid,
  times the decay exp(-k/τ), multiplies f'_i element-wise; three conv3x3-BN-ReLU
  layers turn that into a correction added to f'_i. With propagation=False it is
  the plain backbone (S, and Φ' after training step 2).

Inputs are frames normalised as the engine does (RGB/255, ImageNet mean and std);
height and width must be multiples of 32 (Φ) and 64 (Φ's input, so that Φ' at
half size is a multiple of 32).
"""

import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import make_models  # noqa: E402

NUM_CLASSES = 3
GATE_BLOCKS = (6, 10)  # bneck blocks (paper §3: after the 6th and 10th blocks)
GATE_STRIDES = (8, 16)  # stride of those blocks' outputs in MobileNetV3-Large
LAST_STRIDE = 32


def backbone(width):
    """MobileNetV3-Large features (stem, 15 bnecks, last conv) and the channel counts at the gates and at f_N."""
    net = make_models.MobileNetV3Large(width=width, num_classes=NUM_CLASSES)
    features = net.features
    gate_channels = [features[b].body[-1][0].out_channels for b in GATE_BLOCKS]
    last_channels = features[-1][0].out_channels
    return features, gate_channels, last_channels


class SaliencyGate(nn.Module):
    """G_i (§2.1): conv encoder of f_i and the upsampled f_N to a map s_i in [0, 1] on f_i's grid."""

    def __init__(self, channels, last_channels, upscale, inner=32):
        super().__init__()
        self.local = nn.Conv2d(channels, inner, 1)
        self.context = nn.Conv2d(last_channels, inner, 1, bias=False)  # 1x1 before the nearest upsampling: cheaper, same result
        self.upscale = upscale
        self.encode = nn.Sequential(
            nn.ReLU(inplace=True),
            nn.Conv2d(inner, inner, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(inner, 1, 1),
        )

    def forward(self, f_i, f_last):
        context = F.interpolate(self.context(f_last), scale_factor=float(self.upscale), mode="nearest")
        return torch.sigmoid(self.encode(self.local(f_i) + context))


GATE_SUM_SCALE = 1.0 / 16  # the gated sum is taken over space and scaled as if over 16 cells (a light covers a few)


def saliency_pool(features, saliency, gate_sum=True):
    """Sum over space of the gated features s_i * f_i (scaled by GATE_SUM_SCALE): zero when the map is off.

    gate_sum=False: the s_i-weighted mean, used only in the first part of training step 1."""
    weighted = F.adaptive_avg_pool2d(features * saliency, 1)
    if not gate_sum:
        return weighted / (F.adaptive_avg_pool2d(saliency, 1) + 1e-3)
    return weighted * (features.shape[2] * features.shape[3] * GATE_SUM_SCALE)


def gate_penalty(maps):
    """The L1 sparsity term of step 1: mean value of each saliency map, summed over the gates."""
    return sum(m.mean() for m in maps)


class LargeStream(nn.Module):
    """Φ: MobileNetV3-Large w=1.0 with saliency gates after blocks 6 and 10; returns (logits, s_a, s_b)."""

    def __init__(self, width=1.0, context_dropout=0.5, gate_sum=True):
        super().__init__()
        self.context_dropout = context_dropout  # training only: share of frames whose pooled f_N the head does not see
        self.gate_sum = gate_sum
        self.features, gate_channels, last_channels = backbone(width)
        self.gates = nn.ModuleList(
            SaliencyGate(c, last_channels, LAST_STRIDE // s) for c, s in zip(gate_channels, GATE_STRIDES)
        )
        hidden = make_models.make_divisible(1280 * width)
        self.classifier = nn.Sequential(
            nn.Linear(sum(gate_channels) + last_channels, hidden),
            nn.Hardswish(inplace=True),
            nn.Dropout(0.2),
            nn.Linear(hidden, NUM_CLASSES),
        )

    def forward(self, x):
        gated = []
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in GATE_BLOCKS:
                gated.append(x)
        maps = [gate(f, x) for gate, f in zip(self.gates, gated)]
        pooled = [saliency_pool(f, s, self.gate_sum) for f, s in zip(gated, maps)]
        context = F.adaptive_avg_pool2d(x, 1)
        if self.training and self.context_dropout > 0:
            keep = torch.rand(context.shape[0], 1, 1, 1, device=context.device) >= self.context_dropout
            context = context * keep  # the gated features alone must classify these frames
        pooled.append(context)
        logits = self.classifier(torch.flatten(torch.cat(pooled, dim=1), 1))
        return logits, maps[0], maps[1]


class PropagationModule(nn.Module):
    """G'_i (§2.2): f' + adjust(f' * pool(s) * decay), adjust = three conv3x3-BN-ReLU layers."""

    def __init__(self, channels):
        super().__init__()
        self.adjust = nn.Sequential(*[make_models.conv_bn_act(channels, channels, 3, act="RE") for _ in range(3)])
        # The last BN starts small, so a freshly attached module barely changes the pre-trained Φ'
        # (not zero: behind the ReLU a zero scale would never get a gradient).
        nn.init.constant_(self.adjust[-1][1].weight, 0.1)

    def forward(self, features, saliency, decay):
        # Φ's map is on a grid twice as fine as f'_i (Φ' runs at half resolution); max keeps small peaks.
        saliency = F.max_pool2d(saliency, 2) * decay
        return features + self.adjust(features * saliency)


class SmallStream(nn.Module):
    """Φ' (propagation=True): forward(x, s_a, s_b, decay) -> logits; S (propagation=False): forward(x) -> logits."""

    def __init__(self, width=0.1, propagation=True):
        super().__init__()
        net = make_models.MobileNetV3Large(width=width, num_classes=NUM_CLASSES)
        self.features = net.features
        self.classifier = net.classifier
        gate_channels = [self.features[b].body[-1][0].out_channels for b in GATE_BLOCKS]
        self.propagation = nn.ModuleList(PropagationModule(c) for c in gate_channels) if propagation else None

    def forward(self, x, saliency_a=None, saliency_b=None, decay=None):
        maps = (saliency_a, saliency_b)
        for index, layer in enumerate(self.features):
            x = layer(x)
            if self.propagation is not None and index in GATE_BLOCKS:
                x = self.propagation[GATE_BLOCKS.index(index)](x, maps[GATE_BLOCKS.index(index)], decay)
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.classifier(x)

    def attach_propagation(self):
        """Training step 3: add the propagation modules to a pre-trained backbone (step 2)."""
        gate_channels = [self.features[b].body[-1][0].out_channels for b in GATE_BLOCKS]
        self.propagation = nn.ModuleList(PropagationModule(c) for c in gate_channels)
        return self
