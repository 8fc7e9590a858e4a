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
