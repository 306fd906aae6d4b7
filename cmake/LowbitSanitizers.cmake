# Sanitizer and fuzzer builds (issue 18). Only lowbit's own code is
# instrumented; Debian's LLVM/MLIR static libraries are linked as they are.
#
#   -DLOWBIT_SANITIZERS=address,undefined  instruments every lowbit target
#                                          (scripts/sanitize.sh, build-asan)
#   -DLOWBIT_BUILD_FUZZER=ON               the same, plus libFuzzer coverage
#                                          and the fuzz/ targets (clang only;
#                                          scripts/fuzz.sh, build-fuzz)
set(LOWBIT_SANITIZERS "" CACHE STRING
    "Comma-separated -fsanitize= list for every lowbit target (e.g. address,undefined)")

if(LOWBIT_BUILD_FUZZER)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "LOWBIT_BUILD_FUZZER needs clang (libFuzzer): configure "
                        "with -DCMAKE_CXX_COMPILER=clang++-22 (Debian: clang-22 "
                        "libclang-rt-22-dev)")
  endif()
  if(NOT LOWBIT_SANITIZERS)
    set(LOWBIT_SANITIZERS "address,undefined")
  endif()
endif()

if(LOWBIT_SANITIZERS)
  message(STATUS "lowbit: instrumenting lowbit code with -fsanitize=${LOWBIT_SANITIZERS}")
  add_compile_options(-fsanitize=${LOWBIT_SANITIZERS} -fno-omit-frame-pointer)
  # Line tables are enough for symbolized stacks and keep the objects small.
  if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    add_compile_options(-gline-tables-only)
  else()
    add_compile_options(-g1)
  endif()
  add_link_options(-fsanitize=${LOWBIT_SANITIZERS})
endif()

if(LOWBIT_BUILD_FUZZER)
  # Coverage counters in lowbit's code guide the fuzzer; the fuzz targets add
  # -fsanitize=fuzzer, which links libFuzzer's main. A UB report stops the
  # input (it is a bug like a crash), whatever UBSAN_OPTIONS says.
  add_compile_options(-fsanitize=fuzzer-no-link -fno-sanitize-recover=undefined)
endif()
