// Descriptors of the pooling operators, shared by the reference (ops/pool.cpp)
// and the change-based CPU and CUDA kernels.
#pragma once

namespace sparseinfer {

enum class PoolKind { Max, Average };

}  // namespace sparseinfer
