// The CUDA backend's executor (dense and change mode on the GPU, over the
// kernels in kernels/). Built with meson option cuda; without it, or without
// a device, asking for it is an error that says why.
#pragma once

#include <memory>
#include <string>

#include "engine/executor.h"

namespace sparseinfer {

// True when this build has the CUDA backend, a device answers, and every
// operator of the plan has a CUDA implementation; otherwise `why` says what is missing.
bool cuda_can_run(const Plan& plan, std::string* why);

std::unique_ptr<Executor> make_cuda_executor(Plan& plan);

}  // namespace sparseinfer
