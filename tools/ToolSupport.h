//===- ToolSupport.h - what lowbit's command-line tools share ---*- C++ -*-===//
//
// failWithOneLine: the tools' error contract, one "error: ..." line.
//
// The lowbit tools link LLVM's code generators, which register ~260 flags of
// their own (--amdgpu-*, --x86-*, ...). hideForeignOptions marks every
// option outside the tool's categories cl::Hidden, so --help lists the
// tool's options and --help-hidden still shows LLVM's. (cl::
// HideUnrelatedOptions would make them ReallyHidden: not even
// --help-hidden would list them.)
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_TOOLS_TOOLSUPPORT_H
#define LOWBIT_TOOLS_TOOLSUPPORT_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <string>

namespace lowbit {

inline void hideForeignOptions(
    llvm::ArrayRef<const llvm::cl::OptionCategory *> mine,
    llvm::cl::SubCommand &sub = llvm::cl::SubCommand::getTopLevel()) {
  for (auto &entry : llvm::cl::getRegisteredOptions(sub)) {
    llvm::cl::Option *option = entry.second;
    bool keep = false;
    for (const llvm::cl::OptionCategory *category : option->Categories)
      keep |= llvm::is_contained(mine, category) ||
              category->getName() == "Generic Options";
    if (!keep && option->getOptionHiddenFlag() == llvm::cl::NotHidden)
      option->setHiddenFlag(llvm::cl::Hidden);
  }
}

/// Prints exactly one "error: ..." line on stderr (newlines in the message
/// folded) and returns `code`, the exit status.
inline int failWithOneLine(int code, const llvm::Twine &message) {
  std::string text = message.str();
  for (char &c : text)
    if (c == '\n')
      c = ' ';
  llvm::errs() << "error: " << text << "\n";
  return code;
}

/// Milliseconds since `start`.
inline double millisecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now() - start)
      .count();
}

} // namespace lowbit

#endif // LOWBIT_TOOLS_TOOLSUPPORT_H
