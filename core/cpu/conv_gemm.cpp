#include "cpu/conv_gemm.h"

#include <algorithm>
#include <atomic>

#include "cpu/epilogue.h"
#include "cpu/im2col.h"
#include "cpu/sgemm.h"
#include "util/parallel.h"

namespace sparseinfer {

int64_t conv_gemm_default_tile(const ConvGemmShape& s, int threads) {
  const int64_t pixels = s.window.out_size();
  // Packed path: tiles of 1024 pixels amortize im2col loop overhead; OpenBLAS
  // repacks the weights per call, so it wants wide tiles even more (measured
  // with op_bench: 64 -> 1024 pixels is 30% faster on the 7x7 64->256 layer).
  int64_t tile = 1024;
  // Enough tiles that every thread has work.
  const int64_t per_thread = (pixels + threads - 1) / std::max(threads, 1);
  if (per_thread < tile) tile = (per_thread + 31) / 32 * 32;
  return std::max<int64_t>(1, std::min(tile, pixels));
}

static int64_t tile_of(const ConvGemmShape& s, int threads) {
  return s.tile_pixels > 0 ? s.tile_pixels : conv_gemm_default_tile(s, threads);
}

// Whether a tile needs no im2col buffer: the packed kernel builds its own
// strips, and a 1x1 stride-1 unpadded conv reads the input as B directly.
static bool reads_input_directly(const ConvGemmShape& s) {
  return s.packed || s.window.is_pointwise();
}

int64_t conv_gemm_scratch_floats(const ConvGemmShape& s, int threads) {
  if (s.packed) return std::max(threads, 1) * packed_conv_tile_block_floats();
  if (reads_input_directly(s)) return 0;
  return std::max(threads, 1) * s.k_per_group() * tile_of(s, threads);
}

void conv_gemm_image(const float* in, const float* weights, const float* bias, float* out, const ConvGemmShape& s,
                     const Activation& act, int threads, float* scratch) {
  const Window& w = s.window;
  const int64_t pixels = w.out_size();
  const int64_t tile = tile_of(s, threads);
  const int64_t tiles = (pixels + tile - 1) / tile;
  const int64_t cin_g = s.in_per_group(), cout_g = s.out_per_group(), k_g = s.k_per_group();
  const bool direct = reads_input_directly(s);
  // Tiles run in parallel with single-threaded GEMMs (im2col parallelizes
  // too); small layers stay on one thread, where waking a second costs more.
  const int64_t macs = pixels * s.out_channels * k_g;
  const int max_workers = macs < (int64_t(1) << 20) ? 1 : std::max(threads, 1);
  const int workers = static_cast<int>(std::min<int64_t>(max_workers, tiles));
  const int gemm_threads = workers > 1 || macs < (int64_t(8) << 20) ? 1 : std::max(threads, 1);
  // Workers take tiles from a shared counter rather than fixed halves, so a
  // thread the OS preempts (other pipeline elements, other processes) does
  // not leave the other one waiting at the end of the layer.
  std::atomic<int64_t> next_tile{0};
  parallel_for(workers, workers, [&](int64_t w0, int64_t w1) {
    for (int64_t worker = w0; worker < w1; ++worker) {
      float* col = direct ? nullptr : scratch + worker * k_g * tile;
      for (int64_t t = next_tile.fetch_add(1); t < tiles; t = next_tile.fetch_add(1)) {
        const int64_t p0 = t * tile, p1 = std::min(pixels, p0 + tile), n = p1 - p0;
        for (int64_t g = 0; g < s.groups; ++g) {
          const float* in_g = in + g * cin_g * w.in_size();
          float* out_g = out + g * cout_g * pixels + p0;
          const float* bias_g = bias ? bias + g * cout_g : nullptr;
          if (s.packed) {
            packed_conv_tile(*s.packed, g, in_g, w, p0, p1, out_g - p0, bias_g, act,
                             scratch ? scratch + worker * packed_conv_tile_block_floats() : nullptr);
            continue;
          }
          const float* b_mat = in_g + p0;
          int64_t ldb = pixels;
          if (!direct) {
            im2col_tile(in_g, cin_g, w, p0, p1, col, n);
            b_mat = col;
            ldb = n;
          }
          sgemm(false, false, cout_g, n, k_g, 1.0f, weights + g * cout_g * k_g, k_g, b_mat, ldb, 0.0f, out_g, pixels,
                gemm_threads);
          for (int64_t co = 0; co < cout_g; ++co)
            bias_activation(out_g + co * pixels, n, bias_g ? bias_g[co] : 0.0f, act);
        }
      }
    }
  });
}

}  // namespace sparseinfer
