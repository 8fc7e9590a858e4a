// Where sparseinferpublish sends its JSON lines: a file or a message broker.
// offer() never blocks on the destination: lines wait in a bounded queue that
// a thread of the publisher drains; when it is full the oldest line is
// dropped and counted. Free of GObject.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

namespace sparseinfer::gst {

struct PublisherStats {
  uint64_t offered = 0;    // lines given to offer()
  uint64_t published = 0;  // lines the destination took (file: written; MQTT: acknowledged, or sent at QoS 0)
  uint64_t dropped = 0;    // lines dropped because the queue was full
  uint64_t queued = 0;     // lines waiting now (in flight included)
  bool connected = false;  // the destination is reachable now
  uint64_t connects = 0;   // successful connections (reconnects are connects - 1)
  std::string last_error;  // the latest connection or write problem, "" when none
};

// The bounded queue between the streaming threads and the publisher's thread.
class LineQueue {
 public:
  explicit LineQueue(size_t capacity) : capacity_(capacity ? capacity : 1) {}

  // Appends `line`; when the queue is full the oldest line goes (and is counted).
  void push(std::string line);
  // Puts lines back in front, in their order, to go out before any other:
  // lines that were handed to the destination without a confirmation (the
  // broker may have them). They are never dropped, so that a dropped line is
  // always one the destination never saw, and the drop count stays exact;
  // there are at most as many as may be in flight.
  void push_front(std::deque<std::string> lines);
  // Waits up to `wait` for a line; false when there is none (or on close()).
  bool pop(std::string& line, std::chrono::milliseconds wait);
  void close();
  void wake();

  uint64_t dropped() const;
  size_t size() const;

 private:
  void trim_locked();

  const size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::string> retry_;  // push_front()'s, served first, never dropped
  std::deque<std::string> lines_;  // bounded by capacity_, the oldest dropped
  uint64_t dropped_ = 0;
  bool closed_ = false;
};

class Publisher {
 public:
  virtual ~Publisher() = default;
  // Opens the destination or starts connecting; throws Error when the
  // settings cannot work at all (an unwritable file, a bad host name is not
  // one: that is retried).
  virtual void start() = 0;
  // Stops the thread; lines still queued are given up to `grace` to go out.
  virtual void stop(std::chrono::milliseconds grace) = 0;
  // Never blocks on the destination.
  virtual void offer(std::string line) = 0;
  virtual PublisherStats stats() const = 0;
};

}  // namespace sparseinfer::gst
