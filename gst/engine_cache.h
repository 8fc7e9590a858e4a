// The process-wide registry behind the "model-instance-id" property: elements
// of one process that name the same instance share one compiled model
// (weights and packed kernels in memory once) and keep their own stream
// state. An instance lives while an element holds it and is released when
// the last one stops. Free of GObject.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "sparseinfer/error.h"

namespace sparseinfer::gst {

// The settings that decide what an instance compiles, in the order they are
// compared: (property name, value as text). Elements that share an instance
// must agree on every one.
using InstanceSpec = std::vector<std::pair<std::string, std::string>>;

// A member's setting differs from the instance's; names the property.
class InstanceMismatch : public Error {
 public:
  InstanceMismatch(std::string property, const std::string& message) : Error(message), property_(std::move(property)) {}
  const std::string& property() const { return property_; }

 private:
  std::string property_;
};

class EngineCache {
 public:
  // The one registry of this process.
  static EngineCache& process();

  // The object shared under `id`: the live one when its spec equals `spec`
  // (else InstanceMismatch naming the first property that differs), or a new
  // one from `build` (called under the registry lock, so two elements never
  // build the same instance twice). `kind` names what is shared (e.g. the
  // element), so that different elements cannot take each other's instance.
  template <typename T>
  std::shared_ptr<T> acquire(const std::string& id, const std::string& kind, const InstanceSpec& spec,
                             const std::function<std::shared_ptr<T>()>& build) {
    std::shared_ptr<void> object =
        acquire_erased(id, kind, spec, [&build]() -> std::shared_ptr<void> { return build(); });
    return std::static_pointer_cast<T>(object);
  }

  // Elements holding the instance `id` now (0 when none is alive).
  long users(const std::string& id) const;

 private:
  struct Entry {
    std::string id, kind;
    InstanceSpec spec;
    std::weak_ptr<void> object;
  };
  std::shared_ptr<void> acquire_erased(const std::string& id, const std::string& kind, const InstanceSpec& spec,
                                       const std::function<std::shared_ptr<void>()>& build);

  mutable std::mutex mutex_;
  std::vector<Entry> entries_;
};

}  // namespace sparseinfer::gst
