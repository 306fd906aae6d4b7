//===- Statistics.cpp - calibration statistics and their sidecar file -----===//
#include "lib/Calibration/Statistics.h"

#include "lib/Support/NpyIO.h"

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <cstring>

using namespace lowbit;
using namespace lowbit::calibration;

namespace {

const char *const kStatisticNames[] = {
    "absmax",        "mean_abs",    "count",             "histogram",
    "histogram_max", "percentiles", "percentile_levels", "hessian",
    "samples"};

std::string shapeText(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? "x" : "") + std::to_string(shape[i]);
  return s + "]";
}

/// Halves the histogram's resolution until `value` fits below its range.
void widenHistogram(TensorStatistics &s, double value) {
  while (s.histogramMax < value) {
    for (int64_t i = 0; i < kHistogramBins / 2; ++i)
      s.histogram[i] = s.histogram[2 * i] + s.histogram[2 * i + 1];
    std::fill(s.histogram.begin() + kHistogramBins / 2, s.histogram.end(), 0);
    s.histogramMax *= 2;
  }
}

template <typename T>
NpyArray makeArray(const std::string &name, const char *dtype,
                   std::vector<int64_t> shape, const T *values, size_t n) {
  NpyArray a;
  a.name = name;
  a.dtype = dtype;
  a.shape = std::move(shape);
  a.data.resize(n * sizeof(T));
  std::memcpy(a.data.data(), values, a.data.size());
  return a;
}

/// The values of `a` as doubles (f4, f8 or i8 arrays).
bool readDoubles(const NpyArray &a, std::vector<double> &out,
                 std::string &error) {
  int64_t n = a.numElements();
  out.resize(n);
  for (int64_t i = 0; i < n; ++i) {
    if (a.dtype == "f4")
      out[i] = reinterpret_cast<const float *>(a.data.data())[i];
    else if (a.dtype == "f8")
      out[i] = reinterpret_cast<const double *>(a.data.data())[i];
    else if (a.dtype == "i8")
      out[i] = double(reinterpret_cast<const int64_t *>(a.data.data())[i]);
    else {
      error = "entry '" + a.name + "' has dtype " + a.dtype +
              " (expected f4, f8 or i8)";
      return false;
    }
  }
  return true;
}

} // namespace

float TensorStatistics::tensorAbsMax() const {
  float m = 0.0f;
  for (float v : absMax)
    m = std::max(m, v);
  return m;
}

std::vector<float> TensorStatistics::meanAbs() const {
  std::vector<float> mean(channels, 0.0f);
  if (count > 0)
    for (int64_t c = 0; c < channels; ++c)
      mean[c] = static_cast<float>(sumAbs[c] / double(count));
  return mean;
}

double TensorStatistics::percentile(double p) const {
  double top = tensorAbsMax();
  if (p >= 100.0 || histogram.empty())
    return top;
  double total = 0;
  for (double c : histogram)
    total += c;
  if (total <= 0)
    return top;
  double target = p / 100.0 * total, cumulative = 0;
  for (int64_t i = 0; i < kHistogramBins; ++i) {
    cumulative += histogram[i];
    if (cumulative >= target)
      return std::min(top, histogramMax * double(i + 1) / kHistogramBins);
  }
  return top;
}

