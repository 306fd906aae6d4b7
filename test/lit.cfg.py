# -*- Python -*-
import os

import lit.formats
from lit.llvm import llvm_config

config.name = "lowbit"
# lit's internal shell: lit >= 23 rejects execute_external=True, and the
# internal shell behaves the same on every host. RUN lines therefore use no
# shell syntax beyond pipes, &&, || and redirections.
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir", ".test"]
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.lowbit_obj_root, "test")

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.add_tool_substitutions(
    ["lowbit", "lowbit-opt", "lowbit-run"], [config.lowbit_tools_dir])
llvm_config.add_tool_substitutions(["lowbit-nova"], [config.lowbit_tools_dir])
llvm_config.add_tool_substitutions(["lowbit-cuda-emit"], [config.lowbit_tools_dir])
config.substitutions.append(("%python", config.python_executable))
config.substitutions.append(
    ("%make_onnx", config.python_executable + " "
     + os.path.join(config.test_source_root, "Inputs", "make_onnx.py")))
