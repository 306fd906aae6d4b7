//===- Progress.h - progress of long passes, for whoever shows it -*- C++ -*-===//
//
// Passes cannot take callbacks through their options, so the long ones
// (quantize-weights' GPTQ and decoupleQ, one layer at a time) report their
// progress here, and a caller that wants to show it (the CLI's progress bar)
// installs a sink for the duration of its pipeline. Without a sink a report
// costs a mutex and nothing else.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_SUPPORT_PROGRESS_H
#define LOWBIT_SUPPORT_PROGRESS_H

#include <cstddef>
#include <functional>
#include <string>

namespace lowbit::progress {

/// Receives (task, done, total), e.g. ("quantize-weights gptq", 3, 36).
using Sink = std::function<void(const std::string &task, size_t done,
                                size_t total)>;

/// Installs `sink` (process-wide) until destroyed, then restores the one
/// before it.
class ScopedSink {
public:
  explicit ScopedSink(Sink sink);
  ~ScopedSink();
  ScopedSink(const ScopedSink &) = delete;
  ScopedSink &operator=(const ScopedSink &) = delete;

private:
  Sink previous;
};

/// Reports progress to the installed sink, if any.
void report(const std::string &task, size_t done, size_t total);

} // namespace lowbit::progress

#endif // LOWBIT_SUPPORT_PROGRESS_H
