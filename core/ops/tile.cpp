// Tile: repeats the input repeats[d] times along each axis d; 'repeats' is a
// constant int64 input with one entry per axis (opset 6 and later).
#include <cstdint>
#include <cstring>

#include "ops/op.h"
#include "ops/op_params.h"

namespace sparseinfer {

namespace {

class TileOp : public Op {
 public:
  explicit TileOp(const OpInfo& info) : info_(info) {
    if (info.opset < 6) op_fail(info, "the opset 1 form (inputs 'tiles' and 'axis') is not supported");
  }

  std::vector<Tensor> infer(const std::vector<const Tensor*>& inputs) override {
    if (inputs.size() != 2 || !inputs[0] || !inputs[1]) op_fail(info_, "expects inputs 'input' and 'repeats'");
    const Tensor& x = *inputs[0];
    std::vector<int64_t> repeats = constant_ints(info_, *inputs[1], "repeats");
    if (static_cast<int64_t>(repeats.size()) != x.rank())
      op_fail(info_, "'repeats' has " + std::to_string(repeats.size()) + " entries for an input of rank " +
                         std::to_string(x.rank()));
    Shape out = x.shape();
    for (size_t d = 0; d < repeats.size(); ++d) {
      if (repeats[d] < 0) op_fail(info_, "negative repeat " + std::to_string(repeats[d]));
      out[d] *= repeats[d];
    }
    return {Tensor::descriptor(x.dtype(), out)};
  }

  void forward(const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs, ExecContext&) override {
    const Tensor& x = *inputs[0];
    Tensor& y = *outputs[0];
    if (x.dtype() == DType::Float32)
      tile(x, x.f32(), y.f32(), y.shape());
    else
      tile(x, x.i64(), y.i64(), y.shape());
  }

 private:
  // Output rows along the last axis are the input row repeated; the input row
  // of an output index is its index modulo the input's dimensions.
  template <typename T>
  static void tile(const Tensor& x, const T* in, T* out, const Shape& out_shape) {
    const int64_t n = shape_numel(out_shape);
    if (n == 0) return;
    const size_t rank = out_shape.size();
    if (rank == 0) {
      out[0] = in[0];
      return;
    }
    const std::vector<int64_t> in_strides = row_major_strides(x.shape());
    const int64_t last_in = x.dim(static_cast<int>(rank - 1)), last_out = out_shape[rank - 1];
    std::vector<int64_t> counter(rank, 0);
    for (int64_t o = 0; o < n; o += last_out) {
      int64_t src = 0;
      for (size_t d = 0; d + 1 < rank; ++d) src += (counter[d] % x.dim(static_cast<int>(d))) * in_strides[d];
      for (int64_t r = 0; r < last_out; r += last_in)
        std::memcpy(out + o + r, in + src, static_cast<size_t>(last_in) * sizeof(T));
      for (size_t d = rank - 1; d-- > 0;) {
        if (++counter[d] < out_shape[d]) break;
        counter[d] = 0;
      }
    }
  }

  OpInfo info_;
};

}  // namespace

void register_tile_ops(OpTable& table) {
  table["Tile"] = [](const OpInfo& info) -> std::unique_ptr<Op> { return std::make_unique<TileOp>(info); };
}

}  // namespace sparseinfer
