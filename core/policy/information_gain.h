// Information gain (BlockCopy §3.4): how much executing a block changed the
// task output compared with the previous output, per block of the execution
// grid. It is the reward signal of the policy (§3.5, eq. 9).
#pragma once

#include <cstdint>
#include <vector>

namespace sparseinfer::policy {

// A detection in input-frame pixels: corners (x1, y1) top left, (x2, y2)
// bottom right, exclusive; score in [0, 1]; a class label.
struct Detection {
  float x1 = 0, y1 = 0, x2 = 0, y2 = 0;
  float score = 0;
  int label = 0;
};

// Intersection over union of two boxes; 0 when either is empty.
float box_iou(const Detection& a, const Detection& b);

// The execution grid over an image of width x height pixels: `cols` x `rows`
// blocks of block_size pixels; the last row and column may be partial.
struct GridGeometry {
  int rows = 0, cols = 0;
  int block_size = 0;
  int width = 0, height = 0;
  static GridGeometry covering(int width, int height, int block_size);
  int count() const { return rows * cols; }
};

// Algorithm 1 of the paper, combined per block by max pooling (eq. 1). Each
// current detection is matched to the previous detection of the same label
// with the largest IoU; both boxes' pixels get (1 - IoU) times their score.
// Previous detections that no current one matched get their full score (they
// should be removed). Boxes are in the grid's pixels. Returns IG per block,
// row-major [rows * cols].
std::vector<float> detection_information_gain(const std::vector<Detection>& current,
                                              const std::vector<Detection>& previous, const GridGeometry& grid);

// Semantic segmentation (§3.4): the pixelwise KL divergence
// KL(current || previous) of the output distributions, max-pooled per block
// (eq. 1). Maps are [channels, map_height, map_width] probabilities; with
// one channel, each pixel is a Bernoulli (p, 1 - p); with more, a
// distribution over the channels. The map may have another resolution than
// the grid's image: pixel (x, y) of the map lies at (x + 0.5) * width /
// map_width in the image.
std::vector<float> segmentation_information_gain(const float* current, const float* previous, int channels,
                                                 int map_height, int map_width, const GridGeometry& grid);

}  // namespace sparseinfer::policy
