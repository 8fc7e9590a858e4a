// Dense execution: every layer computed in full, every frame, over the
// buffers the plan shares between activations whose lifetimes do not overlap.
#pragma once

#include <memory>

#include "engine/executor.h"

namespace sparseinfer {

std::unique_ptr<Executor> make_dense_executor(Plan& plan);

}  // namespace sparseinfer