bool lowbit::calibration::accumulate(TensorStatistics &s, const float *x,
                                     const std::vector<int64_t> &shape,
                                     int64_t axis, bool hessian,
                                     std::string &error) {
  int64_t rank = shape.size();
  if (axis < 0 || axis >= rank) {
    error = "channel axis " + std::to_string(axis) + " is out of range for " +
            shapeText(shape);
    return false;
  }
  if (hessian && axis != rank - 1) {
    error = "the Hessian needs the channels in the last dimension";
    return false;
  }
  int64_t channels = shape[axis], inner = 1, total = 1;
  for (int64_t d = axis + 1; d < rank; ++d)
    inner *= shape[d];
  for (int64_t d : shape)
    total *= d;
  if (s.channels == 0) {
    s.channels = channels;
    s.channelAxis = axis;
    s.absMax.assign(channels, 0.0f);
    s.sumAbs.assign(channels, 0.0);
    s.histogram.assign(kHistogramBins, 0.0);
    if (hessian)
      s.hessian.assign(channels * channels, 0.0);
  } else if (s.channels != channels || s.channelAxis != axis ||
             hessian != !s.hessian.empty()) {
    error = "batch of shape " + shapeText(shape) + " does not match the " +
            std::to_string(s.channels) + " channels (axis " +
            std::to_string(s.channelAxis) + ") seen before";
    return false;
  }
  if (channels == 0 || total == 0)
    return true;
  float batchMax = 0.0f;
  for (int64_t i = 0; i < total; ++i) {
    float a = std::fabs(x[i]);
    if (!std::isfinite(a)) {
      error = "element " + std::to_string(i) + " is not finite";
      return false;
    }
    int64_t c = (i / inner) % channels;
    s.absMax[c] = std::max(s.absMax[c], a);
    s.sumAbs[c] += a;
    batchMax = std::max(batchMax, a);
  }
  if (s.histogramMax == 0.0)
    s.histogramMax = batchMax;
  else
    widenHistogram(s, batchMax);
  for (int64_t i = 0; i < total; ++i) {
    double a = std::fabs(x[i]);
    int64_t bin = s.histogramMax > 0
                      ? static_cast<int64_t>(a / s.histogramMax * kHistogramBins)
                      : 0;
    s.histogram[std::min<int64_t>(bin, kHistogramBins - 1)] += 1;
  }
  s.count += total / channels;
  if (hessian) {
    int64_t rows = total / channels;
    using RowMatF =
        Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    Eigen::MatrixXd xd =
        Eigen::Map<const RowMatF>(x, rows, channels).cast<double>();
    Eigen::Map<Eigen::MatrixXd> h(s.hessian.data(), channels, channels);
    h.noalias() += xd.transpose() * xd;
    int64_t keep = std::min(rows, kSampleRows - s.sampleRows);
    if (keep > 0) {
      s.samples.insert(s.samples.end(), x, x + keep * channels);
      s.sampleRows += keep;
    }
  }
  return true;
}

const std::vector<double> &lowbit::calibration::defaultPercentileLevels() {
  static const std::vector<double> levels = {99.0, 99.9, 99.99, 99.999};
  return levels;
}

bool lowbit::calibration::splitStatisticsKey(const std::string &key,
                                             std::string &layer,
                                             std::string &statistic) {
  size_t slash = key.rfind('/');
  if (slash == std::string::npos || slash == 0)
    return false;
  std::string stat = key.substr(slash + 1);
  for (const char *known : kStatisticNames)
    if (stat == known) {
      layer = key.substr(0, slash);
      statistic = stat;
      return true;
    }
  return false;
}

std::vector<NpyArray> lowbit::calibration::toArrays(const Statistics &stats) {
  std::vector<NpyArray> arrays;
  for (const auto &[name, s] : stats) {
    int64_t c = s.channels;
    arrays.push_back(
        makeArray(name + "/absmax", "f4", {c}, s.absMax.data(), c));
    std::vector<float> mean = s.meanAbs();
    arrays.push_back(makeArray(name + "/mean_abs", "f4", {c}, mean.data(), c));
    arrays.push_back(makeArray(name + "/count", "i8", {}, &s.count, 1));
    arrays.push_back(makeArray(name + "/histogram", "f8", {kHistogramBins},
                               s.histogram.data(), s.histogram.size()));
    arrays.push_back(
        makeArray(name + "/histogram_max", "f8", {}, &s.histogramMax, 1));
    const std::vector<double> &levels = defaultPercentileLevels();
    std::vector<float> values;
    for (double p : levels)
      values.push_back(static_cast<float>(s.percentile(p)));
    int64_t np = levels.size();
    arrays.push_back(
        makeArray(name + "/percentiles", "f4", {np}, values.data(), np));
    arrays.push_back(makeArray(name + "/percentile_levels", "f8", {np},
                               levels.data(), np));
    if (!s.hessian.empty())
      arrays.push_back(makeArray(name + "/hessian", "f8", {c, c},
                                 s.hessian.data(), s.hessian.size()));
    if (s.sampleRows > 0)
      arrays.push_back(makeArray(name + "/samples", "f4", {s.sampleRows, c},
                                 s.samples.data(), s.samples.size()));
  }
  return arrays;
}

