#!/usr/bin/env bash
# The main job on the default input: sets up the machine, then runs
# vtest.avi (a static surveillance camera, Debian package opencv-doc) through
# cbinferconv with the CBinfer scene-labeling network in change mode and its
# calibrated thresholds, draws the results with sparseinferoverlay into an
# annotated video, runs the same frames in dense mode, and prints a summary
# (fps of both, speedup, mean changed fraction, where the video was written).
# It runs at 384x288 with thresholds calibrated at that size; SIZE=768x576
# THRESHOLDS=tests/bench/results/cbinfer_scenelabel.thresholds.json runs at
# the camera's full size (slower, and less gain: see README, Benchmarks).
# MODEL=examples/models/cbinfer_personlabel.onnx SIZE=768x576
# THRESHOLDS=tests/bench/results/cbinfer_personlabel.thresholds.json runs the
# person-labelling network, which skips most of the work at that size.
#   examples/run-default.sh [OUT.avi]     (env: FRAMES=N, default 100)
set -euo pipefail
cd "$(dirname "$0")/.."
tests/setup-debian.sh
export GST_PLUGIN_PATH="$PWD/build/gst"
export LD_LIBRARY_PATH="$PWD/build/gst/meta${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
examples/pipeline_summary.py \
  --model "${MODEL:-examples/models/cbinfer_scenelabel.onnx}" \
  --thresholds "${THRESHOLDS:-tests/bench/results/cbinfer_scenelabel_384x288.thresholds.json}" \
  --video /usr/share/doc/opencv-doc/examples/data/vtest.avi \
  --size "${SIZE:-384x288}" --frames "${FRAMES:-100}" --out "${1:-$PWD/vtest-annotated.avi}"
