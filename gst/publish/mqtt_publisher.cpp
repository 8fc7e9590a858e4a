#include "publish/mqtt_publisher.h"

#include <mosquitto.h>
#include <unistd.h>

#include <algorithm>
#include <mutex>

#include "sparseinfer/error.h"

namespace sparseinfer::gst {

namespace {

std::string unique_client_id() {
  static std::atomic<unsigned> counter{0};
  return "sparseinfer-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
}

}  // namespace

MqttPublisher::MqttPublisher(MqttSettings settings) : settings_(std::move(settings)), queue_(settings_.queue_size) {}

MqttPublisher::~MqttPublisher() {
  stop(std::chrono::milliseconds(0));
}

void MqttPublisher::start() {
  static std::once_flag init;
  std::call_once(init, [] { mosquitto_lib_init(); });
  if (settings_.qos < 0 || settings_.qos > 2) throw Error("'qos' must be 0, 1 or 2");
  if (settings_.topic.empty() || mosquitto_pub_topic_check(settings_.topic.c_str()) != MOSQ_ERR_SUCCESS)
    throw Error("'topic' \"" + settings_.topic + "\" is not a topic one can publish to (no + or #, not empty)");
  const std::string id = settings_.client_id.empty() ? unique_client_id() : settings_.client_id;
  client_ = mosquitto_new(id.c_str(), true, this);
  if (!client_) throw Error("cannot create an MQTT client with client-id \"" + id + "\"");
  mosquitto_connect_callback_set(client_, on_connect);
  mosquitto_disconnect_callback_set(client_, on_disconnect);
  mosquitto_publish_callback_set(client_, on_publish);
  // The loop thread retries a lost broker after reconnect_min_s, growing to reconnect_max_s.
  mosquitto_reconnect_delay_set(client_, std::max(1u, settings_.reconnect_min_s),
                                std::max(settings_.reconnect_min_s, settings_.reconnect_max_s), true);
  const int rc = mosquitto_connect_async(client_, settings_.host.c_str(), settings_.port, settings_.keepalive_s);
  if (rc != MOSQ_ERR_SUCCESS) {
    // Not there yet: the loop keeps trying.
    std::lock_guard<std::mutex> lock(mutex_);
    last_error_ = std::string("connecting to ") + settings_.host + ":" + std::to_string(settings_.port) + ": " +
                  (rc == MOSQ_ERR_ERRNO ? mosquitto_strerror(errno) : mosquitto_strerror(rc));
  }
  if (mosquitto_loop_start(client_) != MOSQ_ERR_SUCCESS) {
    mosquitto_destroy(client_);
    client_ = nullptr;
    throw Error("cannot start the MQTT network thread");
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { run(); });
}

void MqttPublisher::on_connect(struct mosquitto*, void* self, int rc) {
  auto* p = static_cast<MqttPublisher*>(self);
  std::lock_guard<std::mutex> lock(p->mutex_);
  if (rc == 0) {
    p->connected_ = true;
    ++p->connects_;
    p->last_error_.clear();
  } else {
    p->last_error_ = std::string("broker refused the connection: ") + mosquitto_connack_string(rc);
  }
  p->changed_.notify_all();
}

void MqttPublisher::on_disconnect(struct mosquitto*, void* self, int rc) {
  auto* p = static_cast<MqttPublisher*>(self);
  std::deque<std::string> unacknowledged;
  {
    std::lock_guard<std::mutex> lock(p->mutex_);
    p->connected_ = false;
    if (rc != 0) p->last_error_ = std::string("connection lost: ") + mosquitto_strerror(rc);
    // Whatever the broker did not acknowledge is sent again after the reconnect.
    for (auto& m : p->inflight_) unacknowledged.push_back(std::move(m.second));
    p->inflight_.clear();
    p->changed_.notify_all();
  }
  p->queue_.push_front(std::move(unacknowledged));
}

void MqttPublisher::on_publish(struct mosquitto*, void* self, int mid) {
  auto* p = static_cast<MqttPublisher*>(self);
  std::lock_guard<std::mutex> lock(p->mutex_);
  auto it = std::find_if(p->inflight_.begin(), p->inflight_.end(), [mid](const auto& m) { return m.first == mid; });
  // An id from before a reconnect was already put back in the queue.
  if (it == p->inflight_.end()) return;
  p->inflight_.erase(it);
  ++p->published_;
  p->changed_.notify_all();
}

void MqttPublisher::run() {
  std::string line;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait_for(lock, std::chrono::milliseconds(100),
                        [&] { return stopping_ || (connected_ && inflight_.size() < settings_.max_inflight); });
      if (stopping_) break;
      if (!connected_ || inflight_.size() >= settings_.max_inflight) continue;
    }
    if (!queue_.pop(line, std::chrono::milliseconds(100))) continue;
    std::unique_lock<std::mutex> lock(mutex_);
    if (!connected_) {
      lock.unlock();
      queue_.push_front({std::move(line)});
      continue;
    }
    int mid = 0;
    // Under the lock, so that the acknowledgement cannot overtake the record of the id.
    const int rc =
        mosquitto_publish(client_, &mid, settings_.topic.c_str(), int(line.size()), line.data(), settings_.qos, false);
    if (rc == MOSQ_ERR_SUCCESS) {
      inflight_.emplace_back(mid, std::move(line));
    } else {
      last_error_ = std::string("publish failed: ") + mosquitto_strerror(rc);
      lock.unlock();
      queue_.push_front({std::move(line)});
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
}

void MqttPublisher::stop(std::chrono::milliseconds grace) {
  if (!client_) return;
  {
    // Give what is queued a chance to go out.
    std::unique_lock<std::mutex> lock(mutex_);
    const auto until = std::chrono::steady_clock::now() + grace;
    while (connected_ && (queue_.size() > 0 || !inflight_.empty()) && std::chrono::steady_clock::now() < until)
      changed_.wait_until(lock, std::min(until, std::chrono::steady_clock::now() + std::chrono::milliseconds(20)));
    stopping_ = true;
    changed_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
  mosquitto_disconnect(client_);
  mosquitto_loop_stop(client_, false);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // Lines that never reached the broker are counted as dropped.
    abandoned_ += queue_.size() + inflight_.size();
    inflight_.clear();
    connected_ = false;
  }
  queue_.close();
  std::string line;
  while (queue_.pop(line, std::chrono::milliseconds(0))) {
  }
  mosquitto_destroy(client_);
  client_ = nullptr;
}

void MqttPublisher::offer(std::string line) {
  ++offered_;
  queue_.push(std::move(line));
}

PublisherStats MqttPublisher::stats() const {
  PublisherStats s;
  s.offered = offered_;
  s.published = published_;
  s.dropped = queue_.dropped() + abandoned_;
  std::lock_guard<std::mutex> lock(mutex_);
  s.queued = queue_.size() + inflight_.size();
  s.connected = connected_;
  s.connects = connects_;
  s.last_error = last_error_;
  return s;
}

}  // namespace sparseinfer::gst
