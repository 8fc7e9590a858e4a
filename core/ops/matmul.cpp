#include "ops/op.h"

namespace sparseinfer {

void register_matmul_ops(OpTable&) {}

}  // namespace sparseinfer
