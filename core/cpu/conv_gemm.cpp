#include "cpu/conv_gemm.h"

#include <algorithm>

#include "cpu/epilogue.h"
#include "cpu/im2col.h"
#include "cpu/parallel.h"
#include "cpu/sgemm.h"

namespace sparseinfer {

int64_t conv_gemm_default_tile(int64_t k_per_group, int64_t out_pixels, int threads) {
  // About 1 MiB of columns per tile, a multiple of 16 pixels, at least 64.
  int64_t tile = (int64_t(256) * 1024) / std::max<int64_t>(k_per_group, 1);
  tile = std::max<int64_t>(64, tile / 16 * 16);
  // Enough tiles that every thread has work.
  const int64_t per_thread = (out_pixels + threads - 1) / std::max(threads, 1);
  return std::max<int64_t>(1, std::min(tile, per_thread));
}

static int64_t tile_of(const ConvGemmShape& s, int threads) {
  return s.tile_pixels > 0 ? s.tile_pixels : conv_gemm_default_tile(s.k_per_group(), s.window.out_size(), threads);
}

int64_t conv_gemm_scratch_floats(const ConvGemmShape& s, int threads) {
  if (s.window.is_pointwise()) return 0;
  return std::max(threads, 1) * s.k_per_group() * tile_of(s, threads);
}

void conv_gemm_image(const float* in, const float* weights, const float* bias, float* out, const ConvGemmShape& s,
                     const Activation& act, int threads, float* scratch) {
  const Window& w = s.window;
  const int64_t pixels = w.out_size();
  const int64_t tile = tile_of(s, threads);
  const int64_t tiles = (pixels + tile - 1) / tile;
  const int64_t cin_g = s.in_per_group(), cout_g = s.out_per_group(), k_g = s.k_per_group();
  const bool pointwise = w.is_pointwise();
  // Tiles run in parallel with single-threaded GEMMs (im2col parallelizes
  // too); with fewer tiles than threads, BLAS gets the threads instead.
  const int workers = static_cast<int>(std::min<int64_t>(std::max(threads, 1), tiles));
  const int gemm_threads = workers > 1 ? 1 : std::max(threads, 1);
  parallel_for(workers, workers, [&](int64_t w0, int64_t w1) {
    for (int64_t worker = w0; worker < w1; ++worker) {
      float* col = pointwise ? nullptr : scratch + worker * k_g * tile;
      for (int64_t t = tiles * worker / workers; t < tiles * (worker + 1) / workers; ++t) {
        const int64_t p0 = t * tile, p1 = std::min(pixels, p0 + tile), n = p1 - p0;
        for (int64_t g = 0; g < s.groups; ++g) {
          const float* in_g = in + g * cin_g * w.in_size();
          const float* b_mat = in_g + p0;
          int64_t ldb = pixels;
          if (!pointwise) {
            im2col_tile(in_g, cin_g, w, p0, p1, col);
            b_mat = col;
            ldb = n;
          }
          float* out_g = out + g * cout_g * pixels + p0;
          sgemm(false, false, cout_g, n, k_g, 1.0f, weights + g * cout_g * k_g, k_g, b_mat, ldb, 0.0f, out_g, pixels,
                gemm_threads);
          for (int64_t co = 0; co < cout_g; ++co)
            bias_activation(out_g + co * pixels, n, bias ? bias[g * cout_g + co] : 0.0f, act);
        }
      }
    }
  });
}

}  // namespace sparseinfer
