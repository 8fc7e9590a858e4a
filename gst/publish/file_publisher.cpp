#include "publish/file_publisher.h"

#include <cerrno>
#include <cstring>

#include "sparseinfer/error.h"

namespace sparseinfer::gst {

FilePublisher::~FilePublisher() {
  stop(std::chrono::milliseconds(0));
}

void FilePublisher::start() {
  if (path_.empty()) throw Error("no file to publish to (property 'location')");
  file_ = std::fopen(path_.c_str(), "w");
  if (!file_) throw Error("cannot open '" + path_ + "' for writing: " + std::strerror(errno));
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void FilePublisher::run() {
  std::string line;
  while (true) {
    if (!queue_.pop(line, std::chrono::milliseconds(100))) {
      if (stopping_) break;
      continue;
    }
    line.push_back('\n');
    if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0) {
      // A full disk: the line is lost, and counted.
      ++abandoned_;
      std::lock_guard<std::mutex> lock(error_mutex_);
      last_error_ = "writing '" + path_ + "' failed: " + std::strerror(errno);
      continue;
    }
    ++written_;
  }
}

void FilePublisher::stop(std::chrono::milliseconds grace) {
  if (!thread_.joinable()) return;
  const auto until = std::chrono::steady_clock::now() + grace;
  while (queue_.size() > 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  stopping_ = true;
  queue_.close();
  thread_.join();
  std::fclose(file_);
  file_ = nullptr;
}

void FilePublisher::offer(std::string line) {
  ++offered_;
  queue_.push(std::move(line));
}

PublisherStats FilePublisher::stats() const {
  PublisherStats s;
  s.offered = offered_;
  s.published = written_;
  s.dropped = queue_.dropped() + abandoned_;
  s.queued = queue_.size();
  s.connected = file_ != nullptr;
  s.connects = 1;
  std::lock_guard<std::mutex> lock(error_mutex_);
  s.last_error = last_error_;
  return s;
}

}  // namespace sparseinfer::gst
