// CPU kernels of change-based convolution (CBinfer §III-A): change detection
// with closed-loop input state, dilation to affected outputs, matrix
// generation for the affected pixels only, and output update with fused bias
// and activation. The GEMM between them is sgemm().
#pragma once

#include <cstdint>
#include <vector>

#include "ops/activation.h"
#include "ops/change_set.h"
#include "ops/conv_geometry.h"

namespace sparseinfer {

// Eq. (3) with the closed loop of §III-C: a pixel changed when any channel of
// `input` differs from `state` by more than `threshold`; changed pixels are
// copied into `state`. Only `candidates` are examined (every pixel when All).
// Sets flags[n*H*W + y*W + x] = 1 for changed pixels.
void detect_changes(const float* input, float* state, int64_t batch, int64_t channels, int64_t height, int64_t width,
                    const ChangeSet& candidates, float threshold, std::vector<uint8_t>& flags, int threads);

// Eq. (4): flags every output pixel whose window covers a changed input pixel.
void mark_affected_outputs(const ChangeSet& changed_inputs, const ConvGeometry& g, std::vector<uint8_t>& out_flags);

// Matrix generation for group `grp`: row j of `patches` ([n x patch_size])
// holds the receptive field of output pixel pixels[j], zero-padded.
void gather_patches(const float* input, const ConvGeometry& g, int64_t grp, const int32_t* pixels, int64_t n,
                    float* patches, int threads);

// Output update for group `grp`: output[c, p_j] = act(Y[c, j] + bias[c]) for
// the group's output channels; Y is [Cout/group x n] with leading dimension n.
void scatter_outputs(const float* Y, const float* bias, const Activation& act, const ConvGeometry& g, int64_t grp,
                     const int32_t* pixels, int64_t n, float* output, int threads);

// Depthwise convolution evaluated directly at the listed output pixels.
void depthwise_at_pixels(const float* input, const float* weights, const float* bias, const Activation& act,
                         const ConvGeometry& g, const int32_t* pixels, int64_t n, float* output, int threads);

}  // namespace sparseinfer
