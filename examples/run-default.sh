#!/usr/bin/env bash
# The main job on the default input: sets up the machine, then runs
# vtest.avi (a static surveillance camera, Debian package opencv-doc) at its
# full size, 768x576, through cbinferconv with the CBinfer Table I network
# trained to label people (cbinfer_personlabel) in change mode with its
# calibrated thresholds, draws the results with sparseinferoverlay into an
# annotated video, runs the same frames in dense mode, and prints a summary
# (fps of both, speedup, mean changed fraction, where the video was written).
# The colour-region scene-labelling network runs with
# MODEL=examples/models/cbinfer_scenelabel.onnx SIZE=384x288
# THRESHOLDS=tests/bench/results/cbinfer_scenelabel_384x288.thresholds.json
# (its thresholds are small, so it gains less: see README, Benchmarks).
#   examples/run-default.sh [OUT.avi]     (env: FRAMES=N, default 100)
set -euo pipefail
cd "$(dirname "$0")/.."
tests/setup-debian.sh
export GST_PLUGIN_PATH="$PWD/build/gst"
export LD_LIBRARY_PATH="$PWD/build/gst/meta${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
examples/pipeline_summary.py \
  --model "${MODEL:-examples/models/cbinfer_personlabel.onnx}" \
  --thresholds "${THRESHOLDS:-tests/bench/results/cbinfer_personlabel.thresholds.json}" \
  --video /usr/share/doc/opencv-doc/examples/data/vtest.avi \
  --size "${SIZE:-768x576}" --frames "${FRAMES:-100}" --out "${1:-$PWD/vtest-annotated.avi}"
