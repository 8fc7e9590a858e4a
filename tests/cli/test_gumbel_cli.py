#!/usr/bin/python3
"""`sparseinfer stream --gate gumbel --gates-file F` end to end: the selfie
segmenter's committed Skip-Conv Gumbel gates on vtest frames, in change mode.

Checks that the gates skip work after the dense first frame and stay close to
the dense engine, that the logit cut (--threshold) trades work for accuracy,
and that bad files and bad settings are refused by name.

Usage: test_gumbel_cli.py PATH/TO/sparseinfer MODELS_DIR
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

SPARSEINFER = None
MODELS = None
VIDEO = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"


def stream(*extra, model="pretrained/mp_selfie_segmentation.onnx"):
    command = [SPARSEINFER, "stream", os.path.join(MODELS, model), "--video", VIDEO, "--frames", "6",
               "--start", "200", "--threads", "1", *map(str, extra)]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def gates():
    return os.path.join(MODELS, "pretrained", "mp_selfie_segmentation.gumbel_gates.json")


def frames_of(result):
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


class GumbelCliTest(unittest.TestCase):
    def setUp(self):
        for path in (VIDEO, gates()):
            self.assertTrue(os.path.exists(path), path + " is missing")
        self.tmp = tempfile.TemporaryDirectory(prefix="sparseinfer_gumbel_cli_")

    def tearDown(self):
        self.tmp.cleanup()

    def test_skips_work_and_stays_close(self):
        r = stream("--gate", "gumbel", "--gates-file", gates(), "--compare-dense")
        self.assertEqual(r.returncode, 0, r.stderr)
        frames = frames_of(r)
        self.assertEqual(len(frames), 6)
        self.assertEqual(frames[0]["mac_fraction"], 1.0)
        self.assertLess(max(f["mac_fraction"] for f in frames[1:]), 0.9)
        self.assertLess(max(f["max_abs_diff"] for f in frames[1:]), 0.9)

    def test_logit_cut_trades_work(self):
        low = frames_of(stream("--gate", "gumbel", "--gates-file", gates()))
        high = frames_of(stream("--gate", "gumbel", "--gates-file", gates(), "--threshold", "3"))
        self.assertLess(sum(f["mac_fraction"] for f in high[1:]), sum(f["mac_fraction"] for f in low[1:]))

    def test_bad_settings_refused(self):
        r = stream("--gate", "gumbel")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("--gates-file", r.stderr)
        r = stream("--gates-file", gates())
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("--gate gumbel", r.stderr)
        r = stream("--gate", "gumbel", "--gates-file", gates(), "--mode", "dense")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("change", r.stderr)

    def test_bad_files_refused_by_name(self):
        missing = os.path.join(self.tmp.name, "none.json")
        r = stream("--gate", "gumbel", "--gates-file", missing)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(missing, r.stderr)
        with open(gates()) as f:
            j = json.load(f)
        layer = sorted(j["layers"])[0]
        j["layers"][layer]["weight_abs"] = j["layers"][layer]["weight_abs"][:-1]
        short = os.path.join(self.tmp.name, "short.json")
        with open(short, "w") as f:
            json.dump(j, f)
        r = stream("--gate", "gumbel", "--gates-file", short)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(layer, r.stderr)
        self.assertIn("weight_abs", r.stderr)
        # Gates of one model on another: a layer it does not have.
        r = stream("--gate", "gumbel", "--gates-file", gates(), model="cbinfer_personlabel.onnx")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(gates(), r.stderr)


if __name__ == "__main__":
    SPARSEINFER, MODELS = sys.argv[1], sys.argv[2]
    unittest.main(argv=sys.argv[:1], verbosity=2)
