"""An ONNX graph run node by node with PyTorch functions, weights frozen.

The Gumbel-gate trainer (train_gumbel_gates.py) needs the real network as a
differentiable torch function with a hook at the input of every gated
convolution. Debian has no onnx2torch, so this covers the operators of the
networks in examples/models/pretrained (the MediaPipe selfie segmenter and the
SSDLite detector) and of the example nets; any other operator is an error that
names the node.
"""

import onnx
import onnx.numpy_helper
import torch
import torch.nn.functional as F


def node_attributes(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def node_text(value):
    return value.decode() if isinstance(value, bytes) else value


def is_spatial_conv(node, weight_shape):
    """True for the convolutions the change engine gates: any window but a
    1x1, stride 1, unpadded one (those reuse their input's change set,
    CBinfer §III-E)."""
    a = node_attributes(node)
    kernel = list(a.get("kernel_shape", weight_shape[2:]))
    strides = list(a.get("strides", [1, 1]))
    pads = list(a.get("pads", [0, 0, 0, 0]))
    auto_pad = node_text(a.get("auto_pad", "NOTSET"))
    pointwise = kernel == [1, 1] and strides == [1, 1] and not any(pads) and auto_pad in ("NOTSET", "VALID")
    return not pointwise


def _same_pads(in_size, kernel, stride, dilation, upper):
    """ONNX auto_pad SAME_UPPER / SAME_LOWER as explicit (begin, end) pads."""
    out = -(-in_size // stride)
    total = max(0, (out - 1) * stride + (kernel - 1) * dilation + 1 - in_size)
    small = total // 2
    return (small, total - small) if upper else (total - small, small)


class OnnxTorchGraph:
    def __init__(self, path):
        self.path = path
        self.model = onnx.load(path)
        g = self.model.graph
        self.consts = {t.name: torch.from_numpy(onnx.numpy_helper.to_array(t).copy()) for t in g.initializer}
        for n in g.node:
            if n.op_type == "Constant":
                self.consts[n.output[0]] = torch.from_numpy(onnx.numpy_helper.to_array(node_attributes(n)["value"]).copy())
        self.nodes = [n for n in g.node if n.op_type != "Constant"]
        for i, n in enumerate(self.nodes):
            if not n.name:
                n.name = "%s_%d" % (n.op_type, i)
        init_names = set(self.consts)
        self.input_names = [i.name for i in g.input if i.name not in init_names]
        self.output_names = [o.name for o in g.output]
        self.gated = [n.name for n in self.nodes if n.op_type == "Conv" and is_spatial_conv(n, self.consts[n.input[1]].shape)]
        self.free_size = False
        self._resize_ratio = {}
        self._global_pool = set()

    def allow_free_size(self, native_shape):
        """Lets a network exported for one input size run at another (for
        cheaper training): a Resize to constant sizes keeps its ratio, and an
        AveragePool that covers its whole input at native_shape stays global."""
        with torch.no_grad():
            env = dict(self.consts)
            env[self.input_names[0]] = torch.zeros(native_shape)
            for n in self.nodes:
                ins = [env[i] if i else None for i in n.input]
                outs = self._op(n, ins)
                for name, value in zip(n.output, outs):
                    env[name] = value
                if n.op_type == "Resize":
                    self._resize_ratio[n.name] = (outs[0].shape[2] / ins[0].shape[2], outs[0].shape[3] / ins[0].shape[3])
                if n.op_type == "AveragePool" and outs[0].shape[2] == 1 and outs[0].shape[3] == 1:
                    self._global_pool.add(n.name)
        self.free_size = True

    def conv_nodes(self):
        return [n for n in self.nodes if n.op_type == "Conv"]

    def run(self, x, gate_hook=None, collect=None):
        """Runs the graph on x (N,C,H,W). gate_hook(name, input) returns the
        tensor a gated convolution computes from. collect: a dict that gets
        every gated convolution's input by layer name."""
        env = dict(self.consts)
        env[self.input_names[0]] = x
        for n in self.nodes:
            ins = [env[i] if i else None for i in n.input]
            if n.name in self.gated_set():
                if collect is not None:
                    collect[n.name] = ins[0]
                if gate_hook is not None:
                    ins[0] = gate_hook(n.name, ins[0])
            outs = self._op(n, ins)
            for name, value in zip(n.output, outs):
                env[name] = value
        return [env[o] for o in self.output_names]

    def gated_set(self):
        if not hasattr(self, "_gated_set"):
            self._gated_set = set(self.gated)
        return self._gated_set

    def _pad_window(self, x, a, kernel, strides, dilations):
        """Explicit pads (or auto_pad) applied with F.pad; returns x padded."""
        auto_pad = node_text(a.get("auto_pad", "NOTSET"))
        if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            upper = auto_pad == "SAME_UPPER"
            ph = _same_pads(x.shape[2], kernel[0], strides[0], dilations[0], upper)
            pw = _same_pads(x.shape[3], kernel[1], strides[1], dilations[1], upper)
            pads = [ph[0], pw[0], ph[1], pw[1]]
        else:
            pads = list(a.get("pads", [0, 0, 0, 0]))
        if any(pads):
            x = F.pad(x, (pads[1], pads[3], pads[0], pads[2]))
        return x

    def _op(self, n, ins):
        a = node_attributes(n)
        t = n.op_type
        if t == "Conv":
            w = ins[1]
            kernel = list(a.get("kernel_shape", w.shape[2:]))
            strides = list(a.get("strides", [1, 1]))
            dil = list(a.get("dilations", [1, 1]))
            x = self._pad_window(ins[0], a, kernel, strides, dil)
            return [F.conv2d(x, w, ins[2] if len(ins) > 2 else None, strides, 0, dil, a.get("group", 1))]
        if t == "ConvTranspose":
            if any(a.get("pads", [0, 0, 0, 0])) or "output_shape" in a or "auto_pad" in a:
                raise ValueError("%s: node %s: ConvTranspose with pads/output_shape is not supported" % (self.path, n.name))
            return [
                F.conv_transpose2d(ins[0], ins[1], ins[2] if len(ins) > 2 else None, a.get("strides", [1, 1]), 0,
                                   a.get("output_padding", [0, 0]), a.get("group", 1), a.get("dilations", [1, 1]))
            ]
        if t == "Relu":
            return [F.relu(ins[0])]
        if t == "Clip":
            lo = ins[1] if len(ins) > 1 and ins[1] is not None else a.get("min", None)
            hi = ins[2] if len(ins) > 2 and ins[2] is not None else a.get("max", None)
            return [torch.clamp(ins[0], None if lo is None else float(lo), None if hi is None else float(hi))]
        if t == "HardSwish":
            return [F.hardswish(ins[0])]
        if t == "HardSigmoid":
            return [torch.clamp(ins[0] * a.get("alpha", 0.2) + a.get("beta", 0.5), 0, 1)]
        if t == "Sigmoid":
            return [torch.sigmoid(ins[0])]
        if t == "Add":
            return [ins[0] + ins[1]]
        if t == "Mul":
            return [ins[0] * ins[1]]
        if t == "Sub":
            return [ins[0] - ins[1]]
        if t == "Identity":
            return [ins[0]]
        if t in ("AveragePool", "MaxPool"):
            kernel = list(a["kernel_shape"])
            strides = list(a.get("strides", [1, 1]))
            if "auto_pad" in a and node_text(a["auto_pad"]) != "NOTSET":
                raise ValueError("%s: node %s: %s with auto_pad is not supported" % (self.path, n.name, t))
            if t == "MaxPool":
                p = list(a.get("pads", [0, 0, 0, 0]))
                # Padding of a max pool must never win: pad with -inf.
                x = F.pad(ins[0], (p[1], p[3], p[0], p[2]), value=float("-inf")) if any(p) else ins[0]
                return [F.max_pool2d(x, kernel, strides, ceil_mode=bool(a.get("ceil_mode", 0)))]
            if self.free_size and n.name in self._global_pool:
                return [ins[0].mean(dim=(2, 3), keepdim=True)]
            if any(a.get("pads", [0, 0, 0, 0])):
                raise ValueError("%s: node %s: padded AveragePool is not supported" % (self.path, n.name))
            return [F.avg_pool2d(ins[0], kernel, strides, ceil_mode=bool(a.get("ceil_mode", 0)))]
        if t == "GlobalAveragePool":
            return [ins[0].mean(dim=(2, 3), keepdim=True)]
        if t == "Resize":
            mode = node_text(a.get("mode", "nearest"))
            ctm = node_text(a.get("coordinate_transformation_mode", "half_pixel"))
            sizes = ins[3] if len(ins) > 3 and ins[3] is not None else None
            if self.free_size and n.name in self._resize_ratio:
                ratio = self._resize_ratio[n.name]
                size = [round(ins[0].shape[2] * ratio[0]), round(ins[0].shape[3] * ratio[1])]
            elif sizes is not None:
                size = [int(v) for v in sizes.tolist()[2:]]
            else:
                scales = ins[2].tolist()
                size = [int(ins[0].shape[2] * scales[2]), int(ins[0].shape[3] * scales[3])]
            if mode == "linear" and ctm in ("half_pixel", "pytorch_half_pixel"):
                return [F.interpolate(ins[0], size=size, mode="bilinear", align_corners=False)]
            if mode == "linear" and ctm == "align_corners":
                return [F.interpolate(ins[0], size=size, mode="bilinear", align_corners=True)]
            if mode == "nearest" and ctm == "asymmetric":
                return [F.interpolate(ins[0], size=size, mode="nearest")]
            raise ValueError("%s: node %s: Resize mode %s/%s is not supported" % (self.path, n.name, mode, ctm))
        if t == "Concat":
            return [torch.cat(ins, dim=a["axis"])]
        if t == "Reshape":
            shape = [int(v) for v in ins[1].tolist()]
            shape = [ins[0].shape[i] if v == 0 else v for i, v in enumerate(shape)]
            return [ins[0].reshape(shape)]
        if t == "Transpose":
            return [ins[0].permute(*a["perm"])]
        if t == "Flatten":
            return [torch.flatten(ins[0], a.get("axis", 1))]
        if t == "Softmax":
            return [torch.softmax(ins[0], dim=a.get("axis", -1))]
        raise ValueError("%s: node %s: operator %s is not supported by onnx_torch_graph" % (self.path, n.name, t))

    def layer_macs(self, input_shape):
        """MACs of every Conv for one input of input_shape, by node name
        (output pixels x output channels x input channels per group x kernel)."""
        macs = {}
        with torch.no_grad():
            env_shapes = {}
            x = torch.zeros(input_shape)
            env = dict(self.consts)
            env[self.input_names[0]] = x
            for n in self.nodes:
                ins = [env[i] if i else None for i in n.input]
                outs = self._op(n, ins)
                for name, value in zip(n.output, outs):
                    env[name] = value
                if n.op_type == "Conv":
                    w = ins[1]
                    o = outs[0]
                    macs[n.name] = int(o.shape[0] * o.shape[2] * o.shape[3] * w.shape[0] * w.shape[1] * w.shape[2] *
                                       w.shape[3])
                    env_shapes[n.name] = ins[0].shape
        return macs, env_shapes

