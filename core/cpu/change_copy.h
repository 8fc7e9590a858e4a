// CPU kernels of the data-movement layers in change mode (Concat, nearest
// upsampling): they compute no new values, so like pooling (CBinfer §III-E)
// they only copy the pixels their inputs' change sets reach, and need neither
// a dense recomputation nor a second output-sized buffer to diff against.
#pragma once

#include <cstdint>
#include <vector>

#include "ops/change_set.h"

namespace sparseinfer {

// Channel concatenation at the listed output pixels: output[n, c0 + c, p] =
// inputs[i][n, c, p] for each input i (channels[i] planes, c0 the running sum).
// All tensors share the batch and the H x W grid (hw pixels per plane).
void concat_at_pixels(const std::vector<const float*>& inputs, const std::vector<int64_t>& channels, int64_t hw,
                      const int32_t* pixels, int64_t n, float* output, int threads);

// Nearest upsampling by integer factors (asymmetric coordinates, floor):
// output[n, c, oy, ox] = input[n, c, oy / sy, ox / sx].
struct UpsampleGeometry {
  int64_t batch = 0, channels = 0, in_h = 0, in_w = 0, sy = 1, sx = 1;
  int64_t out_h() const { return in_h * sy; }
  int64_t out_w() const { return in_w * sx; }
};

// Flags the sy x sx output block of every changed input pixel.
void mark_upsampled_outputs(const ChangeSet& changed_inputs, const UpsampleGeometry& g,
                            std::vector<uint8_t>& out_flags);

void upsample_nearest_at_pixels(const float* input, const UpsampleGeometry& g, const int32_t* pixels, int64_t n,
                                float* output, int threads);

}  // namespace sparseinfer
