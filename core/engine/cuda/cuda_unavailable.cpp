// Builds without the CUDA backend (meson option cuda disabled, or no toolkit).
#include "engine/cuda/cuda_executor.h"
#include "sparseinfer/error.h"

namespace sparseinfer {

bool cuda_can_run(const Plan&, std::string* why) {
  if (why) *why = "this build has no CUDA backend (meson option cuda found no toolkit or was disabled)";
  return false;
}

std::unique_ptr<Executor> make_cuda_executor(Plan& plan) {
  std::string why;
  cuda_can_run(plan, &why);
  throw Error("backend 'cuda' is not available: " + why);
}

}  // namespace sparseinfer
