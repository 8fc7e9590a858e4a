#!/usr/bin/env bash
# The test command: sets up a fresh Debian machine, builds, runs every test
# suite (unit, ONNX conformance, PyTorch reference, CLI) and ends with a
# "N passed, N failed" line.
set -uo pipefail
cd "$(dirname "$0")/.."
builddir=${BUILDDIR:-build}
BUILDDIR=$builddir tests/setup-debian.sh || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }

meson test -C "$builddir" --print-errorlogs --num-processes 1 "$@"
status=$?
/usr/bin/python3 - "$builddir/meson-logs/testlog.json" <<'PY'
import json, sys
passed = failed = skipped = 0
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    if r in ("OK", "EXPECTEDFAIL"): passed += 1
    elif r == "SKIP": skipped += 1
    else: failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY
exit $status
