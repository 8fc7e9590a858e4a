#!/usr/bin/env bash
# No file, no camera: a moving ball segmented by segnet_small, the change mask
# drawn as a heat map, each frame's statistics printed (emit-stats + -m).
#   examples/gst/videotestsrc.sh [FRAMES]
set -euo pipefail
source "$(dirname "$0")/common.sh"
frames="${1:-60}"
if have_display; then
  sink=(videoconvert ! autovideosink)
else
  sink=(fakesink)
fi
gst-launch-1.0 -m videotestsrc num-buffers="$frames" pattern=ball ! video/x-raw,width=320,height=240 ! videoconvert ! \
  cbinferconv model="$models/segnet_small.onnx" threshold=0.05 emit-stats=true ! \
  sparseinferoverlay change-mask=true ! "${sink[@]}" | grep --line-buffered -E "sparseinfer-frame-stats|ERROR" || true
