// The CPU backend's ConvTranspose: per group one SGEMM into a column matrix,
// then col2im adds it into the output. Shape logic is the reference's
// (ops/conv_transpose.cpp).
#include <algorithm>

#include "cpu/cpu_ops.h"
#include "cpu/im2col.h"
#include "cpu/sgemm.h"
#include "ops/conv_transpose.h"
#include "util/parallel.h"

namespace sparseinfer {

namespace {

class ConvTransposeCpu : public ConvTransposeOp {
 public:
  using ConvTransposeOp::ConvTransposeOp;

  void forward(const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs,
               ExecContext& ctx) override {
    const float* x = inputs[0]->f32();
    const float* wt = inputs[1]->f32();
    const float* bias = inputs.size() > 2 && inputs[2] ? inputs[2]->f32() : nullptr;
    float* y = outputs[0]->f32();
    const int64_t in_pixels = window_.out_size(), out_pixels = window_.in_size();
    const int64_t cin_g = cin_ / group_, cout_g = cout_ / group_, rows_g = cout_g * window_.kernel_size();
    // Small layers are not worth waking threads for.
    const int threads = rows_g * in_pixels * cin_g < (int64_t(8) << 20) ? 1 : std::max(ctx.threads, 1);
    if (!ctx.scratch) throw Error("ConvTranspose needs scratch memory but the execution context has none");
    float* col = ctx.scratch->floats(static_cast<size_t>(rows_g * in_pixels));
    for (int64_t n = 0; n < batch_; ++n) {
      float* y_n = y + n * cout_ * out_pixels;
      for (int64_t c = 0; c < cout_; ++c)
        std::fill(y_n + c * out_pixels, y_n + (c + 1) * out_pixels, bias ? bias[c] : 0.0f);
      for (int64_t g = 0; g < group_; ++g) {
        // col[(cout_g * kvol) x in_pixels] = W_g^T * X_g, with W_g stored [cin_g x (cout_g * kvol)].
        sgemm(true, false, rows_g, in_pixels, cin_g, 1.0f, wt + g * cin_g * rows_g, rows_g,
              x + (n * cin_ + g * cin_g) * in_pixels, in_pixels, 0.0f, col, in_pixels, threads);
        float* y_g = y_n + g * cout_g * out_pixels;
        parallel_for(cout_g, threads, [&](int64_t c0, int64_t c1) { col2im_add(col, c0, c1, window_, y_g); });
      }
      if (act_.kind != ActivationKind::None)
        parallel_for(cout_, threads, [&](int64_t c0, int64_t c1) {
          act_.apply_inplace(y_n + c0 * out_pixels, (c1 - c0) * out_pixels);
        });
    }
  }
};

}  // namespace

void register_conv_transpose_cpu(OpTable& table) {
  table["ConvTranspose"] = [](const OpInfo& info) { return std::make_unique<ConvTransposeCpu>(info); };
}

}  // namespace sparseinfer
