// Lines to a file (JSON lines), written by the publisher's own thread.
#pragma once

#include <atomic>
#include <cstdio>
#include <string>
#include <thread>

#include "publish/publisher.h"

namespace sparseinfer::gst {

class FilePublisher : public Publisher {
 public:
  FilePublisher(std::string path, size_t queue_size) : path_(std::move(path)), queue_(queue_size) {}
  ~FilePublisher() override;

  void start() override;  // throws Error naming the file when it cannot be opened
  void stop(std::chrono::milliseconds grace) override;
  void offer(std::string line) override;
  PublisherStats stats() const override;

 private:
  void run();

  const std::string path_;
  LineQueue queue_;
  std::FILE* file_ = nullptr;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> offered_{0}, written_{0}, abandoned_{0};
  mutable std::mutex error_mutex_;
  std::string last_error_;
};

}  // namespace sparseinfer::gst
