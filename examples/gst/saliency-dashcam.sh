#!/usr/bin/env bash
# Saliency dual-stream classification of traffic-light scenes: the large model
# every PERIOD frames, the small one fusing its decayed saliency maps in between;
# the overlay writes the label and which network ran into the video.
#   examples/gst/saliency-dashcam.sh [OUTPUT.avi] [PERIOD] [fixed|adaptive]
# Frames: the test split of examples/models/saliency/traffic_scenes.py, rendered
# with /usr/bin/python3 (torch-free numpy); without it, videotestsrc.
set -euo pipefail
source "$(dirname "$0")/common.sh"
out="${1:-saliency-dashcam.avi}"
period="${2:-3}"
schedule="${3:-fixed}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# Renders the first test sequences as raw RGB frames; prints "WIDTH HEIGHT FRAMES".
render() {
  /usr/bin/python3 - "$root/examples/models/saliency" "$tmp/frames.rgb" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np
import traffic_scenes
sequences = traffic_scenes.render_split("test", seed=0)[:4]
frames = np.concatenate([s.frames for s in sequences])
frames.astype(np.uint8).tofile(sys.argv[2])
print(frames.shape[2], frames.shape[1], frames.shape[0])
PY
}

if size=$(render 2>/dev/null); then
  read -r w h n <<<"$size"
  src=(filesrc location="$tmp/frames.rgb" ! rawvideoparse format=rgb width="$w" height="$h" framerate=10/1)
  echo "rendered $n frames of ${w}x${h} from the test split"
else
  echo "could not render traffic scenes; using videotestsrc" >&2
  src=(videotestsrc num-buffers=90 pattern=ball ! video/x-raw,format=RGB,width=512,height=256,framerate=10/1)
fi

gst-launch-1.0 -q "${src[@]}" ! \
  saliencyscheduler large-model="$models/saliency_large.onnx" small-model="$models/saliency_small.onnx" \
    period="$period" schedule="$schedule" ! \
  sparseinferoverlay text-scale=1 ! videoconvert ! avenc_mpeg4 ! avimux ! filesink location="$out"
echo "wrote $out"
