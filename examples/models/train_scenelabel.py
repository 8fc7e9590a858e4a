#!/usr/bin/python3
"""Train cbinfer_scenelabel (CBinfer Table I) on colour-region scene labels and export it.

Task ("colour-region scene labels"): every pixel of a video frame gets one of 8
classes, the k-means cluster (CIE Lab, fixed seed) of the frame's colour after a
Gaussian blur. The targets are stable over time and spatially coherent, like the
urban scene labels CBinfer's network was trained for, and can be made offline from
the clips that come with opencv-doc:

- training: tree.avi (all 68 frames), Megamind.avi (every 2nd of 270 frames) and
  vtest.avi frames 300-794 (every 3rd);
- validation: vtest.avi frames 0-200 (every 10th), held out: the benchmark and the
  calibration run on vtest's first frames.

Frames are brought to the network's input size as the engine does it
(core/io/preprocess.cpp): RGB, bilinear resize with pixel-centre alignment; the
network sees values/255 normalised with the ImageNet mean and std. vtest and
Megamind are halved (384x288, 360x264: the benchmark's 384x288), tree stays
320x240. Labels are made at that resolution: blur (sigma 2 px, i.e. 4 px at vtest's
full resolution), sRGB -> Lab, 4x4 average (the 1/4 output grid), nearest centroid.

Training: random 160x120 crops (offsets on the 4-pixel output grid), horizontal
flips, brightness x[0.9, 1.1], Gaussian pixel noise (sigma up to 6 grey levels) and
up to 7 small rectangles shifted by up to +-20 grey levels (stale patches, the
input perturbation change-based inference introduces);
cross-entropy, Adam, cosine learning rate, on the CPU with one thread and fixed
seeds. The trained weights are exported with make_models.export_model (the same
export as every other example model) to cbinfer_scenelabel.onnx, from which
make_models.build_model reads them back.

Usage: train_scenelabel.py [--data DIR] [--out DIR] [--steps N] [--work DIR]
"""

import argparse
import os
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_models  # noqa: E402

NAME = "cbinfer_scenelabel"
NUM_CLASSES = 8
SEED = 1001
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
BLUR_SIGMA = 2.0  # at network resolution
CROP_W, CROP_H = 160, 120
BATCH = 4
NOISE_FLIP_SIGMA = 2.0  # grey levels, for the flip measurement

# clip -> (full width, full height, network width, network height)
CLIPS = {
    "vtest": (768, 576, 384, 288),
    "Megamind": (720, 528, 360, 264),
    "tree": (320, 240, 320, 240),
}
# clip -> frame indices used (train) ; validation is vtest only
TRAIN_FRAMES = {
    "tree": range(0, 68),
    "Megamind": range(0, 270, 2),
    "vtest": range(300, 795, 3),
}
VAL_FRAMES = range(0, 201, 10)


def decode(data_dir, clip, work_dir):
    """All frames of a clip as (N, H, W, 3) uint8 RGB, decoded with GStreamer."""
    width, height, _, _ = CLIPS[clip]
    raw = os.path.join(work_dir, clip + ".rgb")
    if not os.path.exists(raw):
        source = os.path.join(data_dir, clip + ".avi")
        if not os.path.isfile(source):
            raise SystemExit(f"missing {source} (Debian package opencv-doc)")
        pipeline = [
            "gst-launch-1.0", "-q", "filesrc", f"location={source}", "!", "decodebin", "!", "videoconvert",
            "!", "video/x-raw,format=RGB", "!", "filesink", f"location={raw}.part",
        ]
        subprocess.run(pipeline, check=True)
        os.replace(raw + ".part", raw)
    frame_bytes = width * height * 3  # rows need no padding: 3*width is a multiple of 4 here
    size = os.path.getsize(raw)
    if size % frame_bytes:
        raise SystemExit(f"{raw}: {size} bytes is not a whole number of {width}x{height} RGB frames")
    return np.memmap(raw, dtype=np.uint8, mode="r").reshape(size // frame_bytes, height, width, 3)


def taps(src, dst):
    """Bilinear source indices and weights, pixel-centre aligned, as in preprocess.cpp."""
    scale = np.float32(src) / np.float32(dst)
    x = (np.arange(dst, dtype=np.float32) + np.float32(0.5)) * scale - np.float32(0.5)
    x = np.maximum(x, np.float32(0))
    i0 = np.minimum(np.floor(x).astype(np.int64), src - 1)
    i1 = np.minimum(i0 + 1, src - 1)
    return i0, i1, (x - i0.astype(np.float32)).astype(np.float32)


def resize(frame, width, height):
    """uint8 HxWx3 -> float32 height x width x 3 in grey levels (0-255)."""
    src = frame.astype(np.float32)
    if src.shape[1] == width and src.shape[0] == height:
        return src
    x0, x1, wx = taps(src.shape[1], width)
    y0, y1, wy = taps(src.shape[0], height)
    wx = wx[None, :, None]
    top = src[y0][:, x0] + wx * (src[y0][:, x1] - src[y0][:, x0])
    bottom = src[y1][:, x0] + wx * (src[y1][:, x1] - src[y1][:, x0])
    return top + wy[:, None, None] * (bottom - top)


def gaussian_blur(image, sigma):
    """HxWx3 float32, separable Gaussian with reflected borders."""
    radius = int(3 * sigma + 0.5)
    t = torch.arange(-radius, radius + 1, dtype=torch.float64)
    kernel = torch.exp(-0.5 * (t / sigma) ** 2)
    kernel = (kernel / kernel.sum()).float()
    x = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[:, None]
    x = F.pad(x, (radius, radius, radius, radius), mode="reflect")
    x = F.conv2d(x, kernel.view(1, 1, 1, -1))
    x = F.conv2d(x, kernel.view(1, 1, -1, 1))
    return x[:, 0].numpy().transpose(1, 2, 0)


def rgb_to_lab(rgb):
    """sRGB in grey levels -> CIE Lab (D65)."""
    c = np.clip(rgb / 255.0, 0.0, 1.0)
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = linear @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    lab = np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)
    return lab.astype(np.float32)


