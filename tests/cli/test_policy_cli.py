#!/usr/bin/python3
"""`sparseinfer stream --mode block --gate policy` end to end: the BlockCopy policy
gate on a real model (examples/models/segnet_small.onnx, with its segmentation
description) over synthetic frames.

Checks that the first frame executes every block and later frames follow the
policy, that the same seed gives the same decisions, that --policy-file is
written and read back (a camera keeps what it learned), and that bad files and
bad settings are refused by name.

Usage: test_policy_cli.py PATH/TO/sparseinfer MODELS_DIR
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

SPARSEINFER = None
MODEL = None


def stream(*extra):
    command = [SPARSEINFER, "stream", MODEL, "--video", "synthetic", "--size", "64x64", "--frames", "9",
               "--mode", "block", "--block-size", "16", "--threads", "1", *map(str, extra)]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def frames_of(result):
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


class PolicyCliTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="sparseinfer_policy_cli_")

    def tearDown(self):
        self.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def test_first_frame_full_then_policy(self):
        r = stream("--gate", "policy", "--cost-target", "0.3")
        self.assertEqual(r.returncode, 0, r.stderr)
        frames = frames_of(r)
        self.assertEqual(len(frames), 9)
        self.assertEqual(frames[0]["executed_fraction"], 1.0)
        self.assertTrue(all("policy" in f for f in frames))
        self.assertLess(min(f["executed_fraction"] for f in frames[1:]), 1.0)
        # An update every 4 frames: a backward pass on the 4th and 8th policy frames only.
        updated = [f["frame"] for f in frames if f["policy"]["backward_ms"] > 0]
        self.assertEqual(updated, [4, 8])

    def test_same_seed_same_decisions(self):
        runs = [frames_of(stream("--gate", "policy", "--policy-seed", "5")) for _ in range(2)]
        self.assertEqual([f["executed_fraction"] for f in runs[0]], [f["executed_fraction"] for f in runs[1]])
        other = frames_of(stream("--gate", "policy", "--policy-seed", "6"))
        self.assertNotEqual([f["executed_fraction"] for f in runs[0]], [f["executed_fraction"] for f in other])

    def test_policy_file_is_written_and_resumed(self):
        policy = self.path("camera.policy")
        first = stream("--gate", "policy", "--policy-file", policy)
        self.assertEqual(first.returncode, 0, first.stderr)
        self.assertTrue(os.path.isfile(policy))
        with open(policy, "rb") as f:
            saved = f.read()
        self.assertEqual(saved[:8], b"SIPOLICY")
        # Resumed with --no-train, the file is read and written back unchanged.
        second = stream("--gate", "policy", "--policy-file", policy, "--no-train")
        self.assertEqual(second.returncode, 0, second.stderr)
        frames = frames_of(second)
        self.assertTrue(all(f["policy"]["backward_ms"] == 0 for f in frames))
        # The running cost goes on from the saved one instead of restarting at 1.
        self.assertLess(frames[0]["policy"]["running_cost"], 1.0)
        with open(policy, "rb") as f:
            weights_after = f.read()
        self.assertEqual(len(weights_after), len(saved))

    def test_bad_policy_file_is_named(self):
        bad = self.path("broken.policy")
        with open(bad, "w") as f:
            f.write("this is not a policy")
        r = stream("--gate", "policy", "--policy-file", bad)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(bad, r.stderr)
        self.assertIn("not a sparseinfer policy file", r.stderr)

    def test_bad_settings_are_refused(self):
        for args, fragment in ((["--gate", "policy", "--cost-target", "1.5"], "--cost-target"),
                               (["--gate", "policy", "--update-interval", "0"], "--update-interval"),
                               (["--gate", "change", "--cost-target", "0.3"], "--gate policy"),
                               (["--gate", "learned"], "--gate must be change or policy")):
            r = stream(*args)
            self.assertEqual(r.returncode, 2, f"{args}: {r.stderr}")
            self.assertIn(fragment, r.stderr)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: test_policy_cli.py PATH/TO/sparseinfer MODELS_DIR")
    SPARSEINFER = sys.argv[1]
    MODEL = os.path.join(sys.argv[2], "segnet_small.onnx")
    for needed in (SPARSEINFER, MODEL):
        if not os.path.isfile(needed):
            sys.exit(f"test_policy_cli: {needed} not found")
    unittest.main(argv=sys.argv[:1])
