# cmake -DIN=LowbitDevice.cuh -DOUT=LowbitDeviceSource.inc -P EmbedDevice.cmake
# Writes the device source as one C++ raw string literal.
file(READ "${IN}" content)
file(WRITE "${OUT}.tmp" "R\"lbdev(${content})lbdev\"\n")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
