"""Shared by the pretrained-model tests: the models, vtest.avi frames decoded
and scaled exactly as ../shared/models/reference_decode.py does it, and the
python that has ONNX Runtime and OpenVINO (tests/peers/peer-venv.sh)."""
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PRETRAINED = os.path.join(ROOT, "examples", "models", "pretrained")
VIDEO = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"
CLIP_SIZE = (768, 576)
FRAMES = [0, 100, 200]


def require(path, what):
    """A missing input fails the test (never skips it)."""
    if not os.path.exists(path):
        sys.exit(f"FAIL: {what} is missing: {path}")
    return path


def peer_python():
    """The python of the venv with onnxruntime and openvino (tests/peers/peer-venv.sh)."""
    out = subprocess.run([os.path.join(ROOT, "tests", "peers", "peer-venv.sh")], check=True, capture_output=True,
                         text=True, cwd=ROOT)
    return out.stdout.strip().splitlines()[-1]


def reexec_in_peer_venv():
    """Runs this script again under the peer venv's python unless onnxruntime imports here."""
    try:
        import onnxruntime  # noqa: F401
        import openvino  # noqa: F401
    except ImportError:
        if os.environ.get("SPARSEINFER_IN_PEER_VENV"):
            sys.exit("FAIL: the peer venv has no onnxruntime/openvino")
        py = peer_python()
        os.environ["SPARSEINFER_IN_PEER_VENV"] = "1"
        os.execv(py, [py] + sys.argv)


def decode_frames(width, height, wanted, workdir, video=VIDEO):
    """Frames `wanted` of `video` as RGB uint8 [h, w, 3], scaled by gst-launch-1.0 videoscale to
    width x height: reference_decode.py's pipeline. The pipeline stops one frame after the last wanted one:
    the frame just before `identity eos-after` ends the stream differs from run to run, and in about one
    run of fifteen it never reaches the file (measured on vtest.avi), so it is never used nor required."""
    require(video, "the clip (vtest.avi: Debian package opencv-doc)")
    out = os.path.join(workdir, f"{os.path.basename(video)}_{width}x{height}.rgb")
    n = max(wanted) + 1
    subprocess.run(["gst-launch-1.0", "-q", "filesrc", f"location={video}", "!", "decodebin", "!", "videoconvert", "!",
                    "videoscale", "!", f"video/x-raw,format=RGB,width={width},height={height}", "!", "identity",
                    f"eos-after={n + 1}", "!", "filesink", f"location={out}"], check=True)
    a = np.fromfile(out, np.uint8)
    os.remove(out)
    frame = width * height * 3
    if a.size < n * frame:
        sys.exit(f"FAIL: gst-launch-1.0 decoded {a.size // frame} frames of {video}, wanted {n}")
    a = a[: n * frame].reshape(n, height, width, 3)
    return {i: a[i] for i in wanted}


def sparseinfer_binary():
    build = os.environ.get("SPARSEINFER_BUILD_DIR", os.path.join(ROOT, "build"))
    return require(os.path.join(build, "core", "cli", "sparseinfer"), "the sparseinfer binary")
