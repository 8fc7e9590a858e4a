#!/usr/bin/env bash
# Pedestrian detection on vtest.avi (a static surveillance camera, Debian
# package opencv-doc) with the pretrained SSDLite MobileNetV2 at its 300x300
# input (cbinferconv resizes the 768x576 frames; the free-size model at 768x576
# adds large false boxes, as the reference decoder shows). The model description
# beside it (ssdlite_mbv2_pedestrian_300.onnx.json) gives the preprocessing and
# the SSD decoder; the boxes ride on the frames as GstVideoRegionOfInterestMeta
# and sparseinferoverlay draws them with label and confidence. Writes an
# annotated AVI (MPEG-4 part 2 from gstreamer1.0-libav) and the last frame but
# one as PNG.
# Dense by default: on this network change mode (CBinfer) still recomputes
# over 90% of the MACs of vtest's noisy frames and its scattered depthwise
# layers cost more than they save; MODE=change runs it anyway.
#   examples/gst/pedestrian-detection.sh [OUT.avi] [OUT.png]
#   env: MODEL=path, FRAMES=N (default 100), MODE=dense|change (default dense), THRESHOLD=T (change mode, default 0.05)
set -euo pipefail
source "$(dirname "$0")/common.sh"
annotate_vtest "${MODEL:-$models/pretrained/ssdlite_mbv2_pedestrian_300.onnx}" \
  "${1:-pedestrian-detection.avi}" "${2:-pedestrian-detection.png}"
