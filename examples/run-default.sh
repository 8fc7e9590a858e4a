#!/usr/bin/env bash
# The main job on a default input: sets up the machine, then runs the
# CBinfer scene-labeling network over the opening frames of vtest.avi (a
# static surveillance camera, from Debian's opencv-doc) with our engine and
# with PyTorch, side by side, and prints the benchmark's JSON lines.
set -euo pipefail
cd "$(dirname "$0")/.."
tests/setup-debian.sh
video=/usr/share/doc/opencv-doc/examples/data/vtest.avi
model=examples/models/cbinfer_scenelabel.onnx
build/core/cli/sparseinfer info "$model" --size 768x576
tests/bench/bench --model "$model" --video "$video" --frames "${FRAMES:-20}" --size 768x576 --modes dense --reference torch
