# Sourced by the example scripts: finds the plugin in the build tree and the models.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
builddir="${BUILDDIR:-$root/build}"
if [ ! -f "$builddir/gst/libgstsparseinfer.so" ]; then
  echo "the plugin is not built: meson setup $builddir && ninja -C $builddir (or set BUILDDIR)" >&2
  exit 1
fi
export GST_PLUGIN_PATH="$builddir/gst${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
models="$root/examples/models"
# A window only where there is a display to open it on.
have_display() { [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; }

# annotate_vtest MODEL OUT.avi OUT.png [OVERLAY-PROPERTY ...]: runs the first
# $FRAMES (default 100) frames of vtest.avi through cbinferconv (MODE dense or
# change, THRESHOLD in change mode) and sparseinferoverlay. It writes an AVI
# (MPEG-4 part 2 from gstreamer1.0-libav) and the last frame but one as PNG:
# the PNG branch keeps its two newest files and the older is saved, because
# the very last frame decoded before EOS is not always the one the frame count
# names (the decoder may have run ahead).
annotate_vtest() {
  local model="$1" out="$2" png="$3"
  shift 3
  local shots
  shots="$(mktemp -d)"
  gst-launch-1.0 -e filesrc location=/usr/share/doc/opencv-doc/examples/data/vtest.avi ! decodebin ! \
    videoconvert ! video/x-raw,format=RGB ! identity eos-after="${FRAMES:-100}" ! \
    cbinferconv model="$model" mode="${MODE:-dense}" threshold="${THRESHOLD:-0.05}" refresh-interval=100 ! \
    sparseinferoverlay "$@" ! tee name=t \
    t. ! queue ! videoconvert ! avenc_mpeg4 bitrate=4000000 ! avimux ! filesink location="$out" \
    t. ! queue ! videoconvert ! pngenc ! multifilesink location="$shots/%05d.png" max-files=2
  cp "$(ls "$shots"/*.png | head -n 1)" "$png"
  rm -rf "$shots"
  echo "wrote $out and $png"
}