def label_colours(image):
    """Blurred Lab colour of each 4x4 output cell: (H/4, W/4, 3)."""
    lab = rgb_to_lab(gaussian_blur(image, BLUR_SIGMA))
    h, w = lab.shape[0] // 4, lab.shape[1] // 4
    return lab[: 4 * h, : 4 * w].reshape(h, 4, w, 4, 3).mean(axis=(1, 3))


def kmeans(points, k, rng, iterations=60):
    """Lloyd's k-means with k-means++ seeding; centres sorted by L, then a, then b."""
    centres = [points[rng.randint(len(points))]]
    for _ in range(1, k):
        d2 = np.min(((points[:, None] - np.array(centres)[None]) ** 2).sum(-1), axis=1)
        centres.append(points[rng.choice(len(points), p=d2 / d2.sum())])
    centres = np.array(centres, dtype=np.float64)
    for _ in range(iterations):
        assign = nearest(points, centres)
        for j in range(k):
            members = points[assign == j]
            if len(members):
                centres[j] = members.mean(axis=0)
    order = np.lexsort((centres[:, 2], centres[:, 1], centres[:, 0]))
    return centres[order].astype(np.float32)


def nearest(points, centres):
    d2 = ((points[..., None, :] - centres) ** 2).sum(-1)
    return np.argmin(d2, axis=-1)


def load_split(data_dir, work_dir, frames_of):
    """[(image float32 HxWx3 grey levels, label colours (H/4, W/4, 3))] for each frame."""
    samples = []
    for clip, frames in frames_of.items():
        video = decode(data_dir, clip, work_dir)
        _, _, width, height = CLIPS[clip]
        for i in frames:
            image = resize(video[i], width, height)
            samples.append((clip, i, image, label_colours(image)))
    return samples


def normalise(batch):
    """(N, H, W, 3) grey levels -> (N, 3, H, W) network input, as the engine computes it."""
    x = (batch / 255.0 - MEAN) / STD
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2), dtype=np.float32))


def add_stale_patches(crop, rng):
    """Shifts a few small rectangles by up to +-20 grey levels, the target unchanged.

    Change-based inference feeds each layer an input state that lags the frame
    by up to its threshold in small regions (compression noise, pixels below
    threshold); training against such local perturbations keeps the labels
    stable under them, as a network for CBinfer on a real camera must be.
    """
    crop = crop.copy()
    for _ in range(rng.randint(0, 8)):
        h, w = rng.randint(1, 13), rng.randint(1, 13)
        y, x = rng.randint(crop.shape[0] - h + 1), rng.randint(crop.shape[1] - w + 1)
        crop[y : y + h, x : x + w] += rng.uniform(-20, 20, size=3).astype(np.float32)
    return crop


