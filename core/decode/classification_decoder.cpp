// Classification outputs: class scores [1, C] (or [1, C, 1, 1]), logits
// turned into probabilities by a softmax, or probabilities already.
#include <cmath>

#include "decode/decoders.h"
#include "sparseinfer/error.h"

namespace sparseinfer::decode {

DecodeResult decode_classification(const ModelDescription& d, const std::vector<NamedOutput>& outputs) {
  const Tensor& out = find_output(outputs, d.classification.output, 0, "decoder.output");
  const bool flat = out.rank() == 2 || (out.rank() == 4 && out.dim(2) == 1 && out.dim(3) == 1);
  if (out.dtype() != DType::Float32 || !flat || out.dim(0) != 1 || out.dim(1) < 1)
    throw Error("classification output must be [1,C] or [1,C,1,1], got " + shape_str(out.shape()));
  const int64_t classes = out.dim(1);
  const float* v = out.f32();
  int64_t best = 0;
  for (int64_t c = 1; c < classes; ++c)
    if (v[c] > v[best]) best = c;
  float score = v[best];
  if (d.classification.softmax) {
    // exp(v_best - max) / sum exp(v_c - max), with max = v_best.
    double sum = 0;
    for (int64_t c = 0; c < classes; ++c) sum += std::exp(double(v[c]) - double(v[best]));
    score = float(1.0 / sum);
  }
  DecodeResult r;
  r.kind = DecoderKind::Classification;
  r.top_class = int(best);
  r.top_score = score;
  return r;
}

}  // namespace sparseinfer::decode
