#include "ops/op.h"

namespace sparseinfer {

void register_pad_ops(OpTable&) {}

}  // namespace sparseinfer
