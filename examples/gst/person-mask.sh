#!/usr/bin/env bash
# Person masks on vtest.avi (Debian package opencv-doc) with the pretrained
# MediaPipe selfie segmenter at the clip's own 768x576 (free-size model).
# The model description beside it
# (mp_selfie_segmentation_dyn.onnx.json) gives the preprocessing and the
# segmentation decoder; the class map rides on the frames in the tensor meta
# and sparseinferoverlay tints the people only, leaving the background as it
# is. Writes an annotated AVI (MPEG-4 part 2 from gstreamer1.0-libav) and the
# last frame but one as PNG. Dense by default; MODE=change runs CBinfer.
#   examples/gst/person-mask.sh [OUT.avi] [OUT.png]
#   env: FRAMES=N (default 100), MODE=dense|change (default dense), THRESHOLD=T (change mode, default 0.05)
set -euo pipefail
source "$(dirname "$0")/common.sh"
annotate_vtest "$models/pretrained/mp_selfie_segmentation_dyn.onnx" "${1:-person-mask.avi}" "${2:-person-mask.png}" \
  segmentation-opacity=0.5
