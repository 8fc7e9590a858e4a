#include "ops/op.h"

namespace sparseinfer {

void register_softmax_ops(OpTable&) {}

}  // namespace sparseinfer
