// How much of the scene changed between two normalized frames: the adaptive
// schedule's scene-change signal.
#pragma once

#include <array>

#include "sparseinfer/tensor.h"

namespace sparseinfer {

// Share of pixels of two [1,3,H,W] normalized tensors whose largest
// |difference| over the channels, in [0, 1] pixel units (each channel's
// difference times its normalization std), exceeds `threshold`.
// Throws Error when the shapes differ.
double change_fraction(const Tensor& current, const Tensor& reference, const std::array<float, 3>& std,
                       float threshold);

}  // namespace sparseinfer
