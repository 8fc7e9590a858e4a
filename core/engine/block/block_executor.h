// Block-sparse execution with feature transfer (BlockCopy §3.1): a grid of
// blocks over the network input, mapped through every layer's stride; each
// frame computes only the executed blocks of every layer, reading the halo
// from the stored input maps, and the other blocks keep the features of their
// last execution. A BlockGate picks the blocks (block_gate.h).
#pragma once

#include <memory>

#include "engine/executor.h"

namespace sparseinfer {

std::unique_ptr<Executor> make_block_executor(Plan& plan);

}  // namespace sparseinfer
