// Lines to an MQTT broker through libmosquitto. The library's network loop
// runs in its own thread (mosquitto_loop_start) and reconnects with
// exponential backoff; a second thread moves lines from the bounded queue to
// the library while the broker is connected, at most `max_inflight` at a
// time. A line counts as published when the broker acknowledged it (QoS 1,
// 2) or when it was written to the socket (QoS 0). Lines in flight when the
// connection drops go back to the front of the queue, are never dropped
// (the broker may have them), and are sent again after the reconnect; only
// lines never handed to the broker are dropped. So at QoS 1 and 2 every line
// is either delivered (at least once) or counted as dropped, exactly; at QoS
// 0 a line written into a connection that then dies is lost without a
// count, as MQTT defines QoS 0.
#pragma once

#include <atomic>
#include <deque>
#include <string>
#include <thread>
#include <utility>

#include "publish/publisher.h"

struct mosquitto;

namespace sparseinfer::gst {

struct MqttSettings {
  std::string host = "localhost";
  int port = 1883;
  std::string topic = "sparseinfer/results";
  int qos = 1;
  std::string client_id;  // empty: made unique per publisher
  int keepalive_s = 30;
  unsigned reconnect_min_s = 1;  // first retry after this many seconds, then longer (libmosquitto's backoff)
  unsigned reconnect_max_s = 30;
  size_t queue_size = 1000;
  size_t max_inflight = 64;
};

class MqttPublisher : public Publisher {
 public:
  explicit MqttPublisher(MqttSettings settings);
  ~MqttPublisher() override;

  // Throws Error when the client cannot be made (a bad setting); a broker
  // that is not there is retried, not an error.
  void start() override;
  void stop(std::chrono::milliseconds grace) override;
  void offer(std::string line) override;
  PublisherStats stats() const override;

 private:
  static void on_connect(struct mosquitto*, void* self, int rc);
  static void on_disconnect(struct mosquitto*, void* self, int rc);
  static void on_publish(struct mosquitto*, void* self, int mid);
  void run();

  const MqttSettings settings_;
  LineQueue queue_;
  struct mosquitto* client_ = nullptr;
  std::thread thread_;

  mutable std::mutex mutex_;  // guards what follows
  std::condition_variable changed_;
  bool connected_ = false;
  bool stopping_ = false;
  std::deque<std::pair<int, std::string>> inflight_;  // (message id, line), oldest first
  uint64_t connects_ = 0;
  std::string last_error_;

  std::atomic<uint64_t> offered_{0}, published_{0}, abandoned_{0};
};

}  // namespace sparseinfer::gst
