// Change-based execution (CBinfer): every activation keeps last frame's
// values and every layer recomputes only what its inputs' change sets reach.
#pragma once

#include <memory>

#include "engine/executor.h"
#include "engine/gates/gate.h"

namespace sparseinfer {

std::unique_ptr<Executor> make_change_executor(Plan& plan, const GateChoice& gates);

}  // namespace sparseinfer
