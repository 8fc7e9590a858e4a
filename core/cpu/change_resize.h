// CPU kernels of bilinear Resize in change mode (a decoder's upsampling): an
// output pixel blends the 2x2 input pixels around its source position, so,
// like pooling (CBinfer §III-E), it changes only where one of those did, and
// only those outputs are recomputed, in place, with no second output-sized
// buffer to diff against.
#pragma once

#include <cstdint>
#include <vector>

#include "cpu/linear_axis.h"
#include "ops/change_set.h"

namespace sparseinfer {

// One axis of a linear resize: the dense kernel's tables (linear_axis.h),
// and input index i is read by the outputs [first[i], end[i]) (empty when none).
struct LinearTaps : LinearAxis {
  std::vector<int32_t> first, end;
};

struct BilinearGeometry {
  int64_t batch = 0, channels = 0, in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  LinearTaps y, x;
};

// Fills first/end from i0/i1 (both non-decreasing in the output index).
void index_readers(LinearTaps& taps, int64_t in_len);

// Flags every output pixel that reads a changed input pixel.
void mark_bilinear_outputs(const ChangeSet& changed_inputs, const BilinearGeometry& g, std::vector<uint8_t>& out_flags);

// Recomputes the listed output pixels (sorted flat n*H*W + y*W + x indices).
void bilinear_at_pixels(const float* input, const BilinearGeometry& g, const int32_t* pixels, int64_t n, float* output,
                        int threads);

}  // namespace sparseinfer
