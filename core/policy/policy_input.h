// The policy's view of a frame (BlockCopy §3.3, eq. 2): S_t = {I_t, H_{t-1},
// O_{t-1}, A_{t-1}}, stacked as channels at the policy resolution, where each
// block of the execution grid is 8 x 8 policy pixels (1/4 of the frame with
// 32-pixel blocks, as in the paper's policy input).
#pragma once

#include <cstdint>
#include <vector>

#include "policy/information_gain.h"

namespace sparseinfer::policy {

class PolicyInput {
 public:
  static constexpr int kPixelsPerBlock = 8;
  static constexpr int kImageChannels = 3;

  // The grid's frame and blocks; `output_channels` maps of the previous output.
  PolicyInput(const GridGeometry& grid, int output_channels);

  const GridGeometry& grid() const { return grid_; }
  int height() const { return grid_.rows * kPixelsPerBlock; }
  int width() const { return grid_.cols * kPixelsPerBlock; }
  int output_channels() const { return output_channels_; }
  // 3 (frame) + 3 (frame state) + output channels + 1 (grid).
  int channels() const { return 2 * kImageChannels + output_channels_ + 1; }

  // I_t and H_{t-1}: planar frames [channels, grid.height, grid.width] as
  // the task network takes them; the first three channels are averaged over
  // each policy pixel's area (fewer channels leave the rest zero).
  void set_frame(const float* planes, int channels);
  void set_frame_state(const float* planes, int channels);
  // O_{t-1}: maps [output_channels, height(), width()] at the policy
  // resolution (render_detections / downsample_map make them), in [0, 1];
  // stored minus 0.5 so "nothing" is not zero.
  void set_previous_output(const std::vector<float>& maps);
  // A_{t-1}: one decision per block (1 = executed), stored as ±0.5.
  void set_previous_grid(const std::vector<uint8_t>& executed);

  const std::vector<float>& tensor() const { return tensor_; }

  // Area average of `channels` planes of a width x height image into
  // [channels, rows*8, cols*8]; pixels beyond the image read as 0.
  static std::vector<float> downsample(const float* planes, int channels, const GridGeometry& grid);
  // A [rows*8, cols*8] map: per policy pixel, the highest score of the
  // detections holding its centre (the paper's per-class probability mask,
  // here one map for all labels).
  static std::vector<float> render_detections(const std::vector<Detection>& detections, const GridGeometry& grid);
  // A [map_channels, map_height, map_width] output map (possibly of another
  // resolution than the frame) resampled to [map_channels, rows*8, cols*8]
  // by area average over the frame.
  static std::vector<float> downsample_map(const float* map, int map_channels, int map_height, int map_width,
                                           const GridGeometry& grid);

 private:
  void set_image(int first_channel, const float* planes, int channels);

  GridGeometry grid_;
  int output_channels_;
  std::vector<float> tensor_;
};

}  // namespace sparseinfer::policy
