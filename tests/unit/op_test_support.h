// Small builders shared by the operator tests: random tensors and bare nodes.
#pragma once

#include <random>
#include <string>
#include <vector>

#include "sparseinfer/model.h"
#include "sparseinfer/tensor.h"

namespace sparseinfer::test {

using Ints = std::vector<int64_t>;

// Uniform values in [-1, 1), reproducible from `seed`.
inline Tensor random_tensor(Shape shape, uint32_t seed) {
  Tensor t(DType::Float32, std::move(shape));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (int64_t i = 0; i < t.numel(); ++i) t.f32()[i] = dist(rng);
  return t;
}

// A node named "<op>_test" reading in0.. and writing out0..; attributes are the caller's.
inline Node make_node(const std::string& op_type, size_t n_inputs, size_t n_outputs = 1) {
  Node n;
  n.name = op_type + "_test";
  n.op_type = op_type;
  for (size_t i = 0; i < n_inputs; ++i) n.inputs.push_back("in" + std::to_string(i));
  for (size_t i = 0; i < n_outputs; ++i) n.outputs.push_back("out" + std::to_string(i));
  return n;
}

// Output tensors allocated from infer()'s descriptors, with `pointers` to
// them for forward() (a returned vector keeps its buffer, so they stay valid).
inline std::vector<Tensor> allocate_outputs(const std::vector<Tensor>& descriptors, std::vector<Tensor*>& pointers) {
  std::vector<Tensor> outputs(descriptors.size());
  pointers.clear();
  for (size_t i = 0; i < descriptors.size(); ++i) {
    outputs[i].allocate(descriptors[i].dtype(), descriptors[i].shape());
    pointers.push_back(&outputs[i]);
  }
  return outputs;
}

}  // namespace sparseinfer::test
