#include "policy/policy_input.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "sparseinfer/error.h"

namespace sparseinfer::policy {

namespace {

// Averages plane [src_h, src_w] over the areas of the policy pixels, where a
// policy pixel spans `scale_x` x `scale_y` source pixels; area beyond the
// source counts as zero.
void area_average(const float* plane, int src_h, int src_w, double scale_x, double scale_y, int out_h, int out_w,
                  float* out) {
  for (int y = 0; y < out_h; ++y) {
    const int y0 = int(std::floor(y * scale_y)), y1 = std::max(y0 + 1, int(std::floor((y + 1) * scale_y)));
    for (int x = 0; x < out_w; ++x) {
      const int x0 = int(std::floor(x * scale_x)), x1 = std::max(x0 + 1, int(std::floor((x + 1) * scale_x)));
      double sum = 0;
      for (int sy = y0; sy < std::min(y1, src_h); ++sy)
        for (int sx = x0; sx < std::min(x1, src_w); ++sx) sum += plane[int64_t(sy) * src_w + sx];
      out[int64_t(y) * out_w + x] = float(sum / double((y1 - y0) * (x1 - x0)));
    }
  }
}

}  // namespace

PolicyInput::PolicyInput(const GridGeometry& grid, int output_channels)
    : grid_(grid), output_channels_(output_channels) {
  if (grid.rows < 1 || grid.cols < 1 || grid.block_size < 1) throw Error("policy input: the block grid is empty");
  if (output_channels < 0) throw Error("policy input: output_channels must not be negative");
  tensor_.assign(size_t(channels()) * height() * width(), 0.f);
}

std::vector<float> PolicyInput::downsample(const float* planes, int channels, const GridGeometry& grid) {
  const int h = grid.rows * kPixelsPerBlock, w = grid.cols * kPixelsPerBlock;
  const double scale = double(grid.block_size) / kPixelsPerBlock;
  std::vector<float> out(size_t(channels) * h * w, 0.f);
  for (int c = 0; c < channels; ++c)
    area_average(planes + int64_t(c) * grid.height * grid.width, grid.height, grid.width, scale, scale, h, w,
                 out.data() + int64_t(c) * h * w);
  return out;
}

std::vector<float> PolicyInput::downsample_map(const float* map, int map_channels, int map_height, int map_width,
                                               const GridGeometry& grid) {
  const int h = grid.rows * kPixelsPerBlock, w = grid.cols * kPixelsPerBlock;
  // Map pixels per policy pixel: the map spans grid.width x grid.height frame pixels.
  const double scale_x = double(grid.block_size) / kPixelsPerBlock * map_width / grid.width;
  const double scale_y = double(grid.block_size) / kPixelsPerBlock * map_height / grid.height;
  std::vector<float> out(size_t(map_channels) * h * w, 0.f);
  for (int c = 0; c < map_channels; ++c)
    area_average(map + int64_t(c) * map_height * map_width, map_height, map_width, scale_x, scale_y, h, w,
                 out.data() + int64_t(c) * h * w);
  return out;
}

std::vector<float> PolicyInput::render_detections(const std::vector<Detection>& detections, const GridGeometry& grid) {
  const int h = grid.rows * kPixelsPerBlock, w = grid.cols * kPixelsPerBlock;
  const double scale = double(grid.block_size) / kPixelsPerBlock;
  std::vector<float> out(size_t(h) * w, 0.f);
  for (const Detection& d : detections) {
    // Policy pixel x covers frame pixels [x*scale, (x+1)*scale); its centre is in the box when
    // x1 <= (x + 0.5) * scale < x2.
    const int x0 = std::max(0, int(std::ceil(d.x1 / scale - 0.5)));
    const int x1 = std::min(w, int(std::ceil(d.x2 / scale - 0.5)));
    const int y0 = std::max(0, int(std::ceil(d.y1 / scale - 0.5)));
    const int y1 = std::min(h, int(std::ceil(d.y2 / scale - 0.5)));
    for (int y = y0; y < y1; ++y)
      for (int x = x0; x < x1; ++x) {
        float& cell = out[size_t(y) * w + x];
        cell = std::max(cell, d.score);
      }
  }
  return out;
}

void PolicyInput::set_image(int first_channel, const float* planes, int channels) {
  const int used = std::min(channels, kImageChannels);
  const std::vector<float> small = downsample(planes, used, grid_);
  const size_t plane = size_t(height()) * width();
  std::fill_n(tensor_.begin() + first_channel * plane, kImageChannels * plane, 0.f);
  std::copy(small.begin(), small.end(), tensor_.begin() + first_channel * plane);
}

void PolicyInput::set_frame(const float* planes, int channels) {
  set_image(0, planes, channels);
}

void PolicyInput::set_frame_state(const float* planes, int channels) {
  set_image(kImageChannels, planes, channels);
}

void PolicyInput::set_previous_output(const std::vector<float>& maps) {
  const size_t plane = size_t(height()) * width();
  if (maps.size() != size_t(output_channels_) * plane)
    throw Error("policy input: previous output has " + std::to_string(maps.size()) + " values, expected " +
                std::to_string(size_t(output_channels_) * plane));
  float* dst = tensor_.data() + 2 * kImageChannels * plane;
  for (size_t i = 0; i < maps.size(); ++i) dst[i] = maps[i] - 0.5f;
}

void PolicyInput::set_previous_grid(const std::vector<uint8_t>& executed) {
  if (executed.size() != size_t(grid_.count()))
    throw Error("policy input: previous grid has " + std::to_string(executed.size()) + " blocks, expected " +
                std::to_string(grid_.count()));
  const size_t plane = size_t(height()) * width();
  float* dst = tensor_.data() + (2 * kImageChannels + output_channels_) * plane;
  const int w = width();
  for (int y = 0; y < height(); ++y)
    for (int x = 0; x < w; ++x)
      dst[size_t(y) * w + x] = executed[size_t(y / kPixelsPerBlock) * grid_.cols + x / kPixelsPerBlock] ? 0.5f : -0.5f;
}

}  // namespace sparseinfer::policy
