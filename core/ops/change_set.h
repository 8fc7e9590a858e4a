// Which pixels of a value changed in the current frame. Change-based kernels
// read their inputs' sets to decide what to recompute and publish their
// outputs' sets for the layers after them (CBinfer §III-E: change indexes
// travel with the data instead of being detected again).
#pragma once

#include <cstdint>
#include <vector>

namespace sparseinfer {

struct ChangeSet {
  enum class Kind : uint8_t {
    None,    // nothing changed: the value is bit-identical to last frame's
    All,     // assume every element changed (first frame, global operators)
    Pixels,  // exactly the listed (n, y, x) positions may differ; all others are identical
  };
  Kind kind = Kind::All;
  // Spatial grid of an N x C x H x W value; zero for values that are not 4-D
  // (those are only ever None or All).
  int64_t batch = 0, height = 0, width = 0;
  std::vector<int32_t> pixels;  // sorted flat indices n*H*W + y*W + x (Kind::Pixels)

  bool spatial() const { return height > 0; }
  void set_grid(int64_t n, int64_t h, int64_t w) {
    batch = n;
    height = h;
    width = w;
  }
  int64_t grid_size() const { return batch * height * width; }
  void set_none() {
    kind = Kind::None;
    pixels.clear();
  }
  void set_all() {
    kind = Kind::All;
    pixels.clear();
  }
  // Fraction of the grid that changed (1 for All, 0 for None).
  double fraction() const {
    if (kind == Kind::All) return 1.0;
    if (kind == Kind::None || grid_size() == 0) return 0.0;
    return static_cast<double>(pixels.size()) / static_cast<double>(grid_size());
  }
};

// Collects the indices of the non-zero entries of a flag map into `set`
// (Pixels, or None when empty) and clears the map for its next use.
void extract_changes(std::vector<uint8_t>& flags, ChangeSet& set);

}  // namespace sparseinfer
