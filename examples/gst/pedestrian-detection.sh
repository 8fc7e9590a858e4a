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
video=/usr/share/doc/opencv-doc/examples/data/vtest.avi
out="${1:-pedestrian-detection.avi}"
png="${2:-pedestrian-detection.png}"
model="${MODEL:-$models/pretrained/ssdlite_mbv2_pedestrian_300.onnx}"
frames="${FRAMES:-100}"
shots="$(mktemp -d)"
trap 'rm -rf "$shots"' EXIT

# The PNG branch keeps its two newest files; the older, the last frame but one,
# is saved (the very last frame decoded before EOS is not always the one the
# frame count names: the decoder may have run ahead).
gst-launch-1.0 -e filesrc location="$video" ! decodebin ! videoconvert ! video/x-raw,format=RGB ! \
  identity eos-after="$frames" ! \
  cbinferconv model="$model" mode="${MODE:-dense}" threshold="${THRESHOLD:-0.05}" refresh-interval=100 ! \
  sparseinferoverlay ! tee name=t \
  t. ! queue ! videoconvert ! avenc_mpeg4 bitrate=4000000 ! avimux ! filesink location="$out" \
  t. ! queue ! videoconvert ! pngenc ! multifilesink location="$shots/%05d.png" max-files=2
cp "$(ls "$shots"/*.png | head -n 1)" "$png"
echo "wrote $out and $png"
