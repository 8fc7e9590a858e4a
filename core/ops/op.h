// The interface every operator implements (ncnn style: the executor knows only
// this). core/ops/ holds a readable reference implementation of every
// operator; a backend registers fast implementations of some of them in its
// own table (core/cpu/<op>_cpu.cpp, ncnn's layer/<arch>/<op>_<arch>), and
// create_op prefers those.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sparseinfer/engine.h"
#include "sparseinfer/error.h"
#include "sparseinfer/model.h"
#include "sparseinfer/tensor.h"

namespace sparseinfer {

// Reusable scratch memory for one stream, so forward() never allocates after
// the first frame. Slots are independent buffers.
class Scratch {
 public:
  float* floats(size_t count, int slot = 0);
  size_t bytes() const;

 private:
  std::map<int, std::vector<float, AlignedAllocator<float>>> buffers_;
};

struct ExecContext {
  int threads = 1;  // cores the operator may use
  Scratch* scratch = nullptr;
};

// What an operator knows at creation time besides its node.
struct OpInfo {
  const Node* node = nullptr;
  int64_t opset = 0;
  std::string file;  // model path, for error messages
};

// Throw a ModelError for this node: "FILE: node 'NAME' (OP): REASON".
[[noreturn]] void op_fail(const OpInfo& info, const std::string& reason);

class Op {
 public:
  virtual ~Op() = default;

  // Shape inference, once per input size. inputs[i] is nullptr for an
  // omitted optional input; otherwise it has dtype and shape, and has_data()
  // is true exactly when the value is a constant (initializer or folded).
  // Returns one descriptor (Tensor::descriptor) per node output; throws
  // ModelError via op_fail for inputs the operator cannot handle.
  virtual std::vector<Tensor> infer(const std::vector<const Tensor*>& inputs) = 0;

  // Computes outputs from inputs. There is one output pointer per node
  // output, nullptr for an omitted optional output (e.g. MaxPool's Indices);
  // the others are pre-allocated with the inferred dtypes and shapes. Must not
  // keep state between calls (engines are shared between streams): per-call
  // memory comes from ctx.scratch.
  virtual void forward(const std::vector<const Tensor*>& inputs, const std::vector<Tensor*>& outputs,
                       ExecContext& ctx) = 0;

  // True when the outputs depend only on input shapes (Shape), so the
  // engine can fold the node once shapes are known.
  virtual bool shape_only() const { return false; }

  // Multiply-accumulates for one forward() with these inputs/outputs.
  virtual int64_t macs(const std::vector<const Tensor*>& /*inputs*/,
                       const std::vector<const Tensor*>& /*outputs*/) const {
    return 0;
  }
};

using OpFactory = std::function<std::unique_ptr<Op>(const OpInfo&)>;
using OpTable = std::map<std::string, OpFactory>;

// Creates the operator for a node of the default domain: the backend's fast
// implementation where it has one, else the reference. Throws ModelError
// naming the node when the operator or one of its attributes is unsupported.
// A CUDA engine's host-side operators are the CPU ones (kernels/ registers no
// dense operators yet); Auto means Cpu here.
std::unique_ptr<Op> create_op(const OpInfo& info, Backend backend = Backend::Cpu);
// The reference implementation alone (tests compare backends against it).
std::unique_ptr<Op> create_reference_op(const OpInfo& info);
// Names of every supported operator, sorted.
std::vector<std::string> supported_ops();
// Names of the operators `backend` implements with a fast path, sorted.
std::vector<std::string> fast_ops(Backend backend);

// Each reference operator family registers its factories here (core/ops/<family>.cpp).
void register_conv_ops(OpTable& table);            // Conv
void register_conv_transpose_ops(OpTable& table);  // ConvTranspose
void register_pool_ops(OpTable& table);            // MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool
void register_activation_ops(OpTable& table);  // Relu, Clip, LeakyRelu, PRelu, Sigmoid, HardSigmoid, HardSwish, Tanh
void register_binary_ops(OpTable& table);      // Add, Sub, Mul, Div with broadcasting
void register_norm_ops(OpTable& table);        // BatchNormalization
void register_matmul_ops(OpTable& table);      // Gemm, MatMul
void register_softmax_ops(OpTable& table);     // Softmax
void register_resize_ops(OpTable& table);      // Resize, Upsample
void register_pad_ops(OpTable& table);         // Pad
// Shape, Gather, Unsqueeze, Squeeze, Concat, Flatten, Reshape, Transpose, Identity, Dropout, Constant
void register_shape_ops(OpTable& table);
void register_unary_ops(OpTable& table);        // Sqrt, Exp, Neg, Abs, Erf
void register_pow_ops(OpTable& table);          // Pow
void register_min_max_ops(OpTable& table);      // Min, Max (variadic, broadcasting)
void register_reduce_ops(OpTable& table);       // ReduceMean, ReduceMax, ReduceSum
void register_slice_ops(OpTable& table);        // Slice
void register_split_ops(OpTable& table);        // Split
void register_expand_ops(OpTable& table);       // Expand
void register_tile_ops(OpTable& table);         // Tile
void register_cast_ops(OpTable& table);         // Cast (float32 <-> int64)
void register_depth_space_ops(OpTable& table);  // DepthToSpace (DCR, CRD), SpaceToDepth

// The CPU backend's table of fast operators, defined in core/cpu/cpu_ops.cpp.
// Only this declaration reaches ops/: no header of a backend is included here.
void register_cpu_ops(OpTable& table);

}  // namespace sparseinfer
