#!/usr/bin/python3
"""The BlockCopy policy net (core/policy/policy_net.cpp) against PyTorch.

Builds the same small ResNet in PyTorch (python3-torch), gives it seeded random
weights, and compares with the C++ net (through policy_torch_tool) on one
random policy input at 768x576 / 4 and at a small odd-shaped size: the logits
of the forward pass, and the gradient of every weight and bias for one
REINFORCE loss (BlockCopy eq. 7, mean over blocks) with sampled actions and
random rewards. Every tensor must agree within 1e-4 of its largest magnitude.

Usage: policy_torch_reference.py --tool PATH
"""

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

RELATIVE_TOLERANCE = 1e-4


class PolicyNet(torch.nn.Module):
    """stem s2, residual block, down s2, residual block, down s2, residual block, 1x1 head."""

    def __init__(self, cin, widths):
        super().__init__()
        w0, w1, w2 = widths
        shapes = [(cin, w0, 3, 2), (w0, w0, 3, 1), (w0, w0, 3, 1),
                  (w0, w1, 3, 2), (w1, w1, 3, 1), (w1, w1, 3, 1),
                  (w1, w2, 3, 2), (w2, w2, 3, 1), (w2, w2, 3, 1),
                  (w2, 1, 1, 1)]
        self.convs = torch.nn.ModuleList(
            torch.nn.Conv2d(i, o, k, stride=s, padding=k // 2, bias=True) for i, o, k, s in shapes)

    def forward(self, x):
        c = self.convs
        for stage in range(3):
            down = F.relu(c[3 * stage](x))
            x = F.relu(c[3 * stage + 2](F.relu(c[3 * stage + 1](down))) + down)
        return c[9](x)[0, 0]

    def flat(self, use_grad):
        parts = []
        for conv in self.convs:
            for p in (conv.weight, conv.bias):
                parts.append((p.grad if use_grad else p.data).reshape(-1))
        return torch.cat(parts).detach().numpy().astype(np.float32)


def compare(name, ours, reference):
    scale = float(np.max(np.abs(reference)))
    error = float(np.max(np.abs(ours - reference)))
    ok = error <= RELATIVE_TOLERANCE * max(scale, 1e-12) and scale > 0
    print(f"  {name}: max |diff| {error:.3e}, largest magnitude {scale:.3e}, relative {error / max(scale, 1e-30):.2e}"
          f" {'ok' if ok else 'FAIL'}")
    return ok


def run_case(tool, cin, widths, height, width, seed):
    print(f"case: {cin} input channels, widths {widths}, input {width}x{height}")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = PolicyNet(cin, widths).double()
    with torch.no_grad():
        for conv in net.convs:
            conv.bias.uniform_(-0.1, 0.1)
    x = rng.uniform(-0.5, 0.5, size=(1, cin, height, width)).astype(np.float32)
    # Float32 weights and input, computed in float64 by PyTorch as the reference.
    with torch.no_grad():
        for conv in net.convs:
            conv.weight.copy_(conv.weight.float().double())
            conv.bias.copy_(conv.bias.float().double())
    logits = net(torch.from_numpy(x).double())
    probs = torch.sigmoid(logits)
    actions = torch.from_numpy((rng.uniform(size=tuple(logits.shape)) < probs.detach().numpy()).astype(np.float64))
    rewards = torch.from_numpy(rng.uniform(-1, 1, size=tuple(logits.shape)))
    log_pi = actions * torch.log(probs) + (1 - actions) * torch.log(1 - probs)
    loss = -(rewards * log_pi).mean()
    loss.backward()
    with tempfile.TemporaryDirectory() as d:
        np.save(os.path.join(d, "config.npy"), np.array([cin, *widths, height, width], dtype=np.int64))
        np.save(os.path.join(d, "params.npy"), net.flat(False))
        np.save(os.path.join(d, "input.npy"), x[0])
        np.save(os.path.join(d, "actions.npy"), actions.numpy().astype(np.float32))
        np.save(os.path.join(d, "rewards.npy"), rewards.numpy().astype(np.float32))
        result = subprocess.run([tool, d], capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            print(f"  {tool} failed ({result.returncode}): {result.stderr.strip()}")
            return False
        ours_logits = np.load(os.path.join(d, "logits.npy"))
        ours_grads = np.load(os.path.join(d, "grads.npy"))
    ok = compare("logits", ours_logits, logits.detach().numpy())
    reference_grads = net.flat(True)
    offset = 0
    for i, conv in enumerate(net.convs):
        for kind, p in (("weight", conv.weight), ("bias", conv.bias)):
            n = p.numel()
            ok &= compare(f"conv {i} {kind} gradient", ours_grads[offset:offset + n], reference_grads[offset:offset + n])
            offset += n
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tool", required=True)
    args = parser.parse_args()
    if not os.path.isfile(args.tool):
        print(f"policy_torch_reference: {args.tool} not found")
        return 1
    ok = run_case(args.tool, 8, (16, 32, 32), 144, 192, 1)
    ok &= run_case(args.tool, 5, (4, 6, 5), 24, 40, 2)
    print("policy net vs PyTorch:", "ok" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
