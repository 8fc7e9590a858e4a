#!/usr/bin/env bash
# A live camera (dashcam, CCTV) through the scene-labeling network: v4l2src is
# live, so the sink drops late frames and cbinferconv skips inference on frames
# that would be late (QoS); the element's processing time is part of the
# pipeline latency. The queue is sized in time, not buffers: with
# refresh-interval the reported latency covers a refresh (a frame at threshold
# 0 that costs what moved since the layers last computed), and the queue
# must hold the frames that arrive meanwhile (a 2-buffer leaky queue let 45 of
# 300 frames through at 320x240; this one all 300). A dropped frame does not
# reset the change-mode state. Without a display the annotated video goes to a file.
#   examples/gst/dashcam-v4l2.sh [/dev/videoN] [MODEL] [THRESHOLDS.json]
set -euo pipefail
source "$(dirname "$0")/common.sh"
device="${1:-/dev/video0}"
model="${2:-$models/cbinfer_scenelabel.onnx}"
thresholds=()
[ -n "${3:-}" ] && thresholds=(thresholds-file="$3")

if have_display; then
  sink=(videoconvert ! autovideosink)
else
  sink=(videoconvert ! avenc_mpeg4 ! avimux ! filesink location=dashcam-annotated.avi)
fi
gst-launch-1.0 -e v4l2src device="$device" ! videoconvert ! videoscale ! video/x-raw,format=BGRx,width=320,height=240 ! \
  queue max-size-buffers=0 max-size-bytes=0 max-size-time=2000000000 leaky=downstream ! \
  cbinferconv model="$model" threshold=0.1 "${thresholds[@]}" refresh-interval=250 emit-stats=true ! \
  sparseinferoverlay change-mask=true ! "${sink[@]}"
