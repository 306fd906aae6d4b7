//===- Progress.cpp - progress of long passes ------------------------------===//
#include "lib/Support/Progress.h"

#include <mutex>

namespace {
std::mutex &sinkMutex() {
  static std::mutex m;
  return m;
}
lowbit::progress::Sink &currentSink() {
  static lowbit::progress::Sink sink;
  return sink;
}
} // namespace

lowbit::progress::ScopedSink::ScopedSink(Sink sink) {
  std::lock_guard<std::mutex> lock(sinkMutex());
  previous = std::move(currentSink());
  currentSink() = std::move(sink);
}

lowbit::progress::ScopedSink::~ScopedSink() {
  std::lock_guard<std::mutex> lock(sinkMutex());
  currentSink() = std::move(previous);
}

void lowbit::progress::report(const std::string &task, size_t done,
                              size_t total) {
  std::lock_guard<std::mutex> lock(sinkMutex());
  if (currentSink())
    currentSink()(task, done, total);
}
