#!/usr/bin/python3
"""Writes the small ONNX fixtures of the element tests (run from anywhere).

unsupported_op.onnx: a 3x3 convolution followed by an Einsum, an operator the
importer does not support, so loading must fail naming the node and the reason.
"""

import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def unsupported_op_model():
    weight = numpy_helper.from_array(np.full((4, 3, 3, 3), 0.1, dtype=np.float32), "weight")
    conv = helper.make_node("Conv", ["input", "weight"], ["features"], name="conv", pads=[1, 1, 1, 1])
    einsum = helper.make_node("Einsum", ["features"], ["scores"], name="sum_channels", equation="nchw->nhw")
    graph = helper.make_graph(
        [conv, einsum],
        "unsupported_op",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, "h", "w"])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, "h", "w"])],
        initializer=[weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="make_fixtures.py")
    onnx.checker.check_model(model)
    return model


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    onnx.save(unsupported_op_model(), os.path.join(here, "unsupported_op.onnx"))
