//===- Sensitivity.cpp - per-layer output error of activation bit widths --===//
#include "lib/Calibration/Sensitivity.h"

#include "lib/Numerics/Quantize.h"
#include "lib/Numerics/Rtn.h"

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>

using namespace lowbit;
namespace nm = lowbit::numerics;

std::vector<float> lowbit::calibration::quantizeRowsDynamic(const float *x,
                                                            int64_t rows,
                                                            int64_t k,
                                                            int bits) {
  std::vector<float> out(rows * k);
  int qmax = nm::qmax(bits, /*symmetric=*/true);
  for (int64_t r = 0; r < rows; ++r) {
    const float *row = x + r * k;
    float absmax = 0.0f;
    for (int64_t j = 0; j < k; ++j)
      absmax = std::max(absmax, std::fabs(row[j]));
    float scale = absmax / float(qmax); // f32, as the lowering divides
    if (!(scale > 0.0f))
      scale = 1.0f;
    for (int64_t j = 0; j < k; ++j)
      out[r * k + j] = nm::dequantizeValue(
          nm::quantizeValue(row[j], scale, 0, -qmax, qmax), scale, 0);
  }
  return out;
}

bool lowbit::calibration::measureOutputErrors(
    const float *x, int64_t rows, int64_t k, const float *w, int64_t n,
    int weightBits, int64_t groupSize, const std::vector<int> &actBits,
    std::vector<double> &errors, std::string &error) {
  if (rows <= 0 || k <= 0 || n <= 0) {
    error = "empty samples or weight";
    return false;
  }
  if (!nm::checkFinite(x, rows * k, "sample", error) ||
      !nm::checkFinite(w, n * k, "weight", error))
    return false;
  for (int b : actBits)
    if (b != 0 && !nm::checkBits(b, error))
      return false;
  using RowMatF =
      Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Eigen::MatrixXd wd = Eigen::Map<const RowMatF>(w, n, k).cast<double>();
  Eigen::MatrixXd xd = Eigen::Map<const RowMatF>(x, rows, k).cast<double>();
  Eigen::MatrixXd reference = xd * wd.transpose();
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
  double norm = reference.norm();
  errors.clear();
  for (int b : actBits) {
    Eigen::MatrixXd xq = xd;
    if (b != 0) {
      std::vector<float> v = quantizeRowsDynamic(x, rows, k, b);
      xq = Eigen::Map<const RowMatF>(v.data(), rows, k).cast<double>();
    }
    double diff = (xq * wq.transpose() - reference).norm();
    errors.push_back(norm > 0 ? diff / norm : 0.0);
  }
  return true;
}
