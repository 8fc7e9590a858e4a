#!/usr/bin/python3
"""Train the saliency dual-stream classifier in the paper's three steps and export it.

1. Φ (LargeStream, w=1.0, 256x128) learns the task through its saliency gates:
   1a with s_i-weighted means of the gated features, then 1b with gated sums,
   an L1 penalty on the maps and f_N hidden from the head on half the frames,
   so that the maps become sparse.
2. Φ' without propagation modules (w=0.1, 128x64) is pre-trained alone; this is
   also the baseline S (saliency_small_baseline.onnx).
3. The propagation modules are attached and Φ' is trained with the saliency maps
   of the frozen Φ on the frame k in {1, 2, 3} earlier in the same sequence,
   decay = exp(-k/10). Φ's maps are computed once for every training frame.

Data: traffic_scenes.render_split("train"/"val"/"test"); the network input is
RGB/255 with the ImageNet mean and std, Φ' gets the frame halved with bilinear
interpolation (half-pixel centres, a 2x2 average). Cross-entropy, Adam, cosine
learning rate, horizontal flips (with the maps in step 3; the ego lane stays in
the middle of the image), fixed seeds, two CPU threads.

Prints per step the validation accuracy and the AP of class 0 (relevant red),
and at the end the same on the test split (Φ, S, and Φ' at k = 1, 2, 3).

Usage: train_saliency.py [--out DIR] [--work DIR] [--large-steps N] [--small-steps N] [--prop-steps N]
"""

import argparse
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export_onnx  # noqa: E402
import saliency_models  # noqa: E402
import traffic_scenes  # noqa: E402

SEED = 6001
TAU = 10.0
DELAYS = (1, 2, 3)
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


class Split:
    """A rendered split as tensors: frames uint8 [N,H,W,3], labels [N], sequence id and frame index per frame."""

    def __init__(self, name, cache_dir):
        path = os.path.join(cache_dir, f"{name}.npz")
        if os.path.exists(path):
            data = np.load(path)
            frames, labels = data["frames"], data["labels"]
        else:
            sequences = traffic_scenes.render_split(name, workers=2)
            frames = np.stack([s.frames for s in sequences])
            labels = np.stack([s.labels for s in sequences])
            np.savez(path, frames=frames, labels=labels)
        self.sequences, self.length = labels.shape
        self.frames = torch.from_numpy(frames.reshape(-1, *frames.shape[2:]))
        self.labels = torch.from_numpy(labels.reshape(-1))
        self.frame_index = torch.arange(len(self.labels)) % self.length


def network_input(frames_uint8, half=False):
    x = frames_uint8.permute(0, 3, 1, 2).float() / 255.0
    x = (x - MEAN) / STD
    if half:
        x = F.interpolate(x, scale_factor=0.5, mode="bilinear", align_corners=False)
    return x


def average_precision(scores, positives):
    """AP of a binary ranking: mean precision at each positive, highest score first."""
    order = np.argsort(-scores, kind="stable")
    hits = positives[order].astype(np.float64)
    if hits.sum() == 0:
        return float("nan")
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float((precision * hits).sum() / hits.sum())


def metrics(logits, labels):
    probs = torch.softmax(logits, 1).numpy()
    labels = labels.numpy()
    accuracy = float((probs.argmax(1) == labels).mean())
    return accuracy, average_precision(probs[:, 0], labels == 0)


def cosine_lr(optimizer, base_lr, step, steps, warmup=20):
    lr = base_lr * min(1.0, (step + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * step / steps))
    for group in optimizer.param_groups:
        group["lr"] = lr


def flip(x):
    return torch.flip(x, dims=[3])


def train(model, steps, batch, lr, sample, name, penalty=None):
    """Generic loop: sample(generator) -> (forward arguments, labels); penalty(outputs) is added to the loss."""
    generator = torch.Generator().manual_seed(SEED + len(name))
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=lr, weight_decay=1e-5)
    model.train()
    start, running = time.time(), []
    for step in range(steps):
        cosine_lr(optimizer, lr, step, steps)
        args, labels = sample(generator, batch)
        out = model(*args)
        logits = out[0] if isinstance(out, tuple) else out
        loss = F.cross_entropy(logits, labels)
        if penalty is not None:
            loss = loss + penalty(out)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        running.append(loss.item())
        if (step + 1) % 50 == 0 or step + 1 == steps:
            log(f"{name} step {step + 1}/{steps} loss {np.mean(running):.3f} ({(time.time() - start) / (step + 1):.2f} s/step)")
            running = []
    model.eval()
    return model


