#!/usr/bin/env bash
# Installs what sparseinfer needs on Debian bookworm (idempotent: apt runs only
# when a package is missing), builds it, and makes the example models that are
# too big to keep in git. Run as root (or it uses sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential pkg-config meson ninja-build
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev gstreamer1.0-tools
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-libav
  libonnx-dev libonnx-testdata libprotobuf-dev protobuf-compiler nlohmann-json3-dev
  libopenblas-dev libopencv-dev libgtest-dev opencv-doc
  python3 python3-venv python3-numpy python3-torch python3-onnx python3-matplotlib
  python3-gi gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0
  libmosquitto-dev mosquitto python3-paho-mqtt
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

builddir=${BUILDDIR:-build}
[ -f "$builddir/build.ninja" ] || meson setup "$builddir" -Dbuildtype=release
ninja -C "$builddir"

# Models under ~5 MB are committed; the larger ones are regenerated (seeded,
# byte-identical) by the script that made the committed ones.
/usr/bin/python3 examples/models/make_models.py --out examples/models --missing-only

# The peers that tests and benchmarks compare against (ONNX Runtime, OpenVINO),
# from PyPI into a venv of their own; the product does not use them.
BUILDDIR=$builddir tests/peers/peer-venv.sh >/dev/null
