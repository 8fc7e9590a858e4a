#!/usr/bin/python3
"""Train cbinfer_personlabel (CBinfer Table I, 2 classes) on vtest.avi and export it.

Task ("moving-person labels"): every output pixel (1/4 of the input resolution) is
background (0) or person (1). vtest.avi is a fixed CCTV camera on a plaza; the
labels come from background subtraction, offline:

- background: the per-pixel median of frames 300-794, every 5th;
- a pixel is foreground when one of its channels is more than 30 grey levels from
  that background; the mask is opened with a 3x3 window (removes compression
  speckle); a 4x4 output cell is "person" when at least 4 of its 16 pixels are.

Everything that moves in vtest is a person, so these labels are a person mask,
but they mark only people who differ from the background (a person standing
still for the whole clip, or dressed like the pavement, is background).

Why this task: CBinfer needs a network whose outputs move only where the scene
changes. The colour-region labels of cbinfer_scenelabel flip where a pixel's
colour sits between two regions, so a change-detection threshold of a few grey
levels already costs 0.5% of the labels (README, "Benchmarks"). Person labels do
not depend on small colour changes of the background.

Data: vtest.avi at full size (768x576), training frames 300-794; validation
frames 0-200 (every 10th), held out: the benchmark and the calibration run on
vtest's first frames.

Training: the first four layers start from cbinfer_scenelabel (read back from the
committed ONNX file), the last 1x1 layer (64 -> 2) is new. Random 192x144 crops
on the 4-pixel output grid, batches of 4, horizontal flips. Half of the crops
are not the frame itself but the input state change-based inference would hold
(§III-C, closed loop): start from the frame k in [1, 12] frames earlier and, frame
by frame, take the new value only where some channel changed by more than a
threshold T uniform in [0, 0.6] (network input units, i.e. up to about 34 grey
levels); the target is the current frame's label, so the network learns to give
the same labels on a lagging input. Cross-entropy weighted 1:3 (people cover
about 3% of the cells), Adam (lr 1e-3, cosine decay), 400 steps, seed 1006, two
threads. Exported with make_models.export_model, from which
make_models.build_model reads the weights back.

Usage: train_personlabel.py [--data DIR] [--out DIR] [--steps N] [--work DIR]
"""

import argparse
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_models  # noqa: E402
import train_scenelabel  # noqa: E402

NAME = "cbinfer_personlabel"
SEED = make_models.SEEDS[NAME]
WIDTH, HEIGHT = 768, 576
TRAIN_FRAMES = range(300, 795)
BACKGROUND_FRAMES = range(300, 795, 5)
VAL_FRAMES = range(0, 201, 10)
FOREGROUND_LEVELS = 30  # grey levels from the background
CELL_VOTES = 4  # of the 16 pixels of an output cell
CROP_W, CROP_H = 192, 144
BATCH = 4
MAX_LAG = 12  # frames
MAX_THRESHOLD = 0.6  # network input units
PERSON_WEIGHT = 3.0


def opened(mask):
    """3x3 binary opening (erosion then dilation): removes specks smaller than 3x3."""
    def grow(m):
        return np.lib.stride_tricks.sliding_window_view(np.pad(m, 1), (3, 3)).any(axis=(-1, -2))
    return grow(~grow(~mask))


def person_cells(frame, background):
    """(H/4, W/4) int64 labels of one uint8 RGB frame: 1 where a person is."""
    foreground = np.abs(frame.astype(np.int16) - background).max(axis=-1) > FOREGROUND_LEVELS
    mask = opened(foreground)
    h, w = mask.shape[0] // 4, mask.shape[1] // 4
    votes = mask[: 4 * h, : 4 * w].reshape(h, 4, w, 4).sum(axis=(1, 3))
    return (votes >= CELL_VOTES).astype(np.int64)


def network_input(frames):
    """uint8 (N, H, W, 3) frames -> float32 (N, 3, H, W), normalised as the engine does it."""
    return train_scenelabel.normalise(frames.astype(np.float32)).numpy()


def closed_loop_state(frames, threshold):
    """The input state a change-detecting first layer holds after these frames (§III-C)."""
    state = frames[0].copy()
    for frame in frames[1:]:
        changed = np.abs(frame - state).max(axis=0) > threshold
        state[:, changed] = frame[:, changed]
    return state


