// Split: cuts the input along one axis into consecutive parts, one per node
// output. The part sizes come from 'split' (an attribute before opset 13, a
// constant int64 input since), else equal parts; since opset 18 with
// 'num_outputs' the last part may be smaller.
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "ops/op.h"
#include "ops/op_params.h"

namespace sparseinfer {

namespace {

class SplitOp : public Op {
 public:
  explicit SplitOp(const OpInfo& info) : info_(info) {}

  std::vector<Tensor> infer(const std::vector<const Tensor*>& inputs) override {
    if (inputs.empty() || !inputs[0]) op_fail(info_, "missing input");
    const Tensor& x = *inputs[0];
    if (x.rank() == 0) op_fail(info_, "input must have at least one dimension");
    axis_ = normalized_axis(info_, info_.node->attr_int("axis", 0), x.rank());
    const int64_t dim = x.dim(static_cast<int>(axis_));
    const int64_t parts = static_cast<int64_t>(info_.node->outputs.size());
    std::vector<int64_t> sizes;
    if (info_.opset < 13) {
      sizes = info_.node->attr_ints("split", {});
    } else if (const Tensor* s = optional_input(inputs, 1)) {
      sizes = constant_ints(info_, *s, "split");
    }
    if (sizes.empty()) {
      if (info_.opset >= 18) {
        if (!info_.node->has_attr("num_outputs")) op_fail(info_, "needs either 'split' or 'num_outputs'");
        const int64_t n = info_.node->attr_int("num_outputs", 0);
        if (n != parts)
          op_fail(info_,
                  "num_outputs is " + std::to_string(n) + " but the node has " + std::to_string(parts) + " outputs");
      }
      if (parts < 1) op_fail(info_, "the node has no outputs");
      // Parts of ceil(dim / parts), the last one taking what is left.
      const int64_t chunk = (dim + parts - 1) / parts;
      for (int64_t i = 0; i < parts; ++i) sizes.push_back(std::max<int64_t>(0, std::min(chunk, dim - i * chunk)));
      if (info_.opset < 18 && dim % parts != 0)
        op_fail(info_, "axis of size " + std::to_string(dim) + " does not split into " + std::to_string(parts) +
                           " equal parts");
    }
    if (static_cast<int64_t>(sizes.size()) != parts)
      op_fail(info_,
              "'split' has " + std::to_string(sizes.size()) + " sizes for " + std::to_string(parts) + " outputs");
    int64_t total = 0;
    for (int64_t s : sizes) {
      if (s < 0) op_fail(info_, "negative split size " + std::to_string(s));
      total += s;
    }
    if (total != dim)
      op_fail(info_,
              "split sizes add up to " + std::to_string(total) + " but the axis has size " + std::to_string(dim));
    sizes_ = sizes;
    std::vector<Tensor> outs;
    for (int64_t s : sizes) {
      Shape shape = x.shape();
      shape[static_cast<size_t>(axis_)] = s;
      outs.push_back(Tensor::descriptor(x.dtype(), shape));
    }
    return outs;
  }

  void forward(const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs, ExecContext&) override {
    const Tensor& x = *inputs[0];
    const size_t elem = x.dtype() == DType::Float32 ? sizeof(float) : sizeof(int64_t);
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < x.rank(); ++i) {
      if (i < axis_) outer *= x.dim(i);
      if (i > axis_) inner *= x.dim(i);
    }
    const size_t in_row = static_cast<size_t>(x.dim(static_cast<int>(axis_)) * inner) * elem;
    const char* src = static_cast<const char*>(x.raw());
    size_t offset = 0;
    for (size_t p = 0; p < sizes_.size(); ++p) {
      const size_t row = static_cast<size_t>(sizes_[p] * inner) * elem;
      if (outputs[p] && row)
        for (int64_t o = 0; o < outer; ++o)
          std::memcpy(static_cast<char*>(outputs[p]->raw()) + o * row, src + o * in_row + offset, row);
      offset += row;
    }
  }

 private:
  OpInfo info_;
  int64_t axis_ = 0;
  std::vector<int64_t> sizes_;
};

}  // namespace

void register_split_ops(OpTable& table) {
  table["Split"] = [](const OpInfo& info) -> std::unique_ptr<Op> { return std::make_unique<SplitOp>(info); };
}

}  // namespace sparseinfer
