#!/usr/bin/python3
"""The gate kinds (docs/gates.md) through the command line: `sparseinfer stream
--gate KIND` equals the dense engine at threshold 0 on vtest for every kind,
block mode takes the structured kinds as its block gate, `calibrate --gate`
and `sparseinfer-bench --gate` run the chosen gate, and bad choices are
refused by name.

Usage: test_gates_cli.py PATH/TO/sparseinfer PATH/TO/sparseinfer-bench MODELS_DIR
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

VIDEO = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"
KINDS = ["threshold", "input-norm", "output-norm", "input-norm-2x2", "input-norm-4x4", "input-norm-8x8",
         "output-norm-2x2", "output-norm-4x4", "output-norm-8x8"]
CLI = BENCH = MODEL = None


def run(*args):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=600)


def lines_of(result):
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


class GatesCliTest(unittest.TestCase):
    def test_video_is_there(self):
        self.assertTrue(os.path.isfile(VIDEO), f"{VIDEO} is missing (Debian package opencv-doc)")

    def test_every_kind_equals_dense_at_threshold_zero(self):
        for kind in KINDS:
            r = run(CLI, "stream", MODEL, "--video", VIDEO, "--size", "192x144", "--frames", "4", "--threads", "1",
                    "--gate", kind, "--threshold", "0", "--compare-dense")
            self.assertEqual(r.returncode, 0, kind + ": " + r.stderr)
            frames = lines_of(r)
            self.assertEqual(len(frames), 4, kind)
            for f in frames:
                self.assertEqual(f["agreement"], 1.0, kind)
                self.assertLess(f["max_abs_diff"], 1e-4, kind)

    def test_a_higher_threshold_skips_more(self):
        fractions = []
        for t in ("0.5", "50"):
            r = run(CLI, "stream", MODEL, "--video", VIDEO, "--size", "192x144", "--frames", "3", "--threads", "1",
                    "--gate", "output-norm-4x4", "--threshold", t)
            self.assertEqual(r.returncode, 0, r.stderr)
            fractions.append(lines_of(r)[-1]["mac_fraction"])
        self.assertLess(fractions[1], fractions[0])

    def test_block_mode_structured_gates(self):
        r = run(CLI, "stream", MODEL, "--video", VIDEO, "--size", "192x144", "--frames", "3", "--threads", "1",
                "--mode", "block", "--block-size", "16", "--gate", "input-norm-8x8", "--block-threshold", "1e9")
        self.assertEqual(r.returncode, 0, r.stderr)
        frames = lines_of(r)
        self.assertEqual(frames[0]["executed_fraction"], 1.0)  # the first frame runs in full
        self.assertEqual(frames[2]["executed_fraction"], 0.0)  # nothing passes a huge threshold
        r = run(CLI, "stream", MODEL, "--video", VIDEO, "--size", "192x144", "--frames", "2", "--mode", "block",
                "--gate", "input-norm")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("structured", r.stderr)

    def test_bad_choices_are_refused(self):
        r = run(CLI, "stream", MODEL, "--video", VIDEO, "--frames", "1", "--gate", "l2-norm")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--gate l2-norm", r.stderr)
        self.assertIn("output-norm-4x4", r.stderr)  # the choices are listed
        r = run(CLI, "stream", MODEL, "--video", VIDEO, "--frames", "1", "--mode", "dense", "--gate", "input-norm")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--gate", r.stderr)

    def test_calibrate_with_a_gate(self):
        with tempfile.TemporaryDirectory(prefix="sparseinfer_gates_cli_") as tmp:
            out = os.path.join(tmp, "t.json")
            r = run(CLI, "calibrate", MODEL, "--video", VIDEO, "--size", "96x72", "--frames", "3", "--threads", "1",
                    "--max-loss", "0.01", "--gate", "input-norm-4x4", "--out", out)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(out) as f:
                self.assertTrue(json.load(f))
            r = run(CLI, "calibrate", MODEL, "--video", VIDEO, "--size", "96x72", "--frames", "3", "--max-loss", "0.01",
                    "--gate", "l2-norm", "--out", out)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("l2-norm", r.stderr)

    def test_bench_runs_the_gate(self):
        r = run(BENCH, "--model", MODEL, "--video", VIDEO, "--size", "192x144", "--frames", "4", "--threads", "1",
                "--modes", "dense,change", "--threshold", "0", "--gate", "output-norm-2x2")
        self.assertEqual(r.returncode, 0, r.stderr)
        change = [line for line in lines_of(r) if line["mode"] == "change"][0]
        self.assertEqual(change["gate"], "output-norm-2x2")
        self.assertEqual(change["agreement_min"], 1.0)
        r = run(BENCH, "--model", MODEL, "--video", VIDEO, "--size", "192x144", "--frames", "2", "--gate", "l2-norm")
        self.assertEqual(r.returncode, 2)
        self.assertIn("l2-norm", r.stderr)


if __name__ == "__main__":
    CLI, BENCH, models = sys.argv[1], sys.argv[2], sys.argv[3]
    MODEL = os.path.join(models, "cbinfer_personlabel.onnx")
    unittest.main(argv=sys.argv[:1], verbosity=2)
