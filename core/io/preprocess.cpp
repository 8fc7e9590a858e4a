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
    case PixelFormat::RGB:
      return {3, 0, 1, 2};
    case PixelFormat::BGR:
      return {3, 2, 1, 0};
    case PixelFormat::RGBx:
    case PixelFormat::RGBA:
      return {4, 0, 1, 2};
    case PixelFormat::BGRx:
    case PixelFormat::BGRA:
      return {4, 2, 1, 0};
    case PixelFormat::GRAY8:
      return {1, 0, 0, 0};
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

ResizePlacement resize_placement(int frame_width, int frame_height, const PreprocessOptions& options) {
  const int ow = options.width > 0 ? options.width : frame_width;
  const int oh = options.height > 0 ? options.height : frame_height;
  if (options.resize == ResizeMode::Stretch || frame_width <= 0 || frame_height <= 0) return {0, 0, ow, oh};
  // Letterbox: the largest scale at which the whole frame fits, centred (the
  // odd pixel of the bars goes to the right/bottom).
  const double k = std::min(double(ow) / frame_width, double(oh) / frame_height);
  const int w = std::clamp(static_cast<int>(std::lround(frame_width * k)), 1, ow);
  const int h = std::clamp(static_cast<int>(std::lround(frame_height * k)), 1, oh);
  return {(ow - w) / 2, (oh - h) / 2, w, h};
}

void preprocess_frame(const uint8_t* pixels, int width, int height, int stride, PixelFormat format,
                      const PreprocessOptions& options, Tensor& out) {
  if (!pixels || width <= 0 || height <= 0) throw Error("preprocess: empty frame");
  const Layout lay = layout_of(format);
  if (stride < width * lay.bytes_per_pixel) throw Error("preprocess: row stride smaller than the row");
  if (!(options.scale > 0) || !std::isfinite(options.scale)) throw Error("preprocess: scale must be greater than 0");
  const int ow = options.width > 0 ? options.width : width;
  const int oh = options.height > 0 ? options.height : height;
  Shape shape{1, 3, oh, ow};
  if (!out.has_data() || out.dtype() != DType::Float32 || out.shape() != shape) out.allocate(DType::Float32, shape);
  const ResizePlacement place = resize_placement(width, height, options);

  // Network channel c reads byte offset src_off[c] of a pixel.
  const int src_off[3] = {options.rgb ? lay.r : lay.b, lay.g, options.rgb ? lay.b : lay.r};
  float gain[3], bias[3];
  for (int c = 0; c < 3; ++c) {
    // The default scale keeps the historical formula, so models without a description stay bit-identical.
    gain[c] = options.scale == 1.0f / 255.0f ? 1.0f / (255.0f * options.std[c]) : options.scale / options.std[c];
    bias[c] = -options.mean[c] / options.std[c];
  }
  float* dst = out.f32();
  const size_t plane = static_cast<size_t>(oh) * static_cast<size_t>(ow);
  const int bpp = lay.bytes_per_pixel;

  // Letterbox bars: the fill value, normalized like a pixel.
  if (place.x != 0 || place.y != 0 || place.width != ow || place.height != oh) {
    for (int c = 0; c < 3; ++c) {
      const float fill = options.letterbox_fill * gain[c] + bias[c];
      std::fill(dst + c * plane, dst + (c + 1) * plane, fill);
    }
  }
  const int pw = place.width, ph = place.height;
  // Destination row y, column x of the picture lands at (place.y + y, place.x + x).
  auto dst_row = [&](int c, int y) {
    return dst + c * plane + static_cast<size_t>(place.y + y) * ow + static_cast<size_t>(place.x);
  };

  if (pw == width && ph == height) {
    for (int y = 0; y < ph; ++y) {
      const uint8_t* row = pixels + static_cast<size_t>(y) * static_cast<size_t>(stride);
      for (int c = 0; c < 3; ++c) {
        float* d = dst_row(c, y);
        for (int x = 0; x < pw; ++x) d[x] = row[x * bpp + src_off[c]] * gain[c] + bias[c];
      }
    }
    return;
  }
  const std::vector<Tap> tx = taps(width, pw), ty = taps(height, ph);
  for (int y = 0; y < ph; ++y) {
    const Tap& vy = ty[static_cast<size_t>(y)];
    const uint8_t* r0 = pixels + static_cast<size_t>(vy.i0) * static_cast<size_t>(stride);
    const uint8_t* r1 = pixels + static_cast<size_t>(vy.i1) * static_cast<size_t>(stride);
    for (int c = 0; c < 3; ++c) {
      float* d = dst_row(c, y);
      const int o = src_off[c];
      for (int x = 0; x < pw; ++x) {
        const Tap& vx = tx[static_cast<size_t>(x)];
        float top = r0[vx.i0 * bpp + o] + vx.w1 * (r0[vx.i1 * bpp + o] - r0[vx.i0 * bpp + o]);
        float bot = r1[vx.i0 * bpp + o] + vx.w1 * (r1[vx.i1 * bpp + o] - r1[vx.i0 * bpp + o]);
        d[x] = (top + vy.w1 * (bot - top)) * gain[c] + bias[c];
      }
    }
  }
}

}  // namespace sparseinfer