def training_batch(video, labels, rng):
    images, targets = [], []
    for _ in range(BATCH):
        lag = rng.randint(1, MAX_LAG + 1)
        t = rng.randint(TRAIN_FRAMES.start + lag, TRAIN_FRAMES.stop)
        y = 4 * rng.randint((HEIGHT - CROP_H) // 4 + 1)
        x = 4 * rng.randint((WIDTH - CROP_W) // 4 + 1)
        frames = network_input(video[t - lag : t + 1, y : y + CROP_H, x : x + CROP_W])
        target = labels[t][y // 4 : (y + CROP_H) // 4, x // 4 : (x + CROP_W) // 4]
        image = closed_loop_state(frames, rng.uniform(0, MAX_THRESHOLD)) if rng.rand() < 0.5 else frames[-1]
        if rng.rand() < 0.5:
            image, target = image[:, :, ::-1], target[:, ::-1]
        images.append(np.ascontiguousarray(image))
        targets.append(np.ascontiguousarray(target))
    return torch.from_numpy(np.stack(images)), torch.from_numpy(np.stack(targets))


def evaluate(model, video, background):
    """Pixel accuracy, person IoU, precision and recall over the validation frames."""
    correct = total = both = either = predicted = actual = 0
    with torch.no_grad():
        for t in VAL_FRAMES:
            label = person_cells(video[t], background)
            prediction = model(torch.from_numpy(network_input(video[t : t + 1]))).argmax(1)[0].numpy()
            correct += int((prediction == label).sum())
            total += label.size
            both += int(((prediction == 1) & (label == 1)).sum())
            either += int(((prediction == 1) | (label == 1)).sum())
            predicted += int((prediction == 1).sum())
            actual += int((label == 1).sum())
    return correct / total, both / max(either, 1), both / max(predicted, 1), both / max(actual, 1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--data", default="/usr/share/doc/opencv-doc/examples/data", help="folder of vtest.avi")
    parser.add_argument("--out", default=here, help=f"where {NAME}.onnx goes (default: next to this script)")
    parser.add_argument("--steps", type=int, default=400, help="training steps of %d crops" % BATCH)
    parser.add_argument("--work", default="/tmp/train_scenelabel", help="folder for the decoded clip")
    args = parser.parse_args(argv)

    torch.set_num_threads(2)
    rng = np.random.RandomState(SEED)
    os.makedirs(args.work, exist_ok=True)
    os.makedirs(args.out, exist_ok=True)
    started = time.time()

    video = train_scenelabel.decode(args.data, "vtest", args.work)
    if video.shape[1:3] != (HEIGHT, WIDTH) or len(video) < TRAIN_FRAMES.stop:
        raise SystemExit(f"vtest.avi: expected at least {TRAIN_FRAMES.stop} frames of {WIDTH}x{HEIGHT}")
    background = np.median(np.stack([video[i] for i in BACKGROUND_FRAMES]), axis=0).astype(np.int16)
    labels = {t: person_cells(video[t], background) for t in range(TRAIN_FRAMES.start, TRAIN_FRAMES.stop)}
    share = np.mean([l.mean() for l in labels.values()])
    print(f"labels: {len(labels)} training frames, person cells {share:.1%} ({time.time() - started:.0f} s)")

    model = make_models.build_model("cbinfer_scenelabel")  # layers 1-4 from the colour-region network
    torch.manual_seed(SEED)  # after build_model, which seeds torch itself
    model.conv5 = nn.Conv2d(64, 2, 1)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: 0.5 * (1 + np.cos(np.pi * min(step, args.steps) / args.steps))
    )
    weight = torch.tensor([1.0, PERSON_WEIGHT])
    model.train()
    train_started = time.time()
    running = 0.0
    for step in range(1, args.steps + 1):
        x, y = training_batch(video, labels, rng)
        loss = F.cross_entropy(model(x), y, weight=weight)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        running = loss.item() if step == 1 else 0.95 * running + 0.05 * loss.item()
        if step % 50 == 0 or step == args.steps:
            print(f"step {step}/{args.steps}: loss {running:.4f} ({time.time() - train_started:.0f} s)", flush=True)
    train_seconds = time.time() - train_started
    model.eval()

    accuracy, iou, precision, recall = evaluate(model, video, background)
    print(f"val (vtest 0-200, every 10th): pixel accuracy {accuracy:.4f}, person IoU {iou:.3f}, "
          f"precision {precision:.3f}, recall {recall:.3f}")
    path = make_models.export_model(model, NAME, args.out)
    print(f"training {train_seconds:.0f} s, total {time.time() - started:.0f} s; wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
