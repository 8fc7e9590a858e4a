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
video=/usr/share/doc/opencv-doc/examples/data/vtest.avi
out="${1:-person-mask.avi}"
png="${2:-person-mask.png}"
model="$models/pretrained/mp_selfie_segmentation_dyn.onnx"
frames="${FRAMES:-100}"
shots="$(mktemp -d)"
trap 'rm -rf "$shots"' EXIT

# The PNG branch keeps its two newest files; the older, the last frame but one,
# is saved (the very last frame decoded before EOS is not always the one the
# frame count names: the decoder may have run ahead).
gst-launch-1.0 -e filesrc location="$video" ! decodebin ! videoconvert ! video/x-raw,format=RGB ! \
  identity eos-after="$frames" ! \
  cbinferconv model="$model" mode="${MODE:-dense}" threshold="${THRESHOLD:-0.05}" refresh-interval=100 ! \
  sparseinferoverlay segmentation-opacity=0.5 ! tee name=t \
  t. ! queue ! videoconvert ! avenc_mpeg4 bitrate=4000000 ! avimux ! filesink location="$out" \
  t. ! queue ! videoconvert ! pngenc ! multifilesink location="$shots/%05d.png" max-files=2
cp "$(ls "$shots"/*.png | head -n 1)" "$png"
echo "wrote $out and $png"
