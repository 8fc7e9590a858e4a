#include "engine/block/norm_block_gate.h"

#include <algorithm>
#include <cmath>

#include "sparseinfer/error.h"

namespace sparseinfer {

void NormBlockGate::decide(const BlockGateInput& in, BlockGrid& grid) {
  if (!in.frame || !in.executed_frame) throw Error("the norm block gate needs the frame and the executed frame");
  const Tensor& f = *in.frame;
  const int64_t channels = f.dim(1), height = f.dim(2), width = f.dim(3), hw = height * width;
  norm_.assign(static_cast<size_t>(hw), 0.0f);
  const float* cur = f.f32();
  const float* last = in.executed_frame->f32();
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t i = 0; i < hw; ++i) norm_[static_cast<size_t>(i)] += std::fabs(cur[c * hw + i] - last[c * hw + i]);
  const int64_t b = grid.block_size;
  std::vector<float> peak(static_cast<size_t>(grid.rows * grid.cols), 0.0f);
  for (int64_t y = 0; y < height; ++y) {
    const float* row = norm_.data() + y * width;
    float* row_peak = peak.data() + (y / b) * grid.cols;
    for (int64_t x = 0; x < width; ++x) row_peak[x / b] = std::max(row_peak[x / b], row[x]);
  }
  for (size_t i = 0; i < peak.size(); ++i) grid.execute[i] = scale_ * peak[i] > threshold_ ? 1 : 0;
}

}  // namespace sparseinfer