bool lowbit::calibration::writeStatistics(const std::string &path,
                                          const Statistics &stats,
                                          std::string &error) {
  return writeNpz(path, toArrays(stats), error);
}

bool lowbit::calibration::readStatistics(const std::string &path,
                                         Statistics &stats,
                                         std::string &error) {
  std::vector<NpyArray> arrays;
  if (!readNpz(path, arrays, error))
    return false;
  std::map<std::string, std::map<std::string, const NpyArray *>> byLayer;
  for (const NpyArray &a : arrays) {
    std::string layer, stat;
    if (splitStatisticsKey(a.name, layer, stat))
      byLayer[layer][stat] = &a;
  }
  for (auto &[layer, entries] : byLayer) {
    auto get = [&](const char *stat) -> const NpyArray * {
      auto it = entries.find(stat);
      return it == entries.end() ? nullptr : it->second;
    };
    const NpyArray *absmax = get("absmax"), *count = get("count");
    if (!absmax || !count || absmax->shape.size() != 1 ||
        count->numElements() != 1) {
      error = path + ": layer '" + layer +
              "' needs an absmax [C] and a scalar count entry";
      return false;
    }
    TensorStatistics s;
    std::vector<double> values;
    if (!readDoubles(*absmax, values, error))
      return error = path + ": " + error, false;
    s.channels = absmax->shape[0];
    s.absMax.assign(values.begin(), values.end());
    if (!readDoubles(*count, values, error))
      return error = path + ": " + error, false;
    s.count = static_cast<int64_t>(values[0]);
    s.sumAbs.assign(s.channels, 0.0);
    if (const NpyArray *mean = get("mean_abs")) {
      if (!readDoubles(*mean, values, error))
        return error = path + ": " + error, false;
      if (int64_t(values.size()) != s.channels)
        return error = path + ": '" + mean->name + "' has the wrong size",
               false;
      for (int64_t c = 0; c < s.channels; ++c)
        s.sumAbs[c] = values[c] * double(s.count);
    }
    const NpyArray *hist = get("histogram"), *histMax = get("histogram_max");
    if (hist && histMax) {
      if (!readDoubles(*hist, s.histogram, error) ||
          !readDoubles(*histMax, values, error))
        return error = path + ": " + error, false;
      if (int64_t(s.histogram.size()) != kHistogramBins)
        return error = path + ": '" + hist->name + "' must have " +
                       std::to_string(kHistogramBins) + " bins",
               false;
      s.histogramMax = values[0];
    }
    if (const NpyArray *h = get("hessian")) {
      if (h->shape != std::vector<int64_t>{s.channels, s.channels})
        return error = path + ": '" + h->name + "' must be [" +
                       std::to_string(s.channels) + ", " +
                       std::to_string(s.channels) + "]",
               false;
      if (!readDoubles(*h, s.hessian, error))
        return error = path + ": " + error, false;
    }
    if (const NpyArray *x = get("samples")) {
      if (x->shape.size() != 2 || x->shape[1] != s.channels)
        return error = path + ": '" + x->name + "' must be [R, " +
                       std::to_string(s.channels) + "]",
               false;
      std::vector<double> rows;
      if (!readDoubles(*x, rows, error))
        return error = path + ": " + error, false;
      s.samples.assign(rows.begin(), rows.end());
      s.sampleRows = x->shape[0];
    }
    stats[layer] = std::move(s);
  }
  return true;
}
