//===- HideLlvmOptions.h - keep LLVM's own flags out of --help --*- C++ -*-===//
//
// The lowbit tools link LLVM's code generators, which register ~260 flags of
// their own (--amdgpu-*, --x86-*, ...). hideForeignOptions marks every
// option outside the tool's categories cl::Hidden, so --help lists the
// tool's options and --help-hidden still shows LLVM's. (cl::
// HideUnrelatedOptions would make them ReallyHidden: not even
// --help-hidden would list them.)
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_TOOLS_HIDELLVMOPTIONS_H
#define LOWBIT_TOOLS_HIDELLVMOPTIONS_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/CommandLine.h"

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

} // namespace lowbit

#endif // LOWBIT_TOOLS_HIDELLVMOPTIONS_H
