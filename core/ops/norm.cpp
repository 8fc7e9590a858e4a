#include "ops/op.h"

namespace sparseinfer {

void register_norm_ops(OpTable&) {}

}  // namespace sparseinfer
