//===- Statistics.h - calibration statistics and their sidecar file -------===//
//
// What a calibration run records for each tapped tensor (a lowbit.observe
// named after its layer), accumulated batch by batch:
//
//   * per channel (the tap's channel axis; every other dimension counts as
//     samples): max |x| and the sum of |x| (mean |x| = sum / count);
//   * per tensor: a histogram of |x| with kHistogramBins bins over
//     [0, histogramMax); the range doubles (adjacent bins merge) whenever a
//     batch holds a larger value, so percentiles of |x| over all data seen
//     are known to one bin width;
//   * optionally (nn.linear inputs) the Hessian sum over samples of x xᵀ,
//     [C, C] in double, with `count` = the number of samples n;
//   * with the Hessian, the first kSampleRows rows (tokens) themselves, for
//     measurements that need the activations (the sensitivity pass);
//   * for nn.conv2d inputs (NCHW, channels on axis 1), given the conv's
//     geometry: the im2col patch Hessian sum over output positions of p pᵀ,
//     one [K, K] per filter group, K = C/groups * KH * KW, p in the order the
//     filter row [C/groups, KH, KW] is flattened (c, i, j); and up to
//     kSampleRows whole patches [C * KH * KW] at pseudo-random positions, each
//     with the max |x| of the tensor it came from (conv activations are
//     quantized per tensor).
//
// The sidecar is an .npz whose keys are "<layer>/<statistic>" (layer names
// may themselves contain '/'; the statistic is the part after the last one):
//   absmax [C] f4, mean_abs [C] f4, count () i8, histogram [B] f8,
//   histogram_max () f8, percentiles [P] f4 with percentile_levels [P] f8
//   (informative: 99, 99.9, 99.99, 99.999; recomputed from the histogram on
//   read), hessian [C, C] f8 (the plain sum; GPTQ's 2/n scaling is applied by
//   quantize-weights when it reads the file), samples [R, C] f4 (R <=
//   kSampleRows, the first rows seen; only next to a hessian).
//   Conv taps: hessian [K, K] (groups == 1) or [G, K, K] f8, hessian_count
//   () i8 (patches summed per group: N * OH * OW), samples [R, C*KH*KW] f4,
//   samples_absmax [R] f4.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_LIB_CALIBRATION_STATISTICS_H
#define LOWBIT_LIB_CALIBRATION_STATISTICS_H

#include "lib/Support/NpyIO.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace lowbit {
namespace calibration {

constexpr int64_t kHistogramBins = 2048;
/// Rows (tokens) of a Hessian tap kept verbatim as `samples`.
constexpr int64_t kSampleRows = 256;
/// The largest patch length K of a convolution Hessian (K*K doubles: 128 MiB
/// at 4096); insert-observers asks for none above it.
constexpr int64_t kMaxConvHessianSize = 4096;

/// The discardable attribute insert-observers puts on a conv input's
/// lowbit.observe to ask for the patch Hessian: {kernel, strides, pads,
/// dilations, groups} of the conv (Module::calibrate reads it).
constexpr const char kConvPatchesAttr[] = "lowbit.conv_patches";

/// The geometry of an nn.conv2d (ONNX Conv semantics) whose input is tapped.
struct ConvGeometry {
  int64_t kernel[2] = {1, 1};
  int64_t strides[2] = {1, 1};
  int64_t pads[4] = {0, 0, 0, 0}; ///< top, left, bottom, right
  int64_t dilations[2] = {1, 1};
  int64_t groups = 1;

  bool operator==(const ConvGeometry &o) const;
  bool operator!=(const ConvGeometry &o) const { return !(*this == o); }
};

/// Statistics of one tapped tensor.
struct TensorStatistics {
  int64_t channels = 0;
  int64_t channelAxis = -1;
  int64_t count = 0;             ///< samples seen (elements / channels)
  std::vector<float> absMax;     ///< [C]
  std::vector<double> sumAbs;    ///< [C]
  std::vector<double> histogram; ///< [kHistogramBins] counts of |x|
  double histogramMax = 0.0;     ///< upper edge of the last bin
  std::vector<double> hessian;   ///< [C, C] sum x xᵀ, empty if not asked for
  std::vector<float> samples;    ///< [sampleRows, sampleWidth] (with hessian)
  int64_t sampleRows = 0;
  /// Row length of `samples`: C (linear), C * KH * KW (conv patches).
  int64_t sampleWidth = 0;

