#!/usr/bin/env bash
# vtest.avi (a static surveillance camera, Debian package opencv-doc) through
# the detector and the overlay, written to an annotated AVI (MPEG-4 part 2 from
# gstreamer1.0-libav), and shown in a window when a display exists.
#   examples/gst/vtest-annotated.sh [OUT.avi] [MODEL]   (env: FRAMES=N, default 200)
set -euo pipefail
source "$(dirname "$0")/common.sh"
video=/usr/share/doc/opencv-doc/examples/data/vtest.avi
out="${1:-vtest-annotated.avi}"
model="${2:-$models/detnet_small.onnx}"
frames="${FRAMES:-200}"

gst-launch-1.0 -e filesrc location="$video" ! decodebin ! videoconvert ! videoscale ! \
  video/x-raw,format=RGB,width=384,height=288 ! identity eos-after="$frames" ! \
  cbinferconv model="$model" threshold=0.1 refresh-interval=100 score-threshold=0.6 ! \
  sparseinferoverlay change-mask=true labels="person,car,bike" ! videoconvert ! \
  avenc_mpeg4 bitrate=2000000 ! avimux ! filesink location="$out"
echo "wrote $out"

if have_display; then
  gst-launch-1.0 filesrc location="$video" ! decodebin ! videoconvert ! videoscale ! \
    video/x-raw,format=RGB,width=384,height=288 ! \
    cbinferconv model="$model" threshold=0.1 ! sparseinferoverlay change-mask=true ! \
    videoconvert ! autovideosink
fi
