#include "engine_cache.h"

#include <algorithm>

namespace sparseinfer::gst {

EngineCache& EngineCache::process() {
  // The registry is what the elements of one process share; it is the one
  // global the plugin keeps, and it holds no instance itself (weak references).
  static EngineCache cache;
  return cache;
}

std::shared_ptr<void> EngineCache::acquire_erased(const std::string& id, const std::string& kind,
                                                  const InstanceSpec& spec,
                                                  const std::function<std::shared_ptr<void>()>& build) {
  std::lock_guard<std::mutex> lock(mutex_);
  // Instances whose last user stopped are gone.
  entries_.erase(std::remove_if(entries_.begin(), entries_.end(), [](const Entry& e) { return e.object.expired(); }),
                 entries_.end());
  for (Entry& e : entries_) {
    if (e.id != id) continue;
    std::shared_ptr<void> object = e.object.lock();
    if (!object) break;
    if (e.kind != kind)
      throw InstanceMismatch("model-instance-id", "model-instance-id '" + id + "' is already used by a " + e.kind +
                                                      ", which cannot share its models with a " + kind);
    for (size_t i = 0; i < spec.size() && i < e.spec.size(); ++i)
      if (spec[i] != e.spec[i])
        throw InstanceMismatch(spec[i].first, "'" + spec[i].first + "' is " + spec[i].second + " here but " +
                                                  e.spec[i].second +
                                                  " in the elements already "
                                                  "sharing model-instance-id '" +
                                                  id + "'; elements that share an engine must compile it alike");
    return object;
  }
  std::shared_ptr<void> object = build();
  entries_.push_back(Entry{id, kind, spec, object});
  return object;
}

long EngineCache::users(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const Entry& e : entries_)
    if (e.id == id) return e.object.use_count();
  return 0;
}

}  // namespace sparseinfer::gst