@torch.no_grad()
def large_outputs(large, split, batch=64, limit=None):
    logits, maps_a, maps_b = [], [], []
    end = len(split.labels) if limit is None else min(limit, len(split.labels))
    for i in range(0, end, batch):
        out = large(network_input(split.frames[i : min(i + batch, end)]))
        logits.append(out[0])
        maps_a.append(out[1])
        maps_b.append(out[2])
    return torch.cat(logits), torch.cat(maps_a), torch.cat(maps_b)


@torch.no_grad()
def small_logits(model, split, maps=None, k=0, batch=256):
    """Φ' on every frame with index >= k, with Φ's maps of frame - k (or S without maps); returns logits, labels."""
    frames = torch.nonzero(split.frame_index >= max(k, max(DELAYS))).flatten()
    outs = []
    for i in range(0, len(frames), batch):
        idx = frames[i : i + batch]
        x = network_input(split.frames[idx], half=True)
        if maps is None:
            outs.append(model(x))
        else:
            decay = torch.full((len(idx), 1, 1, 1), math.exp(-k / TAU))
            outs.append(model(x, maps[0][idx - k], maps[1][idx - k], decay))
    return torch.cat(outs), split.labels[frames]


def report(name, logits, labels):
    accuracy, ap = metrics(logits, labels)
    log(f"{name}: accuracy {accuracy:.4f}, AP relevant red {ap:.4f} ({len(labels)} frames)")
    return accuracy, ap


