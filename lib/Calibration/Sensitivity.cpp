//===- Sensitivity.cpp - per-layer output error of activation bit widths --===//
#include "lib/Calibration/Sensitivity.h"

#include "lib/Numerics/Quantize.h"
#include "lib/Numerics/Rtn.h"

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>

using namespace lowbit;
namespace nm = lowbit::numerics;

std::vector<float>
lowbit::calibration::quantizeRowsWithRange(const float *x, int64_t rows,
                                           int64_t k, int bits,
                                           const float *absMax) {
  std::vector<float> out(rows * k);
  int qmax = nm::qmax(bits, /*symmetric=*/true);
  for (int64_t r = 0; r < rows; ++r) {
    const float *row = x + r * k;
    float scale = absMax[r] / float(qmax); // f32, as the lowering divides
    if (!(scale > 0.0f))
      scale = 1.0f;
    for (int64_t j = 0; j < k; ++j)
      out[r * k + j] = nm::dequantizeValue(
          nm::quantizeValue(row[j], scale, 0, -qmax, qmax), scale, 0);
  }
  return out;
}

std::vector<float> lowbit::calibration::quantizeRowsDynamic(const float *x,
                                                            int64_t rows,
                                                            int64_t k,
                                                            int bits) {
  std::vector<float> absMax(rows, 0.0f);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < k; ++j)
      absMax[r] = std::max(absMax[r], std::fabs(x[r * k + j]));
  return quantizeRowsWithRange(x, rows, k, bits, absMax.data());
}

namespace {

using RowMatF =
    Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// err_B of x [rows, groups * k] against w [n, k] (n / groups rows per
/// group); rowAbsMax null: per-row (per-token) ranges.
bool measure(const float *x, const float *rowAbsMax, int64_t rows,
             int64_t groups, int64_t k, const float *w, int64_t n,
             int weightBits, int64_t groupSize,
             const std::vector<int> &actBits, std::vector<double> &errors,
             std::string &error) {
  if (rows <= 0 || k <= 0 || n <= 0 || groups <= 0) {
    error = "empty samples or weight";
    return false;
  }
  if (n % groups != 0) {
    error = std::to_string(groups) + " groups do not divide " +
            std::to_string(n) + " output channels";
    return false;
  }
  int64_t width = groups * k;
  if (!nm::checkFinite(x, rows * width, "sample", error) ||
      !nm::checkFinite(w, n * k, "weight", error))
    return false;
  for (int b : actBits)
    if (b != 0 && !nm::checkBits(b, error))
      return false;
  Eigen::MatrixXd wd = Eigen::Map<const RowMatF>(w, n, k).cast<double>();
  Eigen::MatrixXd xd = Eigen::Map<const RowMatF>(x, rows, width).cast<double>();
  Eigen::MatrixXd wq = wd;
  if (weightBits != 0) {
    nm::QuantParams p;
    p.bits = weightBits;
    int64_t g = groupSize <= 0 || k % groupSize != 0 ? k : groupSize;
    nm::QuantizedWeights q;
    if (!nm::quantizeRtn(w, n, k, p, g, q, error))
      return false;
    std::vector<float> back = q.dequantize();
    wq = Eigen::Map<const RowMatF>(back.data(), n, k).cast<double>();
  }
  // Output channel block of group g: rows g*m .. g*m+m-1 of w, m = n/groups.
  int64_t m = n / groups;
  auto output = [&](const Eigen::MatrixXd &xs, const Eigen::MatrixXd &ws) {
    Eigen::MatrixXd y(rows, n);
    for (int64_t g = 0; g < groups; ++g)
      y.middleCols(g * m, m).noalias() =
          xs.middleCols(g * k, k) * ws.middleRows(g * m, m).transpose();
    return y;
  };
  Eigen::MatrixXd reference = output(xd, wd);
  double norm = reference.norm();
  errors.clear();
  for (int b : actBits) {
    Eigen::MatrixXd xq = xd;
    if (b != 0) {
      std::vector<float> v =
          rowAbsMax ? calibration::quantizeRowsWithRange(x, rows, width, b,
                                                         rowAbsMax)
                    : calibration::quantizeRowsDynamic(x, rows, width, b);
      xq = Eigen::Map<const RowMatF>(v.data(), rows, width).cast<double>();
    }
    double diff = (output(xq, wq) - reference).norm();
    errors.push_back(norm > 0 ? diff / norm : 0.0);
  }
  return true;
}

} // namespace

bool lowbit::calibration::measureOutputErrors(
    const float *x, int64_t rows, int64_t k, const float *w, int64_t n,
    int weightBits, int64_t groupSize, const std::vector<int> &actBits,
    std::vector<double> &errors, std::string &error) {
  return measure(x, nullptr, rows, 1, k, w, n, weightBits, groupSize,
                 actBits, errors, error);
}

bool lowbit::calibration::measureConvOutputErrors(
    const float *x, const float *rowAbsMax, int64_t rows, int64_t groups,
    int64_t k, const float *w, int64_t n, int weightBits, int64_t groupSize,
    const std::vector<int> &actBits, std::vector<double> &errors,
    std::string &error) {
  if (!rowAbsMax) {
    error = "conv samples need the max |x| of their tensors";
    return false;
  }
  return measure(x, rowAbsMax, rows, groups, k, w, n, weightBits, groupSize,
                 actBits, errors, error);
}
