// Pooling reference: shape logic and direct loops over each window, one plane
// after another. The CPU backend's parallel versions are core/cpu/pool_cpu.cpp.
#include "ops/pool.h"

#include <algorithm>
#include <limits>

#include "ops/conv_geometry.h"

namespace sparseinfer {

namespace {

int64_t first_valid(int64_t start, int64_t dil, int64_t k_n, int64_t limit_lo) {
  // Smallest k in [0, k_n] with start + k * dil >= limit_lo.
  if (start >= limit_lo) return 0;
  return std::min(k_n, (limit_lo - start + dil - 1) / dil);
}

int64_t end_valid(int64_t start, int64_t dil, int64_t k_n, int64_t limit_hi) {
  // One past the largest k in [0, k_n) with start + k * dil < limit_hi.
  if (start >= limit_hi) return 0;
  return std::min(k_n, (limit_hi - start + dil - 1) / dil);
}

// Kernel taps of one output position inside [lo, hi) along one dimension.
PoolOp::TapRange taps(const Window& w, int d, int64_t o, int64_t lo, int64_t hi) {
  PoolOp::TapRange r;
  r.start = o * w.stride[d] - w.pad_begin[d];
  r.k0 = first_valid(r.start, w.dilation[d], w.kernel[d], lo);
  r.k1 = std::max(r.k0, end_valid(r.start, w.dilation[d], w.kernel[d], hi));
  return r;
}

}  // namespace

PoolOp::PoolOp(const OpInfo& info, PoolKind kind) : info_(info), kind_(kind) {
  const Node& n = *info.node;
  attrs_ = window_attrs(n);
  if (attrs_.kernel.empty()) op_fail(info_, "attribute kernel_shape is required");
  count_include_pad_ = n.attr_int("count_include_pad", 0) != 0;
  storage_order_ = n.attr_int("storage_order", 0);
  if (storage_order_ != 0 && storage_order_ != 1) op_fail(info_, "storage_order must be 0 or 1");
  want_indices_ = kind_ == PoolKind::Max && n.outputs.size() > 1 && !n.outputs[1].empty();
}

std::vector<Tensor> PoolOp::infer(const std::vector<const Tensor*>& inputs) {
  if (inputs.empty() || !inputs[0]) op_fail(info_, "needs input X");
  const Tensor& x = *inputs[0];
  if (x.dtype() != DType::Float32)
    op_fail(info_, std::string("input is ") + dtype_name(x.dtype()) + ", only float32 is supported");
  if (x.rank() < 3 || x.rank() > 5)
    op_fail(info_, "input X has shape " + shape_str(x.shape()) + "; 1-D to 3-D pooling (rank 3 to 5) is supported");
  const int rank = x.rank() - 2;
  if (static_cast<int>(attrs_.kernel.size()) != rank)
    op_fail(info_, "kernel_shape has " + std::to_string(attrs_.kernel.size()) + " values for a " +
                       std::to_string(rank) + "-D input");
  std::vector<int64_t> spatial(x.shape().begin() + 2, x.shape().end());
  std::string err = plan_window(attrs_, spatial, window_);
  if (!err.empty()) op_fail(info_, err);
  planes_ = x.dim(0) * x.dim(1);
  // Tap ranges and average divisors per output position, once per input size.
  for (int d = 0; d < Window::kDims; ++d) {
    const int64_t in = window_.in[d];
    valid_[d].clear();
    divisor_[d].clear();
    for (int64_t o = 0; o < window_.out[d]; ++o) {
      valid_[d].push_back(taps(window_, d, o, 0, in));
      TapRange padded = taps(window_, d, o, -window_.pad_begin[d], in + window_.pad_end[d]);
      divisor_[d].push_back(count_include_pad_ ? padded.k1 - padded.k0 : valid_[d].back().k1 - valid_[d].back().k0);
    }
  }
  Shape out{x.dim(0), x.dim(1)};
  for (int i = 0; i < rank; ++i) out.push_back(window_.out[Window::kDims - rank + i]);
  std::vector<Tensor> result{Tensor::descriptor(DType::Float32, out)};
  if (want_indices_) result.push_back(Tensor::descriptor(DType::Int64, out));
  return result;
}

void PoolOp::forward(const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs, ExecContext&) {
  const float* x = inputs[0]->f32();
  float* y = outputs[0]->f32();
  int64_t* indices = want_indices_ && outputs.size() > 1 && outputs[1] ? outputs[1]->i64() : nullptr;
  for (int64_t p = 0; p < planes_; ++p) {
    if (kind_ == PoolKind::Average)
      average_plane(x + p * window_.in_size(), y + p * window_.out_size());
    else
      max_plane(x + p * window_.in_size(), y + p * window_.out_size(),
                indices ? indices + p * window_.out_size() : nullptr, p);
  }
}

void PoolOp::max_plane(const float* in, float* out, int64_t* indices, int64_t plane) const {
  const Window& w = window_;
  const int64_t ih_n = w.in[1], iw_n = w.in[2], id_n = w.in[0];
  for (int64_t od = 0; od < w.out[0]; ++od) {
    const TapRange& rd = valid_[0][od];
    for (int64_t oh = 0; oh < w.out[1]; ++oh) {
      const TapRange& rh = valid_[1][oh];
      for (int64_t ow = 0; ow < w.out[2]; ++ow) {
        const TapRange& rw = valid_[2][ow];
        float best = -std::numeric_limits<float>::infinity();
        int64_t best_at = -1;
        for (int64_t kd = rd.k0; kd < rd.k1; ++kd) {
          const int64_t id = rd.start + kd * w.dilation[0];
          for (int64_t kh = rh.k0; kh < rh.k1; ++kh) {
            const int64_t ih = rh.start + kh * w.dilation[1];
            const float* row = in + (id * ih_n + ih) * iw_n;
            for (int64_t kw = rw.k0; kw < rw.k1; ++kw) {
              const int64_t iw = rw.start + kw * w.dilation[2];
              if (row[iw] > best || best_at < 0) {
                best = row[iw];
                best_at = (id * ih_n + ih) * iw_n + iw;
              }
            }
          }
        }
        const int64_t o = (od * w.out[1] + oh) * w.out[2] + ow;
        out[o] = best;
        if (indices) {
          int64_t at = best_at;
          if (storage_order_ == 1 && at >= 0) {
            // Column-major over all spatial dimensions: the first one varies fastest.
            const int64_t iw = at % iw_n, ih = (at / iw_n) % ih_n, id = at / (iw_n * ih_n);
            at = (iw * ih_n + ih) * id_n + id;
          }
          indices[o] = at < 0 ? -1 : plane * w.in_size() + at;
        }
      }
    }
  }
}

void PoolOp::average_plane(const float* in, float* out) const {
  const Window& w = window_;
  const int64_t ih_n = w.in[1], iw_n = w.in[2];
  for (int64_t od = 0; od < w.out[0]; ++od) {
    const TapRange& rd = valid_[0][od];
    const int64_t cd = divisor_[0][od];
    for (int64_t oh = 0; oh < w.out[1]; ++oh) {
      const TapRange& rh = valid_[1][oh];
      const int64_t ch = divisor_[1][oh];
      for (int64_t ow = 0; ow < w.out[2]; ++ow) {
        const TapRange& rw = valid_[2][ow];
        const int64_t cw = divisor_[2][ow];
        float sum = 0.0f;
        for (int64_t kd = rd.k0; kd < rd.k1; ++kd) {
          const int64_t id = rd.start + kd * w.dilation[0];
          for (int64_t kh = rh.k0; kh < rh.k1; ++kh) {
            const float* row = in + (id * ih_n + rh.start + kh * w.dilation[1]) * iw_n;
            for (int64_t kw = rw.k0; kw < rw.k1; ++kw) sum += row[rw.start + kw * w.dilation[2]];
          }
        }
        const int64_t count = cd * ch * cw;
        out[(od * w.out[1] + oh) * w.out[2] + ow] = count > 0 ? sum / static_cast<float>(count) : 0.0f;
      }
    }
  }
}

GlobalPoolOp::GlobalPoolOp(const OpInfo& info, PoolKind kind) : info_(info), kind_(kind) {}

std::vector<Tensor> GlobalPoolOp::infer(const std::vector<const Tensor*>& inputs) {
  if (inputs.empty() || !inputs[0]) op_fail(info_, "needs input X");
  const Tensor& x = *inputs[0];
  if (x.dtype() != DType::Float32)
    op_fail(info_, std::string("input is ") + dtype_name(x.dtype()) + ", only float32 is supported");
  if (x.rank() < 3) op_fail(info_, "input X has shape " + shape_str(x.shape()) + ", expected [N, C, spatial...]");
  planes_ = x.dim(0) * x.dim(1);
  plane_size_ = x.numel() / std::max<int64_t>(planes_, 1);
  Shape out(x.shape().size(), 1);
  out[0] = x.dim(0);
  out[1] = x.dim(1);
  return {Tensor::descriptor(DType::Float32, out)};
}

void GlobalPoolOp::forward(const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs,
                           ExecContext&) {
  const float* x = inputs[0]->f32();
  float* y = outputs[0]->f32();
  for (int64_t p = 0; p < planes_; ++p) {
    const float* in = x + p * plane_size_;
    if (kind_ == PoolKind::Max) {
      float best = -std::numeric_limits<float>::infinity();
      for (int64_t i = 0; i < plane_size_; ++i) best = std::max(best, in[i]);
      y[p] = best;
    } else {
      float sum = 0.0f;
      for (int64_t i = 0; i < plane_size_; ++i) sum += in[i];
      y[p] = sum / static_cast<float>(plane_size_);
    }
  }
}

void register_pool_ops(OpTable& table) {
  table["MaxPool"] = [](const OpInfo& info) { return std::make_unique<PoolOp>(info, PoolKind::Max); };
  table["AveragePool"] = [](const OpInfo& info) { return std::make_unique<PoolOp>(info, PoolKind::Average); };
  table["GlobalAveragePool"] = [](const OpInfo& info) {
    return std::make_unique<GlobalPoolOp>(info, PoolKind::Average);
  };
  table["GlobalMaxPool"] = [](const OpInfo& info) { return std::make_unique<GlobalPoolOp>(info, PoolKind::Max); };
}

}  // namespace sparseinfer
