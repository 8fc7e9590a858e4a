// CUDA kernels of change-based inference (CBinfer §III), each the device
// counterpart of a CPU kernel in core/cpu/change_*.h computing the same values:
// same flags, same pixel order (sorted flat indices n*H*W + y*W + x), same zero
// padding, same activation math. All pointers are device pointers; every
// function only queues work on ctx's stream (none waits, unless it says so).
#pragma once

#include <cstdint>

#include "device_buffer.h"
#include "ops/activation.h"
#include "ops/conv_geometry.h"
#include "ops/eltwise.h"
#include "ops/pool.h"

namespace sparseinfer::cuda {

class CudaContext;

// Eq. (3) with the closed loop of §III-C, one thread per pixel over the
// channels: flags[p] = 1 when some channel of `input` differs from `state` by
// more than `threshold`, and then that pixel's channels are copied into
// `state`. Every pixel is examined when `candidates` is null, else only the
// n_candidates listed ones. All batch*H*W flags are written (0 or 1).
void detect_changes(const CudaContext& ctx, const float* input, float* state, int64_t batch, int64_t channels,
                    int64_t height, int64_t width, const int32_t* candidates, int64_t n_candidates, float threshold,
                    uint8_t* flags);

// Eq. (4): out_flags[q] = 1 for every output pixel whose window (stride,
// padding, dilation of g) covers an input pixel flagged in in_flags. Written
// as a gather (one thread per output pixel), so no clearing pass or atomics.
void mark_affected_outputs(const CudaContext& ctx, const uint8_t* in_flags, const ConvGeometry& g, uint8_t* out_flags);

// flags[0, grid) = 0, then flags[pixels[j]] = 1 for the n listed pixels.
void flag_pixels(const CudaContext& ctx, const int32_t* pixels, int64_t n, int64_t grid, uint8_t* flags);

// Change-index extraction: the sorted indices of the non-zero flags, by
// cub::DeviceSelect::Flagged over a counting iterator. Scratch grows once.
class IndexExtractor {
 public:
  // Queues the selection of flags[0, n); the count lands in *d_count (device).
  void select(const CudaContext& ctx, const uint8_t* flags, int64_t n, int32_t* indices, int32_t* d_count);

 private:
  DeviceBuffer<unsigned char> temp_;
};

// Matrix generation for group `grp`: row j of `patches` ([n x patch_size],
// row-major) is the zero-padded receptive field of output pixel pixels[j].
void gather_patches(const CudaContext& ctx, const float* input, const ConvGeometry& g, int64_t grp,
                    const int32_t* pixels, int64_t n, float* patches);
// The same, rounded to IEEE half (bits in uint16_t) for the tensor-core GEMM.
void gather_patches_f16(const CudaContext& ctx, const float* input, const ConvGeometry& g, int64_t grp,
                        const int32_t* pixels, int64_t n, uint16_t* patches);
// Rounds `count` floats to IEEE half (weights for the tensor-core GEMM).
void convert_to_f16(const CudaContext& ctx, const float* src, int64_t count, uint16_t* dst);

// Y[m x n] = W[m x k] * P^T with P [n x k], all row-major (Y leading dim n):
// cuBLAS SGEMM in fp32, or GemmEx on fp16 inputs with fp32 accumulation.
void gemm_weights_patches(const CudaContext& ctx, int64_t m, int64_t n, int64_t k, const float* W, const float* P,
                          float* Y);
void gemm_weights_patches_f16(const CudaContext& ctx, int64_t m, int64_t n, int64_t k, const uint16_t* W,
                              const uint16_t* P, float* Y);

// Output update for group `grp`: output[c, pixels[j]] = act(Y[c, j] + bias[c])
// for the group's output channels; Y is [Cout/group x n], leading dim n.
void scatter_outputs(const CudaContext& ctx, const float* Y, const float* bias, const Activation& act,
                     const ConvGeometry& g, int64_t grp, const int32_t* pixels, int64_t n, float* output);

// Depthwise convolution evaluated directly at the listed output pixels (every
// output pixel, in order, when pixels is null and n = batch*out_h*out_w).
void depthwise_at_pixels(const CudaContext& ctx, const float* input, const float* weights, const float* bias,
                         const Activation& act, const ConvGeometry& g, const int32_t* pixels, int64_t n, float* output);

// Pooling windows at the listed output pixels for every channel (CBinfer
// §III-E); Max ignores padding, Average divides by the clipped window unless
// count_include_pad.
void pool_at_pixels(const CudaContext& ctx, const float* input, PoolKind kind, bool count_include_pad,
                    const ConvGeometry& g, const int32_t* pixels, int64_t n, float* output);

// output[n,c,y,x] = op(a, b) at every channel of each listed pixel (b unused
// for Activation); operands carry broadcast strides as on the CPU.
void eltwise_at_pixels(const CudaContext& ctx, EltwiseOp op, const Activation& act, const BroadcastOperand& a,
                       const BroadcastOperand& b, const int64_t out_shape[4], const int32_t* pixels, int64_t n,
                       float* output);

}  // namespace sparseinfer::cuda
