#include "ops/op.h"

namespace sparseinfer {

void register_pool_ops(OpTable&) {}

}  // namespace sparseinfer
