# The C++ install tree: `cmake --install build --component lowbit` installs
# the public headers (include/lowbit), lowbit's static libraries and
# lib/cmake/lowbit/lowbitConfig.cmake, so that other projects can
# `find_package(lowbit CONFIG)` and link `lowbit::LowbitApi`.
include(CMakePackageConfigHelpers)

set(LOWBIT_INSTALL_LIBRARIES
  LowbitApi LowbitCpuExecution LowbitOnnxImport LowbitOnnxProto LowbitNN
  LowbitLowBit LowbitConversion LowbitSupport LowbitNumerics LowbitQuantization
  LowbitWinogradPasses LowbitWinograd
  LowbitCalibration LowbitCalibrationPasses LowbitSensitivityPasses
  LowbitFusion)
target_include_directories(LowbitApi INTERFACE $<INSTALL_INTERFACE:include>)
install(TARGETS ${LOWBIT_INSTALL_LIBRARIES}
  EXPORT lowbitTargets
  ARCHIVE DESTINATION lib COMPONENT lowbit
  LIBRARY DESTINATION lib COMPONENT lowbit)
install(DIRECTORY include/lowbit DESTINATION include COMPONENT lowbit
  FILES_MATCHING PATTERN "*.h")
install(EXPORT lowbitTargets NAMESPACE lowbit::
  DESTINATION lib/cmake/lowbit COMPONENT lowbit)
configure_package_config_file(cmake/lowbitConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/lowbitConfig.cmake
  INSTALL_DESTINATION lib/cmake/lowbit)
write_basic_package_version_file(
  ${CMAKE_CURRENT_BINARY_DIR}/lowbitConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/lowbitConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/lowbitConfigVersion.cmake
  cmake/LowbitMLIRFixups.cmake
  DESTINATION lib/cmake/lowbit COMPONENT lowbit)
