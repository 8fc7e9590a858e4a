#!/usr/bin/env python3
"""Runs the shared reference decoder (../shared/models/reference_decode.py) with
the same arguments, but with this suite's frame decoding.

Why: the reference decoder stops its gst-launch-1.0 decode with
`identity eos-after=N` right after the last frame it wants, and the last frame
before that EOS does not always reach the filesink (CI saw 3 frames of 4, then
an IndexError in the decoder). model_frames.decode_frames runs the very same
pipeline (same caps, videoscale bilinear) but stops one frame later and checks
the count, so the oracle sees the same pixels and never a short file. Only the
decode is replaced; the model, anchors, NMS and mask code are the shared file's.
../shared is not ours to edit, so the wrapper lives here."""
import importlib.util
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model_frames as mf  # noqa: E402

ORACLE = os.path.join(mf.ROOT, "..", "shared", "models", "reference_decode.py")


def main():
    spec = importlib.util.spec_from_file_location("reference_decode", mf.require(ORACLE, "the reference decoder"))
    oracle = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(oracle)
    tmp = tempfile.mkdtemp(prefix="sparseinfer-oracle-")

    def decode_frames(video, wanted, w, h):
        return mf.decode_frames(w, h, wanted, tmp, video=video)

    oracle.decode_frames = decode_frames
    sys.argv = [ORACLE] + sys.argv[1:]
    try:
        return oracle.main()
    finally:
        os.rmdir(tmp)


if __name__ == "__main__":
    sys.exit(main())