  // Convolution taps only (see accumulateConvHessian).
  bool conv = false;
  ConvGeometry geometry;
  int64_t hessianGroups = 0;       ///< G; hessian is [G, K, K]
  int64_t hessianSize = 0;         ///< K = C / G * KH * KW
  int64_t hessianCount = 0;        ///< patches summed into each group's H
  std::vector<float> samplesAbsMax; ///< [sampleRows] max |x| of its tensor

  /// max |x| over all channels.
  float tensorAbsMax() const;
  /// mean |x| per channel.
  std::vector<float> meanAbs() const;
  /// The p-th percentile (0 < p <= 100) of |x| over all elements seen: the
  /// upper edge of the histogram bin where the cumulative count reaches
  /// p% (never more than tensorAbsMax(); p = 100 gives tensorAbsMax()).
  double percentile(double p) const;
};

/// Adds one batch: `x` is a dense row-major tensor of `shape`; channels run
/// along `channelAxis`. `hessian` (needs channelAxis == rank - 1) also adds
/// x xᵀ for every row. The first batch fixes channels / axis / hessian; later
/// ones must agree. Fails on non-finite values and shape mismatches.
bool accumulate(TensorStatistics &stats, const float *x,
                const std::vector<int64_t> &shape, int64_t channelAxis,
                bool hessian, std::string &error);

/// Adds the im2col patch Hessian of one NCHW batch `x` [N, C, H, W] for a
/// convolution of geometry `g`: for every group and output position, the
/// patch p (K = C/G * KH * KW values, zero where the window reads padding) in
/// (c, i, j) order, H_g += p pᵀ; and keeps up to kSampleRows whole patches
/// (all C channels) at positions drawn by a fixed pseudo-random sequence,
/// with the batch's max |x|. Only the conv fields of `stats` are touched
/// (accumulate() records the per-channel statistics of the same batch). The
/// first batch fixes the geometry and C; later ones must agree. Fails on
/// bad geometry, a K above kMaxConvHessianSize, or a mismatch.
bool accumulateConvHessian(TensorStatistics &stats, const float *x,
                           const std::vector<int64_t> &shape,
                           const ConvGeometry &g, std::string &error);

/// Moves the conv fields (Hessian, patches) of `from` into `to`.
void takeConvHessian(TensorStatistics &to, TensorStatistics &&from);

/// Statistics of every tap, keyed by tap (layer) name.
using Statistics = std::map<std::string, TensorStatistics>;

/// The statistics of a linear layer's input after X -> X diag(1/s)
/// (smoothing, quantization step migration): per-channel max and sum of |x|
/// and the sample rows divided by s, the Hessian diag(1/s) H diag(1/s)
/// (what GPTQ needs for the weights W diag(s)). The per-tensor |x|
/// histogram cannot be rescaled per channel and is left as it was.
/// `s` has one positive entry per channel.
void divideChannels(TensorStatistics &stats, const std::vector<float> &s);

/// The percentiles written (informatively) to the sidecar.
const std::vector<double> &defaultPercentileLevels();

/// Splits a sidecar key "<layer>/<statistic>" where <statistic> is one of
/// the names above; false for any other key.
bool splitStatisticsKey(const std::string &key, std::string &layer,
                        std::string &statistic);

/// The sidecar's entries for `stats` (see the file comment), layers in name
/// order.
std::vector<NpyArray> toArrays(const Statistics &stats);

/// Writes / reads the sidecar .npz (see the file comment).
bool writeStatistics(const std::string &path, const Statistics &stats,
                     std::string &error);
bool readStatistics(const std::string &path, Statistics &stats,
                    std::string &error);

} // namespace calibration
} // namespace lowbit

#endif // LOWBIT_LIB_CALIBRATION_STATISTICS_H
