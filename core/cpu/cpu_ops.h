// The CPU backend's operator table: each fast operator registers its factory
// from its own file (core/cpu/<op>_cpu.cpp); register_cpu_ops (declared in
// ops/op.h) calls them all.
#pragma once

#include "ops/op.h"

namespace sparseinfer {

void register_conv_cpu(OpTable& table);            // Conv
void register_conv_transpose_cpu(OpTable& table);  // ConvTranspose
void register_matmul_cpu(OpTable& table);          // Gemm, MatMul
void register_pool_cpu(OpTable& table);            // MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool
void register_resize_cpu(OpTable& table);          // Resize (bilinear)

}  // namespace sparseinfer
