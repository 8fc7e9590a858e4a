"""Layer types for per-type profiles: the same names for our engine and the peers.

`sparseinfer info --profile` names layer types in C++ (core/tools/layer_type.cpp);
this module gives the same names to ONNX nodes so a peer's per-node times
(ONNX Runtime's profiler, OpenVINO's performance counters) sum into the same
rows. A convolution is named by its kernel and stride ("conv 7x7",
"conv 3x3 s2", "conv 1x1", "depthwise 3x3 s2"), everything else by family.
"""

ELEMENTWISE = {
    "Add", "Sub", "Mul", "Div", "Relu", "Clip", "LeakyRelu", "PRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh",
    "BatchNormalization", "Exp", "Sqrt", "Neg", "Abs", "Max", "Min", "Pow", "Erf",
}
LAYOUT = {
    "Transpose", "Reshape", "Concat", "Flatten", "Squeeze", "Unsqueeze", "Slice", "Gather", "Pad", "Split", "Identity",
    "Dropout", "Expand", "Tile",
}
POOL = {"MaxPool", "AveragePool"}
GLOBAL_POOL = {"GlobalAveragePool", "GlobalMaxPool", "ReduceMean", "ReduceMax"}


def conv_type(weight_shape, group, strides):
    """Type of a Conv from its weight [Cout, Cin/group, kH, kW], group and strides."""
    kernel = "x".join(str(int(d)) for d in weight_shape[2:]) or "1"
    stride = max((int(s) for s in strides), default=1)
    suffix = f" s{stride}" if stride > 1 else ""
    if group > 1 and int(weight_shape[1]) == 1:
        return f"depthwise {kernel}{suffix}"
    if all(int(d) == 1 for d in weight_shape[2:]):
        return "conv 1x1" + suffix
    return f"conv {kernel}{suffix}"


def op_family(op_type):
    """Type of a non-convolution operator."""
    if op_type in ELEMENTWISE:
        return "element-wise"
    if op_type in LAYOUT:
        return "layout"
    if op_type in POOL:
        return "pool"
    if op_type in GLOBAL_POOL:
        return "global pool"
    if op_type in ("Gemm", "MatMul"):
        return "gemm"
    if op_type in ("Resize", "Upsample"):
        return "resize"
    if op_type == "ConvTranspose":
        return "conv transpose"
    return op_type.lower()


def node_types(model):
    """{node name: type} and {output name: node name} for an onnx.ModelProto."""
    import onnx

    inits = {i.name: list(i.dims) for i in model.graph.initializer}
    # Constant nodes can hold weights too.
    for n in model.graph.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    inits[n.output[0]] = list(a.t.dims)
    types, producer = {}, {}
    for i, n in enumerate(model.graph.node):
        name = n.name or f"{n.op_type}_{i}"
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
        if n.op_type == "Conv" and len(n.input) > 1 and n.input[1] in inits:
            types[name] = conv_type(inits[n.input[1]], int(attrs.get("group", 1)), attrs.get("strides", [1]))
        else:
            types[name] = op_family(n.op_type)
        for o in n.output:
            producer[o] = name
    return types, producer
