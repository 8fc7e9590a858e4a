// Per-layer change-detection thresholds on disk: what `sparseinfer calibrate`
// writes and what the engine, the CLI and the elements load.
//
// {"format": "sparseinfer-thresholds", "version": 1, "model": "net.onnx",
//  "input_shape": [1,3,576,768], "metric": "agreement", "max_loss": 0.005,
//  "thresholds": {"conv_1": 0.05, "conv_2": 0.1}}
#pragma once

#include <map>
#include <string>

#include "sparseinfer/engine.h"

namespace sparseinfer {

struct ThresholdSet {
  std::string model;  // file name of the model they were calibrated for
  Shape input_shape;
  std::string metric;
  double max_loss = 0.0;
  std::map<std::string, float> thresholds;  // layer name -> threshold
};

// Throws sparseinfer::Error naming the file and the problem.
ThresholdSet read_thresholds(const std::string& path);
void write_thresholds(const std::string& path, const ThresholdSet& set);

// Sets every listed layer's threshold on the stream; a layer the engine does
// not have throws Error (the file was made for another model).
void apply_thresholds(StreamState& state, const ThresholdSet& set);

}  // namespace sparseinfer
