#include "ops/op.h"

namespace sparseinfer {

void register_binary_ops(OpTable&) {}

}  // namespace sparseinfer
