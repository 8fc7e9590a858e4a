#include "engine/block/change_block_gate.h"

#include <algorithm>
#include <cmath>

#include "sparseinfer/error.h"

namespace sparseinfer {

void ChangeBlockGate::decide(const BlockGateInput& in, BlockGrid& grid) {
  if (!in.frame || !in.executed_frame) throw Error("the change block gate needs the frame and the executed frame");
  const Tensor& f = *in.frame;
  const int64_t channels = f.dim(1), height = f.dim(2), width = f.dim(3);
  const int64_t b = grid.block_size;
  // Per block, the largest difference over its pixels and channels.
  std::vector<float> peak(static_cast<size_t>(grid.rows * grid.cols), 0.0f);
  const float* cur = f.f32();
  const float* last = in.executed_frame->f32();
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t y = 0; y < height; ++y) {
      const float* a = cur + (c * height + y) * width;
      const float* e = last + (c * height + y) * width;
      float* row_peak = peak.data() + (y / b) * grid.cols;
      for (int64_t q = 0; q < grid.cols; ++q) {
        const int64_t x0 = q * b, x1 = std::min(width, x0 + b);
        float m = row_peak[q];
        for (int64_t x = x0; x < x1; ++x) m = std::max(m, std::fabs(a[x] - e[x]));
        row_peak[q] = m;
      }
    }
  for (size_t i = 0; i < peak.size(); ++i) grid.execute[i] = peak[i] > threshold_ ? 1 : 0;
}

}  // namespace sparseinfer
