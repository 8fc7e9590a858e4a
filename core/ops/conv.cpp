#include "ops/op.h"

namespace sparseinfer {

void register_conv_ops(OpTable&) {}

}  // namespace sparseinfer
