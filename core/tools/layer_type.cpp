#include "tools/layer_type.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>

#include "tools/json.h"

namespace sparseinfer::tools {

namespace {

const std::set<std::string> kElementwise = {"Add",
                                            "Sub",
                                            "Mul",
                                            "Div",
                                            "Relu",
                                            "Clip",
                                            "LeakyRelu",
                                            "PRelu",
                                            "Sigmoid",
                                            "HardSigmoid",
                                            "HardSwish",
                                            "Tanh",
                                            "BatchNormalization",
                                            "Exp",
                                            "Sqrt",
                                            "Neg",
                                            "Abs",
                                            "Max",
                                            "Min",
                                            "Pow",
                                            "Erf"};
const std::set<std::string> kLayout = {"Transpose", "Reshape", "Concat", "Flatten",  "Squeeze", "Unsqueeze", "Slice",
                                       "Gather",    "Pad",     "Split",  "Identity", "Dropout", "Expand",    "Tile"};

std::string op_family(const std::string& op) {
  if (kElementwise.count(op)) return "element-wise";
  if (kLayout.count(op)) return "layout";
  if (op == "MaxPool" || op == "AveragePool") return "pool";
  if (op == "GlobalAveragePool" || op == "GlobalMaxPool" || op == "ReduceMean" || op == "ReduceMax")
    return "global pool";
  if (op == "Gemm" || op == "MatMul") return "gemm";
  if (op == "Resize" || op == "Upsample") return "resize";
  if (op == "ConvTranspose") return "conv transpose";
  std::string lower = op;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return lower;
}

// The same rule as layer_types.conv_type in tests/bench/layer_types.py.
std::string conv_type(const std::vector<int64_t>& kernel, int64_t group, int64_t in_per_group,
                      const std::vector<int64_t>& strides) {
  std::ostringstream k;
  bool pointwise = true;
  for (size_t i = 0; i < kernel.size(); ++i) {
    k << (i ? "x" : "") << kernel[i];
    pointwise = pointwise && kernel[i] == 1;
  }
  if (kernel.empty()) k << 1;
  int64_t stride = 1;
  for (int64_t s : strides) stride = std::max(stride, s);
  std::ostringstream type;
  if (group > 1 && in_per_group == 1)
    type << "depthwise " << k.str();
  else if (pointwise)
    type << "conv 1x1";
  else
    type << "conv " << k.str();
  if (stride > 1) type << " s" << stride;
  return type.str();
}

}  // namespace

std::vector<std::string> layer_types(const Model& model, const Engine& engine) {
  // The engine's layers are the optimized model's nodes, named as there.
  const Model optimized = optimize_model(model);
  std::map<std::string, const Node*> nodes;
  for (const Node& n : optimized.nodes) nodes[n.name] = &n;
  std::map<std::string, Shape> shapes;  // value name -> shape, for a Conv's input channels
  for (const TensorInfo& t : engine.inputs()) shapes[t.name] = t.shape;
  for (const LayerInfo& l : engine.layers())
    for (size_t k = 0, s = 0; k < l.outputs.size(); ++k)
      if (!l.outputs[k].empty() && s < l.output_shapes.size()) shapes[l.outputs[k]] = l.output_shapes[s++];

  std::vector<std::string> types;
  for (const LayerInfo& l : engine.layers()) {
    auto it = nodes.find(l.name);
    if (l.op_type != "Conv" || it == nodes.end() || l.inputs.size() < 2) {
      types.push_back(op_family(l.op_type));
      continue;
    }
    const Node& n = *it->second;
    std::vector<int64_t> kernel = n.attr_ints("kernel_shape", {});
    auto w = optimized.initializers.find(l.inputs[1]);
    if (kernel.empty() && w != optimized.initializers.end() && w->second.shape().size() > 2)
      kernel.assign(w->second.shape().begin() + 2, w->second.shape().end());
    const int64_t group = n.attr_int("group", 1);
    auto in = shapes.find(l.inputs[0]);
    const int64_t in_channels = in != shapes.end() && in->second.size() > 1 ? in->second[1] : 0;
    types.push_back(conv_type(kernel, group, group > 0 ? in_channels / group : 0, n.attr_ints("strides", {})));
  }
  return types;
}

std::vector<TypeCost> cost_by_type(const std::vector<std::string>& types, const Engine& engine,
                                   const std::vector<double>& layer_ms_sum, int frames) {
  std::map<std::string, TypeCost> by_type;
  for (size_t i = 0; i < types.size() && i < engine.layers().size(); ++i) {
    TypeCost& c = by_type[types[i]];
    c.type = types[i];
    ++c.layers;
    c.macs += engine.layers()[i].macs;
    if (i < layer_ms_sum.size()) c.ms += layer_ms_sum[i] / std::max(frames, 1);
  }
  std::vector<TypeCost> out;
  for (auto& [name, c] : by_type) out.push_back(c);
  std::stable_sort(out.begin(), out.end(), [](const TypeCost& a, const TypeCost& b) { return a.ms > b.ms; });
  return out;
}

std::string type_ms_json(const std::vector<TypeCost>& costs) {
  std::string s = "{";
  for (size_t i = 0; i < costs.size(); ++i) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.4f", costs[i].ms);
    if (i) s += ',';
    s.append(json_string(costs[i].type)).append(":").append(buf);
  }
  return s + "}";
}

}  // namespace sparseinfer::tools