def evaluate(split_name, split, large, baseline, small):
    """Φ, S and Φ' at every delay on the frames with index >= 3 (so that every delay has a source frame)."""
    logits, maps_a, maps_b = large_outputs(large, split)
    keep = split.frame_index >= max(DELAYS)
    results = {"large": report(f"{split_name} Φ (large)", logits[keep], split.labels[keep])}
    if baseline is not None:
        results["baseline"] = report(f"{split_name} S (small baseline)", *small_logits(baseline, split))
    if small is not None:
        for k in DELAYS:
            results[f"small k={k}"] = report(f"{split_name} Φ' k={k}", *small_logits(small, split, (maps_a, maps_b), k))
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=export_onnx.MODELS_DIR, help="where the .onnx files go")
    parser.add_argument("--work", default="/tmp/train_saliency", help="rendered splits and checkpoints")
    parser.add_argument("--large-steps", type=int, default=600)
    parser.add_argument("--small-steps", type=int, default=1500)
    parser.add_argument("--prop-steps", type=int, default=600)
    parser.add_argument("--sparsify-steps", type=int, default=150, help="step 1b: steps with sparse saliency gates")
    parser.add_argument("--gate-l1", type=float, default=0.2, help="weight of the saliency maps' L1 penalty in step 1b")
    parser.add_argument("--map-sequences", type=int, default=None, help="training sequences used in step 3 (all)")
    parser.add_argument("--resume", action="store_true", help="reuse the checkpoints of finished steps in --work")
    args = parser.parse_args()

    torch.set_num_threads(2)
    torch.manual_seed(SEED)
    os.makedirs(args.work, exist_ok=True)
    total_start = time.time()

    train_split = Split("train", args.work)
    val_split = Split("val", args.work)
    log(f"data: train {len(train_split.labels)} frames, val {len(val_split.labels)} "
        f"({time.time() - total_start:.0f} s); train classes {torch.bincount(train_split.labels).tolist()}")

    def checkpoint(name):
        return os.path.join(args.work, name + ".pt")

    # Step 1: Φ with its saliency gates.
    torch.manual_seed(SEED + 1)
    large = saliency_models.LargeStream()  # as exported (gated sums); step 1a first trains with weighted means
    step_start = time.time()
    if args.resume and os.path.exists(checkpoint("large")):
        large.load_state_dict(torch.load(checkpoint("large")))
    else:
        def sample_large(generator, batch):
            idx = torch.randint(len(train_split.labels), (batch,), generator=generator)
            x = network_input(train_split.frames[idx])
            if torch.rand(1, generator=generator).item() < 0.5:
                x = flip(x)
            return (x,), train_split.labels[idx]

        # 1a: the task, through s_i-weighted means of the gated features, f_N always seen.
        large.gate_sum, large.context_dropout = False, 0.0
        train(large, args.large_steps, 32, 2e-3, sample_large, "step 1a Φ")

        # 1b: the gates become sparse: gated sums, L1 on the maps, f_N hidden from the head on half of the frames.
        def sparse_maps(out):
            return args.gate_l1 * saliency_models.gate_penalty(out[1:])

        large.gate_sum, large.context_dropout = True, 0.5
        train(large, args.sparsify_steps, 32, 5e-4, sample_large, "step 1b Φ", sparse_maps)
        torch.save(large.state_dict(), checkpoint("large"))
    large.eval()
    log(f"step 1 took {time.time() - step_start:.0f} s")
    evaluate("val", val_split, large, None, None)

    # Step 2: Φ' backbone alone (= S).
    torch.manual_seed(SEED + 2)
    baseline = saliency_models.SmallStream(propagation=False)
    step_start = time.time()
    if args.resume and os.path.exists(checkpoint("baseline")):
        baseline.load_state_dict(torch.load(checkpoint("baseline")))
    else:
        def sample_small(generator, batch):
            idx = torch.randint(len(train_split.labels), (batch,), generator=generator)
            x = network_input(train_split.frames[idx], half=True)
            if torch.rand(1, generator=generator).item() < 0.5:
                x = flip(x)
            return (x,), train_split.labels[idx]

        train(baseline, args.small_steps, 64, 3e-3, sample_small, "step 2 S")
        torch.save(baseline.state_dict(), checkpoint("baseline"))
    baseline.eval()
    log(f"step 2 took {time.time() - step_start:.0f} s")
    report("val S (small baseline)", *small_logits(baseline, val_split))

    # Step 3: propagation modules on the pre-trained Φ', maps from the frozen Φ k frames earlier.
    torch.manual_seed(SEED + 3)
    small = saliency_models.SmallStream(propagation=False)
    small.load_state_dict(baseline.state_dict())
    small.attach_propagation()
    step_start = time.time()
    if args.resume and os.path.exists(checkpoint("small")):
        small.load_state_dict(torch.load(checkpoint("small")))
    else:
        # Φ's maps for the first --map-sequences training sequences (Φ's forward pass is the costly part).
        pair_frames = (args.map_sequences or train_split.sequences) * train_split.length
        _, maps_a, maps_b = large_outputs(large, train_split, limit=pair_frames)
        log(f"Φ maps for {len(maps_a)} training frames in {time.time() - step_start:.0f} s")
        sources = torch.nonzero(train_split.frame_index[:pair_frames] >= max(DELAYS)).flatten()

        def sample_pairs(generator, batch):
            idx = sources[torch.randint(len(sources), (batch,), generator=generator)]
            k = torch.randint(min(DELAYS), max(DELAYS) + 1, (batch,), generator=generator)
            x = network_input(train_split.frames[idx], half=True)
            decay = torch.exp(-k.float() / TAU).view(-1, 1, 1, 1)
            s_a, s_b = maps_a[idx - k], maps_b[idx - k]
            if torch.rand(1, generator=generator).item() < 0.5:  # frame and maps flipped together
                x, s_a, s_b = flip(x), flip(s_a), flip(s_b)
            return (x, s_a, s_b, decay), train_split.labels[idx]

        train(small, args.prop_steps, 64, 1.5e-3, sample_pairs, "step 3 Φ'")
        torch.save(small.state_dict(), checkpoint("small"))
    small.eval()
    log(f"step 3 took {time.time() - step_start:.0f} s")
    log(f"training took {time.time() - total_start:.0f} s in all (rendering included)")
    evaluate("val", val_split, large, baseline, small)

    paths = export_onnx.export_all(large, small, baseline, args.out)
    for path in paths:
        log(f"wrote {path} ({os.path.getsize(path)} bytes)")

    test_split = Split("test", args.work)
    evaluate("test", test_split, large, baseline, small)
    return 0


if __name__ == "__main__":
    sys.exit(main())
