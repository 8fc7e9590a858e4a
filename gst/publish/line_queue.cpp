#include "publish/publisher.h"

namespace sparseinfer::gst {

void LineQueue::trim_locked() {
  while (lines_.size() > capacity_) {
    lines_.pop_front();
    ++dropped_;
  }
}

void LineQueue::push(std::string line) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    lines_.push_back(std::move(line));
    trim_locked();
  }
  ready_.notify_one();
}

void LineQueue::push_front(std::deque<std::string> lines) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = lines.rbegin(); it != lines.rend(); ++it) retry_.push_front(std::move(*it));
  }
  ready_.notify_one();
}

bool LineQueue::pop(std::string& line, std::chrono::milliseconds wait) {
  std::unique_lock<std::mutex> lock(mutex_);
  ready_.wait_for(lock, wait, [&] { return closed_ || !retry_.empty() || !lines_.empty(); });
  std::deque<std::string>& from = !retry_.empty() ? retry_ : lines_;
  if (from.empty()) return false;
  line = std::move(from.front());
  from.pop_front();
  return true;
}

void LineQueue::close() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
  }
  ready_.notify_all();
}

void LineQueue::wake() {
  ready_.notify_all();
}

uint64_t LineQueue::dropped() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return dropped_;
}

size_t LineQueue::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return retry_.size() + lines_.size();
}

}  // namespace sparseinfer::gst
