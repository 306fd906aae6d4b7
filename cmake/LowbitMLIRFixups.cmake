# Debian's exported MLIRExecutionEngine and MLIRSparseTensorRuntime targets
# list libMLIR.so as a dependency, which would mix the shared MLIR with the
# static libraries lowbit links (two copies of every TypeID: crashes). Point
# them at the static components they actually use. Included by lowbit's own
# build and by the installed lowbitConfig.cmake, so embedders get the same.
foreach(_lowbit_target MLIRExecutionEngine MLIRSparseTensorRuntime MLIRJitRunner)
  if(TARGET ${_lowbit_target})
    get_target_property(_lowbit_deps ${_lowbit_target} INTERFACE_LINK_LIBRARIES)
    if(_lowbit_deps)
      list(REMOVE_ITEM _lowbit_deps MLIR)
    else()
      set(_lowbit_deps)
    endif()
    if(_lowbit_target STREQUAL "MLIRExecutionEngine")
      list(APPEND _lowbit_deps MLIRExecutionEngineUtils
           MLIRLLVMToLLVMIRTranslation MLIRBuiltinToLLVMIRTranslation
           MLIRTargetLLVMIRExport MLIRLLVMDialect MLIRIR MLIRSupport)
    endif()
    set_property(TARGET ${_lowbit_target}
                 PROPERTY INTERFACE_LINK_LIBRARIES "${_lowbit_deps}")
  endif()
endforeach()
