#!/usr/bin/python3
"""Draw Φ's saliency maps over test frames (a PNG), to see what the gates mark.

Each row is one test clip at frames 3 and 15; each frame is shown twice,
with s_a (1/8) and with s_b (1/16) in yellow over the dimmed frame, each map
divided by its own maximum (so a map that is almost off still shows its peak).
The label of every frame is written in its top-left corner (R, G, -).

Usage: plot_maps.py [--work DIR] [--clips N] [--png FILE]
  --work: the checkpoints of train_saliency.py (large.pt) and its rendered test split
"""

import argparse
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import saliency_models  # noqa: E402
import train_saliency  # noqa: E402

FRAMES = (3, 15)
SHORT_LABELS = ("R", "G", "-")


def overlay(frame, saliency):
    """Frame at 35% with the map (nearest-upsampled, max-normalised) in yellow."""
    height, width = frame.shape[:2]
    up = F.interpolate(saliency[None, None], size=(height, width), mode="nearest")[0, 0].numpy()
    up = up / max(float(up.max()), 1e-6)
    return frame * 0.35 + np.stack([up, up, np.zeros_like(up)], -1) * (255 * 0.65)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default="/tmp/train_saliency")
    parser.add_argument("--clips", type=int, default=4)
    parser.add_argument("--png", default="saliency_maps.png")
    args = parser.parse_args()
    torch.set_num_threads(2)

    large = saliency_models.LargeStream()
    large.load_state_dict(torch.load(os.path.join(args.work, "large.pt")))
    large.eval()
    test = train_saliency.Split("test", args.work)

    rows = []
    for clip in range(args.clips):
        index = torch.tensor([clip * test.length + f for f in FRAMES])
        with torch.no_grad():
            _, maps_a, maps_b = large(train_saliency.network_input(test.frames[index]))
        tiles = []
        for j in range(len(FRAMES)):
            frame = test.frames[index[j]].numpy().astype(np.float32)
            tiles += [overlay(frame, maps_a[j, 0]), overlay(frame, maps_b[j, 0]), np.full((frame.shape[0], 4, 3), 255.0)]
        rows.append(np.concatenate(tiles, axis=1))
    image = Image.fromarray(np.concatenate(rows, axis=0).clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    height, width = test.frames.shape[1:3]
    for clip in range(args.clips):
        for j, f in enumerate(FRAMES):
            label = SHORT_LABELS[int(test.labels[clip * test.length + f])]
            draw.text((j * (2 * width + 4) + 3, clip * height + 2), f"{label} f{f}", fill=(255, 255, 255))
    image.quantize(colors=96).save(args.png, optimize=True)  # a palette keeps the committed file small
    print(f"wrote {args.png} ({image.width}x{image.height})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
