#include "ops/op.h"

namespace sparseinfer {

void register_shape_ops(OpTable&) {}

}  // namespace sparseinfer
