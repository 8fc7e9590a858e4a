// The executor table: one line per (backend, mode). A new mode is a folder
// beside dense/ and change/ plus its line here.
#include "engine/executor.h"

#include "engine/block/block_executor.h"
#include "engine/change/change_executor.h"
#include "engine/cuda/cuda_executor.h"
#include "engine/dense/dense_executor.h"
#include "engine/plan.h"
#include "sparseinfer/error.h"

namespace sparseinfer {

std::unique_ptr<Executor> make_executor(Plan& plan) {
  Backend& backend = plan.options.backend;
  // auto: the GPU when one is there and can run the whole network (the Gumbel gate is CPU only).
  const bool gumbel = plan.options.gumbel_gates != nullptr;
  if (backend == Backend::Auto) backend = !gumbel && cuda_can_run(plan, nullptr) ? Backend::Cuda : Backend::Cpu;
  if (gumbel && (backend == Backend::Cuda || plan.options.mode != Mode::Change))
    throw Error("Gumbel gates run in change mode on the CPU backend only");
  // Validates the gate name in every mode.
  const GateKind gate = gate_kind_from_name(plan.options.gate);
  if (gumbel && gate != GateKind::Threshold)
    throw Error("gate '" + plan.options.gate + "': the Gumbel gates from a gates file replace the gate");
  if (backend == Backend::Cuda) {
    if (plan.options.mode != Mode::Dense && gate != GateKind::Threshold)
      throw Error("gate '" + plan.options.gate + "': the CUDA backend has the threshold gate only");
    return make_cuda_executor(plan);
  }
  switch (plan.options.mode) {
    case Mode::Dense:
      return make_dense_executor(plan);
    case Mode::Change:
      return make_change_executor(plan, GateChoice{gumbel ? GateKind::Gumbel : gate, plan.options.gumbel_gates});
    case Mode::Block:
      return make_block_executor(plan);
  }
  throw Error(std::string("mode '") + mode_name(plan.options.mode) + "' has no executor");
}

}  // namespace sparseinfer
