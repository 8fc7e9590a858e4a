#!/usr/bin/env bash
# Makes (once) the Python environment that holds the benchmark and test peers,
# ONNX Runtime and OpenVINO from PyPI, and prints its python. The product never
# links them. The venv sees Debian's numpy and onnx (system site packages), so
# nothing from Debian is replaced.
#   SPARSEINFER_PEER_VENV   where the venv lives (default: build/peer-venv)
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=${SPARSEINFER_PEER_VENV:-${BUILDDIR:-build}/peer-venv}
pins=(onnxruntime==1.32.0 openvino==2026.4.1)
stamp="$venv/.sparseinfer-pins"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "${pins[*]}" ]; then
  [ -x "$venv/bin/python" ] || /usr/bin/python3 -m venv --system-site-packages "$venv" >&2
  "$venv/bin/pip" install -q --disable-pip-version-check "${pins[@]}" >&2
  echo "${pins[*]}" >"$stamp"
fi
echo "$venv/bin/python"
