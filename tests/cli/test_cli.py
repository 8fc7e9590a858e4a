#!/usr/bin/python3
"""End-to-end tests of the `sparseinfer` command-line tool.

Usage: test_cli.py PATH/TO/sparseinfer

Builds tiny ONNX models with onnx.helper in a temporary directory, then checks
`info` (text and JSON), `run` against a NumPy computation of the same model,
and the exit status and message of usage errors (2) and other errors (1).
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SPARSEINFER = None


def run_cli(*args):
    return subprocess.run([SPARSEINFER, *map(str, args)], capture_output=True, text=True, timeout=120)


def conv2d(x, w, b, pad):
    """Direct NCHW convolution, stride 1, as the reference."""
    n, c, h, wd = x.shape
    co, ci, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    ho, wo = h + 2 * pad - kh + 1, wd + 2 * pad - kw + 1
    y = np.zeros((n, co, ho, wo), dtype=np.float64)
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, :, i:i + ho, j:j + wo]
            y += np.einsum("nchw,oc->nohw", patch, w[:, :, i, j])
    return y + b.reshape(1, -1, 1, 1)


class CliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="sparseinfer_cli_")
        cls.dir = cls.tmp.name
        rng = np.random.default_rng(7)
        cls.conv_w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
        cls.conv_b = rng.standard_normal(4).astype(np.float32)
        cls.fc_w = rng.standard_normal((2, 4)).astype(np.float32)
        cls.fc_b = rng.standard_normal(2).astype(np.float32)
        cls.classifier = cls.path("classifier.onnx")
        cls.fully_conv = cls.path("fully_conv.onnx")
        cls.two_inputs = cls.path("two_inputs.onnx")
        cls.make_classifier(cls.classifier)
        cls.make_fully_conv(cls.fully_conv)
        cls.make_two_inputs(cls.two_inputs)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    @classmethod
    def path(cls, name):
        return os.path.join(cls.dir, name)

    @classmethod
    def save(cls, graph, path):
        model = helper.make_model(graph, producer_name="sparseinfer-cli-test",
                                  opset_imports=[helper.make_opsetid("", 13)])
        model.ir_version = 7
        onnx.checker.check_model(model)
        onnx.save(model, path)

    @classmethod
    def conv_nodes(cls):
        inits = [numpy_helper.from_array(cls.conv_w, "conv_w"), numpy_helper.from_array(cls.conv_b, "conv_b")]
        nodes = [helper.make_node("Conv", ["x", "conv_w", "conv_b"], ["c"], name="conv1",
                                  kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
                 helper.make_node("Relu", ["c"], ["r"], name="relu1")]
        return nodes, inits

    @classmethod
    def make_classifier(cls, path):
        nodes, inits = cls.conv_nodes()
        inits += [numpy_helper.from_array(cls.fc_w, "fc_w"), numpy_helper.from_array(cls.fc_b, "fc_b")]
        nodes += [helper.make_node("GlobalAveragePool", ["r"], ["g"], name="gap"),
                  helper.make_node("Flatten", ["g"], ["f"], name="flatten", axis=1),
                  helper.make_node("Gemm", ["f", "fc_w", "fc_b"], ["y"], name="fc", transB=1)]
        graph = helper.make_graph(nodes, "classifier",
                                  [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])], inits)
        cls.save(graph, path)

    @classmethod
    def make_fully_conv(cls, path):
        nodes, inits = cls.conv_nodes()
        graph = helper.make_graph(nodes, "fully_conv",
                                  [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, "H", "W"])],
                                  [helper.make_tensor_value_info("r", TensorProto.FLOAT, ["N", 4, "H", "W"])], inits)
        cls.save(graph, path)

    @classmethod
    def make_two_inputs(cls, path):
        nodes = [helper.make_node("Sub", ["a", "b"], ["d"], name="sub"),
                 helper.make_node("Mul", ["d", "d"], ["sq"], name="square")]
        graph = helper.make_graph(nodes, "two_inputs",
                                  [helper.make_tensor_value_info("a", TensorProto.FLOAT, [2, 5]),
                                   helper.make_tensor_value_info("b", TensorProto.FLOAT, [2, 5])],
                                  [helper.make_tensor_value_info("d", TensorProto.FLOAT, [2, 5]),
                                   helper.make_tensor_value_info("sq", TensorProto.FLOAT, [2, 5])])
        cls.save(graph, path)

    def classifier_reference(self, x):
        r = np.maximum(conv2d(x.astype(np.float64), self.conv_w, self.conv_b, 1), 0)
        return r.mean(axis=(2, 3)) @ self.fc_w.T.astype(np.float64) + self.fc_b

    def expect_failure(self, result, status, *fragments):
        self.assertEqual(result.returncode, status, f"stdout={result.stdout!r} stderr={result.stderr!r}")
        for f in fragments:
            self.assertIn(f, result.stderr)

    # --- help and version -------------------------------------------------

    def test_help_and_version(self):
        for args in (["--help"], ["info", "--help"], ["run", "-h"], ["help", "run"]):
            r = run_cli(*args)
            self.assertEqual(r.returncode, 0, args)
            self.assertIn("Usage: sparseinfer", r.stdout)
        r = run_cli("--version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^sparseinfer \d+\.\d+\.\d+")

    def test_usage_errors_exit_2(self):
        self.expect_failure(run_cli(), 2, "no command")
        self.expect_failure(run_cli("frobnicate"), 2, "unknown command 'frobnicate'")
        self.expect_failure(run_cli("info"), 2, "no MODEL")
        self.expect_failure(run_cli("info", self.classifier, "--bogus"), 2, "unknown option '--bogus'")
        self.expect_failure(run_cli("info", self.classifier, "--size", "12"), 2, "WxH")
        self.expect_failure(run_cli("info", self.classifier, "--size", "8x8", "--input-shape", "1,3,8,8"), 2,
                            "either --size or --input-shape")
        self.expect_failure(run_cli("run", self.classifier), 2, "--input")
        self.expect_failure(run_cli("run", self.classifier, "--input", "x.npy", "--threads", "-3"), 2,
                            "--threads")
        self.expect_failure(run_cli("run", self.classifier, "--input"), 2, "needs a value")

    # --- info ---------------------------------------------------------------

    def test_info_ops(self):
        r = run_cli("info", "--ops")
        self.assertEqual(r.returncode, 0, r.stderr)
        for op in ("Conv", "Relu", "Gemm", "GlobalAveragePool"):
            self.assertIn(op, r.stdout.split())
        r = run_cli("info", "--ops", "--json")
        self.assertIn("Conv", json.loads(r.stdout)["supported_ops"])

    def test_info_text(self):
        r = run_cli("info", self.classifier)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout
        self.assertIn(self.classifier, out)
        self.assertIn("opset:    13", out)
        self.assertIn("sparseinfer-cli-test", out)
        self.assertIn("[1,3,8,8]", out)
        self.assertIn("[1,2]", out)
        conv_rows = [line.split() for line in out.splitlines() if " conv1 " in line]
        self.assertEqual(len(conv_rows), 1, out)
        # columns: index, name, op, output shape, params, MACs
        row = conv_rows[0]
        self.assertEqual(row[2], "Conv")
        self.assertEqual(row[3], "[1,4,8,8]")
        self.assertEqual(int(row[4]), 4 * 3 * 3 * 3 + 4)
        self.assertEqual(int(row[5]), 4 * 8 * 8 * 3 * 3 * 3)
        self.assertIn("total params:", out)
        self.assertIn("GMACs", out)

    def test_info_json(self):
        r = run_cli("info", self.classifier, "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        info = json.loads(r.stdout)
        self.assertEqual(info["opset"], 13)
        self.assertEqual(info["inputs"][0]["shape"], [1, 3, 8, 8])
        self.assertEqual(info["outputs"][0]["shape"], [1, 2])
        ops = [layer["op"] for layer in info["layers"]]
        self.assertIn("Conv", ops)
        self.assertIn("Gemm", ops)
        self.assertEqual(info["total_params"], sum(layer["params"] for layer in info["layers"]))
        self.assertEqual(info["total_params"], 112 + 10)
        self.assertEqual(info["total_macs"], sum(layer["macs"] for layer in info["layers"]))
        self.assertGreaterEqual(info["total_macs"], 4 * 8 * 8 * 27 + 8)

    def test_info_symbolic_size(self):
        self.expect_failure(run_cli("info", self.fully_conv), 2, "--size", "symbolic")
        r = run_cli("info", self.fully_conv, "--size", "16x12", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        info = json.loads(r.stdout)
        self.assertEqual(info["inputs"][0]["shape"], [1, 3, 12, 16])
        self.assertEqual(info["outputs"][0]["shape"], [1, 4, 12, 16])
        self.assertEqual(info["total_macs"], 4 * 12 * 16 * 27)
        r = run_cli("info", self.fully_conv, "--input-shape", "2,3,5,7", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["outputs"][0]["shape"], [2, 4, 5, 7])
        self.expect_failure(run_cli("info", self.fully_conv, "--input-shape", "1,3,5,7", "--input-shape", "1,3,5,7"),
                            2, "1 inputs but 2")

    # --- run ----------------------------------------------------------------

    def test_run_matches_numpy(self):
        x = np.random.default_rng(1).standard_normal((1, 3, 8, 8)).astype(np.float32)
        np.save(self.path("x.npy"), x)
        r = run_cli("run", self.classifier, "--input", self.path("x.npy"), "--output", self.path("y.npy"),
                    "--threads", "1")
        self.assertEqual(r.returncode, 0, r.stderr)
        y = np.load(self.path("y.npy"))
        self.assertEqual(y.dtype, np.float32)
        self.assertEqual(y.shape, (1, 2))
        np.testing.assert_allclose(y, self.classifier_reference(x), rtol=1e-4, atol=1e-5)

    def test_run_fully_conv_takes_shape_from_npy(self):
        x = np.random.default_rng(2).standard_normal((2, 3, 5, 9))  # float64: converted on read
        np.save(self.path("xc.npy"), x)
        r = run_cli("run", self.fully_conv, "--input", self.path("xc.npy"), "--output", self.path("rc.npy"))
        self.assertEqual(r.returncode, 0, r.stderr)
        ref = np.maximum(conv2d(x.astype(np.float32).astype(np.float64), self.conv_w, self.conv_b, 1), 0)
        np.testing.assert_allclose(np.load(self.path("rc.npy")), ref, rtol=1e-4, atol=1e-5)

    def test_run_inputs_and_outputs_in_graph_order(self):
        rng = np.random.default_rng(3)
        a = rng.standard_normal((2, 5)).astype(np.float32)
        b = rng.standard_normal((2, 5)).astype(np.float32)
        np.save(self.path("a.npy"), a)
        np.save(self.path("b.npy"), b)
        r = run_cli("run", self.two_inputs, "--input", self.path("a.npy"), "--input", self.path("b.npy"),
                    "--output", self.path("d.npy"), "--output", self.path("sq.npy"))
        self.assertEqual(r.returncode, 0, r.stderr)
        np.testing.assert_allclose(np.load(self.path("d.npy")), a - b, rtol=1e-6)
        np.testing.assert_allclose(np.load(self.path("sq.npy")), (a - b) ** 2, rtol=1e-5)
        # Only the first output requested.
        os.remove(self.path("sq.npy"))
        r = run_cli("run", self.two_inputs, "--input", self.path("b.npy"), "--input", self.path("a.npy"),
                    "--output", self.path("d2.npy"))
        self.assertEqual(r.returncode, 0, r.stderr)
        np.testing.assert_allclose(np.load(self.path("d2.npy")), b - a, rtol=1e-6)
        self.assertFalse(os.path.exists(self.path("sq.npy")))

    def test_run_errors(self):
        a = self.path("ea.npy")
        np.save(a, np.zeros((2, 5), np.float32))
        self.expect_failure(run_cli("run", self.path("missing.onnx"), "--input", a), 1, "missing.onnx")
        self.expect_failure(run_cli("run", self.two_inputs, "--input", a), 2, "2 input(s)", "'a', 'b'")
        self.expect_failure(run_cli("run", self.two_inputs, "--input", a, "--input", a, "--input", a), 2,
                            "2 input(s)")
        self.expect_failure(run_cli("run", self.two_inputs, "--input", a, "--input", self.path("nope.npy")), 1,
                            "nope.npy", "cannot open")
        bad = self.path("bad.npy")
        with open(bad, "wb") as f:
            f.write(b"\x93NUMPY\x01\x00\x10\x00{'descr': '<f4'")
        self.expect_failure(run_cli("run", self.two_inputs, "--input", a, "--input", bad), 1, "bad.npy")
        ints = self.path("ints.npy")
        np.save(ints, np.zeros((2, 5), np.int64))
        self.expect_failure(run_cli("run", self.two_inputs, "--input", a, "--input", ints), 1, "int64", "'b'")
        wrong = self.path("wrong_shape.npy")
        np.save(wrong, np.zeros((1, 3, 9, 9), np.float32))
        self.expect_failure(run_cli("run", self.classifier, "--input", wrong), 1, "[1,3,8,8]")
        corrupt = self.path("corrupt.onnx")
        with open(self.classifier, "rb") as f:
            data = f.read()
        with open(corrupt, "wb") as f:
            f.write(data[: len(data) // 2])
        self.expect_failure(run_cli("info", corrupt), 1, "corrupt.onnx")
        self.expect_failure(run_cli("run", self.two_inputs, "--input", a, "--input", a, "--output", a, "--output",
                                    a, "--output", a), 2, "output(s)")
        self.expect_failure(run_cli("run", self.two_inputs, "--input", a, "--input", a, "--output",
                                    self.path("no/such/dir/d.npy")), 1, "cannot open")

    def test_stream_block_mode(self):
        r = run_cli("stream", self.fully_conv, "--video", "synthetic", "--size", "64x48", "--mode", "block",
                    "--block-size", "16", "--gate", "change", "--block-threshold", "0.05", "--start", "3",
                    "--frames", "3")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = [json.loads(line) for line in r.stdout.splitlines()]
        self.assertEqual([f["frame"] for f in lines], [3, 4, 5])
        self.assertTrue(lines[0]["dense_frame"])
        self.assertEqual(lines[0]["executed_fraction"], 1.0)
        for f in lines[1:]:
            self.assertFalse(f["dense_frame"])
            self.assertLess(f["executed_fraction"], 1.0)
            self.assertAlmostEqual(f["mac_fraction"], f["executed_fraction"], places=5)
        self.expect_failure(run_cli("stream", self.fully_conv, "--video", "synthetic", "--mode", "block", "--gate",
                                    "learned"), 2, "--gate")
        # The policy gate reads the output through the model description; this model has none.
        self.expect_failure(run_cli("stream", self.fully_conv, "--video", "synthetic", "--mode", "block", "--gate",
                                    "policy"), 1, "the policy needs an ssd, centernet or segmentation decoder")
        self.expect_failure(run_cli("stream", self.fully_conv, "--video", "synthetic", "--block-size", "16"), 2,
                            "--mode block")


    # --- operators of issue 15, int64 inputs bound as constants, external data --

    NEW_OPS = ("Slice", "Split", "DepthToSpace", "SpaceToDepth", "Squeeze", "Unsqueeze", "ReduceMean", "ReduceMax",
               "ReduceSum", "Pow", "Sqrt", "Exp", "Neg", "Abs", "Min", "Max", "Erf", "Cast", "Expand", "Tile")
    ONNX_NODE_TESTS = "/usr/share/libonnx-testdata/data/node"

    def test_info_lists_the_vision_operators(self):
        r = run_cli("info", "--ops")
        self.assertEqual(r.returncode, 0, r.stderr)
        listed = r.stdout.split()
        for op in self.NEW_OPS:
            self.assertIn(op, listed)

    def run_onnx_node_test(self, name):
        """Runs an ONNX node test case through `sparseinfer run`, every input
        from the command line, and compares each output with the data set's."""
        case = os.path.join(self.ONNX_NODE_TESTS, name)
        # The test data is a build dependency of this test: missing data fails.
        self.assertTrue(os.path.isdir(case), case + " is missing (Debian package libonnx-testdata)")
        data = os.path.join(case, "test_data_set_0")
        model = onnx.load(os.path.join(case, "model.onnx"))
        args = ["run", os.path.join(case, "model.onnx")]
        int64_inputs = 0
        for i, vi in enumerate(model.graph.input):
            arr = numpy_helper.to_array(onnx.load_tensor(os.path.join(data, "input_%d.pb" % i)))
            int64_inputs += arr.dtype == np.int64
            npy = self.path("%s_in%d.npy" % (name, i))
            np.save(npy, arr)
            args += ["--input", npy]
        self.assertGreater(int64_inputs, 0, name + " has no int64 input")
        expected = []
        for i, _ in enumerate(model.graph.output):
            expected.append(numpy_helper.to_array(onnx.load_tensor(os.path.join(data, "output_%d.pb" % i))))
            args += ["--output", self.path("%s_out%d.npy" % (name, i))]
        r = run_cli(*args)
        self.assertEqual(r.returncode, 0, name + ": " + r.stderr)
        for i, want in enumerate(expected):
            got = np.load(self.path("%s_out%d.npy" % (name, i)))
            self.assertEqual(got.shape, want.shape, name)
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=name)

    def test_run_binds_int64_inputs_as_constants(self):
        # Shape parameters fed as graph inputs: before the binding `run`
        # refused these ("must be a constant").
        for name in ("test_reshape_reordered_all_dims", "test_reshape_negative_extended_dims", "test_slice",
                     "test_slice_neg_steps", "test_tile", "test_expand_dim_changed", "test_unsqueeze_two_axes",
                     "test_squeeze_negative_axes", "test_split_variable_parts_2d", "test_reduce_sum_keepdims_random"):
            with self.subTest(name=name):
                self.run_onnx_node_test(name)

    def external_model(self, directory, location, w):
        """A 1x1 conv whose weight lives in external data at `location`."""
        os.makedirs(directory, exist_ok=True)
        weight = numpy_helper.from_array(w, "w")
        weight.ClearField("raw_data")
        weight.data_location = TensorProto.EXTERNAL
        entry = weight.external_data.add()
        entry.key, entry.value = "location", location
        graph = helper.make_graph(
            [helper.make_node("Conv", ["x", "w"], ["y"], name="conv")], "external",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 3, 3])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 3, 3])], [weight])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        model.ir_version = 7
        path = os.path.join(directory, "model.onnx")
        onnx.save(model, path)
        return path

    def test_external_data_inside_the_model_directory(self):
        w = np.random.default_rng(5).standard_normal((4, 2, 1, 1)).astype(np.float32)
        x = np.random.default_rng(6).standard_normal((1, 2, 3, 3)).astype(np.float32)
        np.save(self.path("ext_x.npy"), x)
        ref = np.einsum("oc,nchw->nohw", w[:, :, 0, 0], x)
        model_dir = self.path("ext")
        os.makedirs(os.path.join(model_dir, "weights"), exist_ok=True)
        w.tofile(os.path.join(model_dir, "weights", "w.bin"))
        for location in ("weights/w.bin", "weights/../weights/w.bin"):
            path = self.external_model(model_dir, location, w)
            r = run_cli("run", path, "--input", self.path("ext_x.npy"), "--output", self.path("ext_y.npy"))
            self.assertEqual(r.returncode, 0, r.stderr)
            np.testing.assert_allclose(np.load(self.path("ext_y.npy")), ref, rtol=1e-5, atol=1e-6)
        # Missing file, and a file too short for the tensor.
        path = self.external_model(model_dir, "nothing.bin", w)
        self.expect_failure(run_cli("info", path), 1, "nothing.bin")
        w[:2].tofile(os.path.join(model_dir, "short.bin"))
        path = self.external_model(model_dir, "short.bin", w)
        self.expect_failure(run_cli("info", path), 1, "short.bin", "too few")

    def test_external_data_outside_the_model_directory_is_refused(self):
        w = np.ones((4, 2, 1, 1), np.float32)
        w.tofile(self.path("x.bin"))  # exists: the refusal is about where it is
        model_dir = self.path("escape")
        path = self.external_model(model_dir, "../x.bin", w)
        self.expect_failure(run_cli("info", path), 1, "../x.bin", "outside the model's directory")
        path = self.external_model(model_dir, self.path("x.bin"), w)
        self.expect_failure(run_cli("info", path), 1, "x.bin", "absolute")
        # A link inside the directory that points out of it is refused too.
        os.symlink(self.path("x.bin"), os.path.join(model_dir, "link.bin"))
        path = self.external_model(model_dir, "link.bin", w)
        self.expect_failure(run_cli("info", path), 1, "link.bin", "outside the model's directory")

    def test_run_pytorch_conv_net_with_the_vision_operators(self):
        """A conv network exported by PyTorch through pixel_shuffle
        (DepthToSpace CRD), GELU (Erf), split (Split), slicing, mean/amax/sum
        (Reduce*), pow/sqrt/exp/abs/neg, minimum/maximum and an int64 round
        trip (Cast), run by `sparseinfer run` and compared with PyTorch's own
        output. (PyTorch 1.13 exports pixel_unshuffle as Reshape/Transpose,
        and repeat/expand through ConstantOfShape and Where, which the core
        does not have; the ONNX node tests cover SpaceToDepth, Tile, Expand.)"""
        import torch

        class Net(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.c1 = torch.nn.Conv2d(3, 16, 3, padding=1)
                self.c2 = torch.nn.Conv2d(4, 8, 3, padding=1)
                self.c3 = torch.nn.Conv2d(16, 4, 3, padding=1)

            def forward(self, x):
                y = torch.nn.functional.gelu(self.c1(x))                  # Erf
                y = torch.nn.functional.pixel_shuffle(y, 2)               # DepthToSpace (CRD)
                y = self.c2(y)
                y = torch.nn.functional.pixel_unshuffle(y, 2)             # Reshape, Transpose
                a, b = torch.split(y, [16, 16], dim=1)                    # Split
                y = torch.maximum(a.abs(), torch.minimum(b, -a))          # Abs, Neg, Min, Max
                y = torch.sqrt(y.pow(2) + 1.0) * torch.exp(-y.abs())      # Pow, Sqrt, Exp
                y = y - y.mean(dim=1, keepdim=True)                       # ReduceMean
                y = y / (y.amax(dim=(2, 3), keepdim=True) + 2.0)          # ReduceMax
                top = y[:, :, : y.shape[2] // 2, :]                       # Slice
                y = torch.cat([top, top], dim=2)
                s = y.sum(dim=1, keepdim=True)                            # ReduceSum
                q = (y * 16.0).to(torch.int64).to(torch.float32) / 16.0   # Cast
                return self.c3(q + s)

        torch.manual_seed(0)
        net = Net().eval()
        x = torch.randn(1, 3, 16, 20)
        path = self.path("torch_vision_ops.onnx")
        with torch.no_grad():
            want = net(x).numpy()
            torch.onnx.export(net, (x,), path, opset_version=13, input_names=["x"], output_names=["y"])
        used = {n.op_type for n in onnx.load(path).graph.node}
        for op in ("Erf", "DepthToSpace", "Split", "Abs", "Neg", "Min", "Max", "Pow", "Sqrt", "Exp",
                   "ReduceMean", "ReduceMax", "Slice", "ReduceSum", "Cast"):
            self.assertIn(op, used, "the export no longer produces " + op)
        np.save(self.path("torch_x.npy"), x.numpy())
        r = run_cli("run", path, "--input", self.path("torch_x.npy"), "--output", self.path("torch_y.npy"))
        self.assertEqual(r.returncode, 0, r.stderr)
        got = np.load(self.path("torch_y.npy"))
        self.assertEqual(got.shape, want.shape)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)

if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: test_cli.py PATH/TO/sparseinfer")
    SPARSEINFER = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
