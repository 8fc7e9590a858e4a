#include "overlay_canvas.h"

#include <algorithm>

#include "bitmap_font.h"

namespace sparseinfer::gst {

namespace {

constexpr int kTextPadding = 2;  // font pixels around text on its background box
constexpr float kTextBackgroundAlpha = 0.6f;

uint8_t mix(uint8_t dst, uint8_t src, float alpha) {
  return static_cast<uint8_t>(static_cast<float>(dst) + alpha * (static_cast<float>(src) - static_cast<float>(dst)) +
                              0.5f);
}

// Source cell of each destination column/row when stretching a grid over the frame.
std::vector<int> nearest_cells(int grid, int size) {
  std::vector<int> cells(static_cast<size_t>(size));
  for (int i = 0; i < size; ++i)
    cells[static_cast<size_t>(i)] = std::min(grid - 1, static_cast<int>((static_cast<int64_t>(i) * grid) / size));
  return cells;
}

}  // namespace

Rgb class_colour(int id) {
  static const Rgb palette[] = {{230, 25, 75},  {60, 180, 75},   {255, 225, 25}, {0, 130, 200},
                                {245, 130, 48}, {145, 30, 180},  {70, 240, 240}, {240, 50, 230},
                                {210, 245, 60}, {250, 190, 212}, {0, 128, 128},  {170, 110, 40}};
  constexpr int n = sizeof(palette) / sizeof(palette[0]);
  return palette[((id % n) + n) % n];
}

Canvas::Canvas(uint8_t* pixels, int width, int height, int stride, int bytes_per_pixel, int r, int g, int b)
    : pixels_(pixels), width_(width), height_(height), stride_(stride), bpp_(bytes_per_pixel), r_(r), g_(g), b_(b) {}

void Canvas::blend(int x, int y, Rgb c, float alpha) {
  if (x < 0 || y < 0 || x >= width_ || y >= height_) return;
  uint8_t* p = pixels_ + static_cast<size_t>(y) * static_cast<size_t>(stride_) + static_cast<size_t>(x) * bpp_;
  if (bpp_ == 1) {
    const auto luma = static_cast<uint8_t>((77 * c.r + 150 * c.g + 29 * c.b) >> 8);
    p[0] = mix(p[0], luma, alpha);
    return;
  }
  p[r_] = mix(p[r_], c.r, alpha);
  p[g_] = mix(p[g_], c.g, alpha);
  p[b_] = mix(p[b_], c.b, alpha);
}

void Canvas::fill_rect(int x, int y, int w, int h, Rgb colour, float alpha) {
  const int x0 = std::max(0, x), y0 = std::max(0, y);
  const int x1 = std::min(width_, x + w), y1 = std::min(height_, y + h);
  for (int yy = y0; yy < y1; ++yy)
    for (int xx = x0; xx < x1; ++xx) blend(xx, yy, colour, alpha);
}

void Canvas::draw_rect(int x, int y, int w, int h, int thickness, Rgb colour) {
  fill_rect(x, y, w, thickness, colour, 1.0f);
  fill_rect(x, y + h - thickness, w, thickness, colour, 1.0f);
  fill_rect(x, y, thickness, h, colour, 1.0f);
  fill_rect(x + w - thickness, y, thickness, h, colour, 1.0f);
}

void Canvas::blend_label_map(const std::vector<int>& labels, int grid_w, int grid_h, float alpha) {
  if (grid_w <= 0 || grid_h <= 0 || labels.size() < static_cast<size_t>(grid_w) * static_cast<size_t>(grid_h)) return;
  const std::vector<int> cx = nearest_cells(grid_w, width_), cy = nearest_cells(grid_h, height_);
  for (int y = 0; y < height_; ++y) {
    const int* row = labels.data() + static_cast<size_t>(cy[static_cast<size_t>(y)]) * static_cast<size_t>(grid_w);
    for (int x = 0; x < width_; ++x) {
      const int label = row[cx[static_cast<size_t>(x)]];
      if (label >= 0) blend(x, y, class_colour(label), alpha);
    }
  }
}

void Canvas::blend_heat_map(const std::vector<float>& heat, int grid_w, int grid_h, float alpha) {
  if (grid_w <= 0 || grid_h <= 0 || heat.size() < static_cast<size_t>(grid_w) * static_cast<size_t>(grid_h)) return;
  const std::vector<int> cx = nearest_cells(grid_w, width_), cy = nearest_cells(grid_h, height_);
  for (int y = 0; y < height_; ++y) {
    const float* row = heat.data() + static_cast<size_t>(cy[static_cast<size_t>(y)]) * static_cast<size_t>(grid_w);
    for (int x = 0; x < width_; ++x) {
      const float v = std::clamp(row[cx[static_cast<size_t>(x)]], 0.0f, 1.0f);
      if (v <= 0.0f) continue;
      // Red for a little change, through orange to yellow for a lot.
      const Rgb c{255, static_cast<uint8_t>(220.0f * v), 0};
      blend(x, y, c, alpha * (0.4f + 0.6f * v));
    }
  }
}

int Canvas::text_width(const std::string& text, int scale) {
  return (static_cast<int>(text.size()) * kGlyphAdvance - 1 + 2 * kTextPadding) * scale;
}

int Canvas::text_height(int scale) {
  return (kGlyphHeight + 2 * kTextPadding) * scale;
}

int Canvas::draw_text(int x, int y, const std::string& text, int scale, Rgb colour) {
  const int w = text_width(text, scale);
  fill_rect(x, y, w, text_height(scale), Rgb{0, 0, 0}, kTextBackgroundAlpha);
  int pen = x + kTextPadding * scale;
  const int top = y + kTextPadding * scale;
  for (char ch : text) {
    const auto& rows = glyph(ch);
    for (int r = 0; r < kGlyphHeight; ++r)
      for (int c = 0; c < kGlyphWidth; ++c)
        if (rows[static_cast<size_t>(r)] & (0x10 >> c))
          fill_rect(pen + c * scale, top + r * scale, scale, scale, colour, 1.0f);
    pen += kGlyphAdvance * scale;
  }
  return w;
}

}  // namespace sparseinfer::gst
