#include "sparseinfer/preprocess.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "sparseinfer/error.h"

namespace sparseinfer {

namespace {

struct Layout {
  int bytes_per_pixel;
  int r, g, b;  // byte offsets of the colour channels within a pixel
};

Layout layout_of(PixelFormat f) {
  switch (f) {
    case PixelFormat::RGB: return {3, 0, 1, 2};
    case PixelFormat::BGR: return {3, 2, 1, 0};
    case PixelFormat::RGBx:
    case PixelFormat::RGBA: return {4, 0, 1, 2};
    case PixelFormat::BGRx:
    case PixelFormat::BGRA: return {4, 2, 1, 0};
    case PixelFormat::GRAY8: return {1, 0, 0, 0};
  }
  return {3, 0, 1, 2};
}

// Source coordinate and weights for each destination column/row.
struct Tap {
  int i0, i1;
  float w1;
};

std::vector<Tap> taps(int src, int dst) {
  std::vector<Tap> t(static_cast<size_t>(dst));
  float scale = static_cast<float>(src) / static_cast<float>(dst);
  for (int d = 0; d < dst; ++d) {
    float x = (static_cast<float>(d) + 0.5f) * scale - 0.5f;
    x = std::max(x, 0.0f);
    int i0 = std::min(static_cast<int>(std::floor(x)), src - 1);
    int i1 = std::min(i0 + 1, src - 1);
    t[static_cast<size_t>(d)] = {i0, i1, x - static_cast<float>(i0)};
  }
  return t;
}

}  // namespace

void preprocess_frame(const uint8_t* pixels, int width, int height, int stride, PixelFormat format,
                      const PreprocessOptions& options, Tensor& out) {
  if (!pixels || width <= 0 || height <= 0) throw Error("preprocess: empty frame");
  const Layout lay = layout_of(format);
  if (stride < width * lay.bytes_per_pixel) throw Error("preprocess: row stride smaller than the row");
  const int ow = options.width > 0 ? options.width : width;
  const int oh = options.height > 0 ? options.height : height;
  Shape shape{1, 3, oh, ow};
  if (!out.has_data() || out.dtype() != DType::Float32 || out.shape() != shape) out.allocate(DType::Float32, shape);

  // Network channel c reads byte offset src_off[c] of a pixel.
  const int src_off[3] = {options.rgb ? lay.r : lay.b, lay.g, options.rgb ? lay.b : lay.r};
  float gain[3], bias[3];
  for (int c = 0; c < 3; ++c) {
    gain[c] = 1.0f / (255.0f * options.std[c]);
    bias[c] = -options.mean[c] / options.std[c];
  }
  float* dst = out.f32();
  const size_t plane = static_cast<size_t>(oh) * static_cast<size_t>(ow);
  const int bpp = lay.bytes_per_pixel;

  if (ow == width && oh == height) {
    for (int y = 0; y < oh; ++y) {
      const uint8_t* row = pixels + static_cast<size_t>(y) * static_cast<size_t>(stride);
      for (int c = 0; c < 3; ++c) {
        float* d = dst + c * plane + static_cast<size_t>(y) * ow;
        for (int x = 0; x < ow; ++x) d[x] = row[x * bpp + src_off[c]] * gain[c] + bias[c];
      }
    }
    return;
  }
  const std::vector<Tap> tx = taps(width, ow), ty = taps(height, oh);
  for (int y = 0; y < oh; ++y) {
    const Tap& vy = ty[static_cast<size_t>(y)];
    const uint8_t* r0 = pixels + static_cast<size_t>(vy.i0) * static_cast<size_t>(stride);
    const uint8_t* r1 = pixels + static_cast<size_t>(vy.i1) * static_cast<size_t>(stride);
    for (int c = 0; c < 3; ++c) {
      float* d = dst + c * plane + static_cast<size_t>(y) * ow;
      const int o = src_off[c];
      for (int x = 0; x < ow; ++x) {
        const Tap& vx = tx[static_cast<size_t>(x)];
        float top = r0[vx.i0 * bpp + o] + vx.w1 * (r0[vx.i1 * bpp + o] - r0[vx.i0 * bpp + o]);
        float bot = r1[vx.i0 * bpp + o] + vx.w1 * (r1[vx.i1 * bpp + o] - r1[vx.i0 * bpp + o]);
        d[x] = (top + vy.w1 * (bot - top)) * gain[c] + bias[c];
      }
    }
  }
}

}  // namespace sparseinfer
