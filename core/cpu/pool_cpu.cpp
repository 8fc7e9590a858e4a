// The CPU backend's pools: the reference's window loops run in parallel over
// planes, with a vectorizable special case for the common 2x2 stride-2 max
// pool and eight partial sums for global averages. Shape logic is the
// reference's (ops/pool.cpp).
#include <algorithm>
#include <limits>

#include "cpu/activation_avx2.h"
#include "cpu/cpu_ops.h"
#include "ops/pool.h"
#include "util/parallel.h"

namespace sparseinfer {

namespace {

// o[j] = max of r0/r1[2j, 2j+1] for the leading multiple of 8 outputs; returns
// how many it wrote. Rows meet in one max, then even and odd columns are
// separated by shuffles (the compiler's stride-2 loop gathers one by one).
__attribute__((target("avx2,fma"))) int64_t max2x2_row_avx2(const float* r0, const float* r1, float* o, int64_t n) {
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 a = _mm256_max_ps(_mm256_loadu_ps(r0 + 2 * j), _mm256_loadu_ps(r1 + 2 * j));
    const __m256 b = _mm256_max_ps(_mm256_loadu_ps(r0 + 2 * j + 8), _mm256_loadu_ps(r1 + 2 * j + 8));
    const __m256 m = _mm256_max_ps(_mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)),
                                   _mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1)));
    _mm256_storeu_ps(o + j, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(m), 0xD8)));
  }
  return j;
}

class PoolCpu : public PoolOp {
 public:
  using PoolOp::PoolOp;

  void forward(const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs,
               ExecContext& ctx) override {
    const float* x = inputs[0]->f32();
    float* y = outputs[0]->f32();
    int64_t* indices = want_indices_ && outputs.size() > 1 && outputs[1] ? outputs[1]->i64() : nullptr;
    // Small pools are not worth waking a second thread for.
    const int threads = planes_ * window_.out_size() * window_.kernel_size() < 65536 ? 1 : std::max(ctx.threads, 1);
    const bool max2x2 = kind_ == PoolKind::Max && !indices && is_max2x2();
    parallel_for(planes_, threads, [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        const float* in = x + p * window_.in_size();
        float* out = y + p * window_.out_size();
        if (max2x2)
          max2x2_plane(in, out);
        else if (kind_ == PoolKind::Average)
          average_plane(in, out);
        else
          max_plane(in, out, indices ? indices + p * window_.out_size() : nullptr, p);
      }
    });
  }

 private:
  // 2x2 stride-2 windows all inside the input (the common downsampling pool).
  bool is_max2x2() const {
    const Window& w = window_;
    return w.kernel[0] == 1 && w.kernel[1] == 2 && w.kernel[2] == 2 && w.stride[1] == 2 && w.stride[2] == 2 &&
           w.dilation[1] == 1 && w.dilation[2] == 1 && w.pad_begin[1] == 0 && w.pad_begin[2] == 0 &&
           w.out[1] * 2 <= w.in[1] && w.out[2] * 2 <= w.in[2];
  }

  void max2x2_plane(const float* in, float* out) const {
    const Window& w = window_;
    for (int64_t od = 0; od < w.out[0]; ++od)
      for (int64_t oh = 0; oh < w.out[1]; ++oh) {
        const float* __restrict r0 = in + (od * w.in[1] + 2 * oh) * w.in[2];
        const float* __restrict r1 = r0 + w.in[2];
        float* __restrict o = out + (od * w.out[1] + oh) * w.out[2];
        int64_t ow = cpu_has_avx2_fma() ? max2x2_row_avx2(r0, r1, o, w.out[2]) : 0;
        for (; ow < w.out[2]; ++ow)
          o[ow] = std::max(std::max(r0[2 * ow], r0[2 * ow + 1]), std::max(r1[2 * ow], r1[2 * ow + 1]));
      }
  }
};

class GlobalPoolCpu : public GlobalPoolOp {
 public:
  using GlobalPoolOp::GlobalPoolOp;

  void forward(const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs,
               ExecContext& ctx) override {
    const float* x = inputs[0]->f32();
    float* y = outputs[0]->f32();
    const int threads = planes_ * plane_size_ < 65536 ? 1 : std::max(ctx.threads, 1);
    parallel_for(planes_, threads, [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        const float* in = x + p * plane_size_;
        if (kind_ == PoolKind::Max) {
          float best = -std::numeric_limits<float>::infinity();
          for (int64_t i = 0; i < plane_size_; ++i) best = std::max(best, in[i]);
          y[p] = best;
        } else {
          // Eight partial sums: vectorizes and keeps float rounding small on large planes.
          float part[8] = {};
          int64_t i = 0;
          for (; i + 8 <= plane_size_; i += 8)
            for (int j = 0; j < 8; ++j) part[j] += in[i + j];
          float sum = 0.0f;
          for (; i < plane_size_; ++i) sum += in[i];
          for (float v : part) sum += v;
          y[p] = sum / static_cast<float>(plane_size_);
        }
      }
    });
  }
};

}  // namespace

void register_pool_cpu(OpTable& table) {
  table["MaxPool"] = [](const OpInfo& info) { return std::make_unique<PoolCpu>(info, PoolKind::Max); };
  table["AveragePool"] = [](const OpInfo& info) { return std::make_unique<PoolCpu>(info, PoolKind::Average); };
  table["GlobalAveragePool"] = [](const OpInfo& info) {
    return std::make_unique<GlobalPoolCpu>(info, PoolKind::Average);
  };
  table["GlobalMaxPool"] = [](const OpInfo& info) { return std::make_unique<GlobalPoolCpu>(info, PoolKind::Max); };
}

}  // namespace sparseinfer
