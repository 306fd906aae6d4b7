//===- Rtn.h - Round-to-nearest weight quantization -----------------------===//
//
// RTN: every group's scale / zero point comes from its range (absmax for
// symmetric grids, min/max widened to contain 0 for asymmetric grids, see
// computeScaleZero), then every weight is quantized with quantizeValue.
// Per-tensor (groupSize 0), per-channel (groupSize K) and per-group.
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_LIB_NUMERICS_RTN_H
#define LOWBIT_LIB_NUMERICS_RTN_H

#include "lib/Numerics/Quantize.h"

namespace lowbit {
namespace numerics {

/// Quantizes w [N, K] row-major. Fails on bits outside [2, 8], a group size
/// that does not divide K, or an empty shape.
bool quantizeRtn(const float *w, int64_t n, int64_t k, const QuantParams &p,
                 int64_t groupSize, QuantizedWeights &out, std::string &error);

/// Same, but group (row, g)'s range is multiplied by rangeScale[paramIndex]
/// before the scale is computed (clipping; 1 = no clipping). `rangeScale`
/// has groupsPerRow * N entries (1 entry per-tensor).
bool quantizeRtnClipped(const float *w, int64_t n, int64_t k,
                        const QuantParams &p, int64_t groupSize,
                        const std::vector<float> &rangeScale,
                        QuantizedWeights &out, std::string &error);

namespace detail {
/// Allocates `out` for the given grid and shape (q zeroed, scales 1).
void initQuantizedWeights(QuantizedWeights &out, const QuantParams &p,
                          int64_t n, int64_t k, int64_t groupSize);
/// min / max of w over the elements that use parameter slot `slot`.
void slotRange(const float *w, int64_t n, int64_t k, int64_t groupSize,
               int64_t slot, double &lo, double &hi);
/// Quantizes the elements of parameter slot `slot` with its current
/// scale / zero point.
void quantizeSlot(const float *w, QuantizedWeights &out, int64_t slot);
} // namespace detail

} // namespace numerics
} // namespace lowbit

#endif // LOWBIT_LIB_NUMERICS_RTN_H