def training_batch(samples, labels, rng):
    images, targets = [], []
    for _ in range(BATCH):
        s = rng.randint(len(samples))
        image, label = samples[s][2], labels[s]
        gy = rng.randint((image.shape[0] - CROP_H) // 4 + 1)
        gx = rng.randint((image.shape[1] - CROP_W) // 4 + 1)
        crop = image[4 * gy : 4 * gy + CROP_H, 4 * gx : 4 * gx + CROP_W]
        target = label[gy : gy + CROP_H // 4, gx : gx + CROP_W // 4]
        if rng.rand() < 0.5:
            crop, target = crop[:, ::-1], target[:, ::-1]
        crop = crop * rng.uniform(0.9, 1.1) + rng.randn(*crop.shape).astype(np.float32) * rng.uniform(0, 6)
        crop = add_stale_patches(crop, rng)
        images.append(np.clip(crop, 0, 255))
        targets.append(target)
    return normalise(np.stack(images)), torch.from_numpy(np.stack(targets).astype(np.int64))


def evaluate(model, samples, labels, noise_rng):
    """Pixel accuracy, mean top-1 probability, fraction of argmax flips under sigma-2 noise."""
    correct = total = flips = 0
    confidence = 0.0
    with torch.no_grad():
        for (_, _, image, _), label in zip(samples, labels):
            scores = model(normalise(image[None]))
            noisy = image + noise_rng.randn(*image.shape).astype(np.float32) * NOISE_FLIP_SIGMA
            noisy_scores = model(normalise(noisy[None]))
            prediction = scores.argmax(1)[0].numpy()
            correct += int((prediction == label).sum())
            total += label.size
            confidence += float(F.softmax(scores, 1).max(1)[0].sum())
            flips += int((noisy_scores.argmax(1)[0].numpy() != prediction).sum())
    return correct / total, confidence / total, flips / total


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--data", default="/usr/share/doc/opencv-doc/examples/data", help="folder of the .avi clips")
    parser.add_argument("--out", default=here, help="where cbinfer_scenelabel.onnx goes (default: next to this script)")
    parser.add_argument("--steps", type=int, default=1200, help="training steps of %d crops" % BATCH)
    parser.add_argument("--work", default="/tmp/train_scenelabel", help="folder for the decoded clips")
    args = parser.parse_args(argv)

    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    rng = np.random.RandomState(SEED)
    os.makedirs(args.work, exist_ok=True)
    os.makedirs(args.out, exist_ok=True)
    started = time.time()

    train = load_split(args.data, args.work, TRAIN_FRAMES)
    val = load_split(args.data, args.work, {"vtest": VAL_FRAMES})
    colours = np.concatenate([s[3].reshape(-1, 3) for s in train])
    centres = kmeans(colours[rng.choice(len(colours), 40000, replace=False)].astype(np.float64), NUM_CLASSES, rng)
    train_labels = [nearest(s[3], centres) for s in train]
    val_labels = [nearest(s[3], centres) for s in val]
    print(f"data: {len(train)} training frames, {len(val)} validation frames ({time.time() - started:.0f} s)")
    print("class centres (L, a, b) and share of train / val pixels:")
    train_all, val_all = np.concatenate([l.ravel() for l in train_labels]), np.concatenate([l.ravel() for l in val_labels])
    for j, c in enumerate(centres):
        print(f"  {j}: ({c[0]:5.1f} {c[1]:6.1f} {c[2]:6.1f})  {np.mean(train_all == j):6.1%}  {np.mean(val_all == j):6.1%}")

    model = make_models.SceneLabelNet(NUM_CLASSES)
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: 0.5 * (1 + np.cos(np.pi * min(step, args.steps) / args.steps))
    )
    model.train()
    train_started = time.time()
    running = 0.0
    for step in range(1, args.steps + 1):
        x, y = training_batch(train, train_labels, rng)
        loss = F.cross_entropy(model(x), y)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        running = loss.item() if step == 1 else 0.98 * running + 0.02 * loss.item()
        if step % 100 == 0 or step == args.steps:
            print(f"step {step}/{args.steps}: loss {running:.4f} ({time.time() - train_started:.0f} s)", flush=True)
    train_seconds = time.time() - train_started
    model.eval()

    noise_rng = np.random.RandomState(SEED + 1)
    subset = list(range(0, len(train), max(1, len(train) // 10)))
    train_eval = evaluate(model, [train[i] for i in subset], [train_labels[i] for i in subset], noise_rng)
    val_eval = evaluate(model, val, val_labels, noise_rng)
    for split, (accuracy, confidence, flips) in (("train", train_eval), ("val", val_eval)):
        print(
            f"{split}: pixel accuracy {accuracy:.4f}, mean top-1 probability {confidence:.4f}, "
            f"argmax flips under sigma-{NOISE_FLIP_SIGMA:g} noise {flips:.4%}"
        )
    path = make_models.export_model(model, NAME, args.out)
    print(f"training {train_seconds:.0f} s, total {time.time() - started:.0f} s; wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
