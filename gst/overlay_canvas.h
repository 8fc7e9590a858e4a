// Drawing on an 8-bit packed video frame in place: alpha blends, rectangles,
// class maps and text in the built-in 5x7 font. Knows nothing of GStreamer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sparseinfer::gst {

struct Rgb {
  uint8_t r, g, b;
};

// A colour per class id, distinct for neighbouring ids.
Rgb class_colour(int id);

class Canvas {
 public:
  // bytes_per_pixel 1 is a grey plane (colours are drawn as their luma);
  // otherwise r, g, b are the byte offsets of the channels in a pixel.
  Canvas(uint8_t* pixels, int width, int height, int stride, int bytes_per_pixel, int r, int g, int b);

  int width() const { return width_; }
  int height() const { return height_; }

  // alpha in [0, 1]: 0 leaves the pixel, 1 replaces it.
  void blend(int x, int y, Rgb colour, float alpha);
  void fill_rect(int x, int y, int w, int h, Rgb colour, float alpha);
  void draw_rect(int x, int y, int w, int h, int thickness, Rgb colour);

  // A label map of grid_w x grid_h cells stretched over the frame; cells
  // with a negative label are left alone.
  void blend_label_map(const std::vector<int>& labels, int grid_w, int grid_h, float alpha);
  // A per-cell intensity map in [0, 1] stretched over the frame, drawn as a
  // heat colour whose opacity grows with the intensity.
  void blend_heat_map(const std::vector<float>& heat, int grid_w, int grid_h, float alpha);

  // Text at (x, y) top-left, each font pixel drawn scale x scale, on a
  // translucent dark box so it reads on any background. Returns the width drawn.
  int draw_text(int x, int y, const std::string& text, int scale, Rgb colour);
  static int text_width(const std::string& text, int scale);
  static int text_height(int scale);

 private:
  uint8_t* pixels_;
  int width_, height_, stride_, bpp_, r_, g_, b_;
};

}  // namespace sparseinfer::gst
