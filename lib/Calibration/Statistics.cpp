//===- Statistics.cpp - calibration statistics and their sidecar file -----===//
#include "lib/Calibration/Statistics.h"

#include "lib/Support/NpyIO.h"

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>

using namespace lowbit;
using namespace lowbit::calibration;

namespace {

const char *const kStatisticNames[] = {
    "absmax",        "mean_abs",    "count",             "histogram",
    "histogram_max", "percentiles", "percentile_levels", "hessian",
    "samples",       "hessian_count", "samples_absmax", "conv_geometry"};

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
  if (n) // memcpy from or to a null pointer is undefined even for 0 bytes
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
    s.sampleWidth = channels;
    if (keep > 0) {
      s.samples.insert(s.samples.end(), x, x + keep * channels);
      s.sampleRows += keep;
    }
  }
  return true;
}

bool ConvGeometry::operator==(const ConvGeometry &o) const {
  return std::equal(kernel, kernel + 2, o.kernel) &&
         std::equal(strides, strides + 2, o.strides) &&
         std::equal(pads, pads + 4, o.pads) &&
         std::equal(dilations, dilations + 2, o.dilations) &&
         groups == o.groups;
}

namespace {

/// The conv geometry as the 11 integers of the sidecar's conv_geometry.
std::vector<int64_t> geometryValues(const ConvGeometry &g) {
  return {g.kernel[0],  g.kernel[1],    g.strides[0],   g.strides[1],
          g.pads[0],    g.pads[1],      g.pads[2],      g.pads[3],
          g.dilations[0], g.dilations[1], g.groups};
}

bool checkGeometry(const ConvGeometry &g, int64_t channels,
                   std::string &error) {
  for (int d = 0; d < 2; ++d)
    if (g.kernel[d] < 1 || g.strides[d] < 1 || g.dilations[d] < 1) {
      error = "conv kernel, strides and dilations must be >= 1";
      return false;
    }
  for (int64_t p : g.pads)
    if (p < 0) {
      error = "conv pads must be >= 0";
      return false;
    }
  if (g.groups < 1 || channels % g.groups != 0) {
    error = "conv groups " + std::to_string(g.groups) +
            " does not divide the " + std::to_string(channels) +
            " input channels";
    return false;
  }
  int64_t k = channels / g.groups * g.kernel[0] * g.kernel[1];
  if (k > kMaxConvHessianSize) {
    error = "conv patch length K = " + std::to_string(k) + " is above " +
            std::to_string(kMaxConvHessianSize);
    return false;
  }
  return true;
}

} // namespace

bool lowbit::calibration::accumulateConvHessian(
    TensorStatistics &s, const float *x, const std::vector<int64_t> &shape,
    const ConvGeometry &g, std::string &error) {
  if (shape.size() != 4) {
    error = "a conv Hessian needs an NCHW input, got " + shapeText(shape);
    return false;
  }
  int64_t n = shape[0], c = shape[1], height = shape[2], width = shape[3];
  if (!checkGeometry(g, c, error))
    return false;
  int64_t outH = (height + g.pads[0] + g.pads[2] -
                  g.dilations[0] * (g.kernel[0] - 1) - 1) /
                     g.strides[0] +
                 1;
  int64_t outW = (width + g.pads[1] + g.pads[3] -
                  g.dilations[1] * (g.kernel[1] - 1) - 1) /
                     g.strides[1] +
                 1;
  if (outH < 1 || outW < 1) {
    error = "the conv window does not fit the " + shapeText(shape) + " input";
    return false;
  }
  int64_t groups = g.groups, cg = c / groups;
  int64_t taps = g.kernel[0] * g.kernel[1], k = cg * taps;
  if (!s.conv) {
    s.conv = true;
    s.geometry = g;
    s.hessianGroups = groups;
    s.hessianSize = k;
    s.hessian.assign(groups * k * k, 0.0);
    s.sampleWidth = c * taps;
  } else if (s.geometry != g || s.hessianSize != k ||
             s.hessianGroups != groups) {
    error = "batch of shape " + shapeText(shape) +
            " does not match the conv geometry and channels seen before";
    return false;
  }
  int64_t positions = n * outH * outW;
  // The patch value at (position, channel cc of all C, tap t), 0 in padding.
  auto patchValue = [&](int64_t pos, int64_t cc, int64_t t) -> float {
    int64_t b = pos / (outH * outW), rest = pos % (outH * outW);
    int64_t oh = rest / outW, ow = rest % outW;
    int64_t ih = oh * g.strides[0] - g.pads[0] + (t / g.kernel[1]) * g.dilations[0];
    int64_t iw = ow * g.strides[1] - g.pads[1] + (t % g.kernel[1]) * g.dilations[1];
    if (ih < 0 || ih >= height || iw < 0 || iw >= width)
      return 0.0f;
    return x[((b * c + cc) * height + ih) * width + iw];
  };
  for (int64_t i = 0; i < n * c * height * width; ++i)
    if (!std::isfinite(x[i])) {
      error = "element " + std::to_string(i) + " is not finite";
      return false;
    }
  // H_g += Pᵀ P over blocks of positions (bounded memory for large inputs).
  constexpr int64_t kBlock = 1024;
  Eigen::MatrixXd patches;
  for (int64_t gi = 0; gi < groups; ++gi) {
    Eigen::Map<Eigen::MatrixXd> h(s.hessian.data() + gi * k * k, k, k);
    for (int64_t p0 = 0; p0 < positions; p0 += kBlock) {
      int64_t rows = std::min(kBlock, positions - p0);
      patches.resize(rows, k);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t cl = 0; cl < cg; ++cl)
          for (int64_t t = 0; t < taps; ++t)
            patches(r, cl * taps + t) = patchValue(p0 + r, gi * cg + cl, t);
      h.noalias() += patches.transpose() * patches;
    }
  }
  s.hessianCount += positions;
  // Whole patches at pseudo-random positions, with this tensor's max |x|.
  int64_t keep = std::min(positions, kSampleRows - s.sampleRows);
  if (keep > 0) {
    std::vector<int64_t> order(positions);
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 rng(0x10b17ull + uint64_t(s.sampleRows));
    for (int64_t i = 0; i < keep; ++i)
      std::swap(order[i], order[i + int64_t(rng() % uint64_t(positions - i))]);
    std::sort(order.begin(), order.begin() + keep);
    float absMax = 0.0f;
    for (int64_t i = 0; i < n * c * height * width; ++i)
      absMax = std::max(absMax, std::fabs(x[i]));
    for (int64_t i = 0; i < keep; ++i) {
      for (int64_t cc = 0; cc < c; ++cc)
        for (int64_t t = 0; t < taps; ++t)
          s.samples.push_back(patchValue(order[i], cc, t));
      s.samplesAbsMax.push_back(absMax);
    }
    s.sampleRows += keep;
  }
  return true;
}

void lowbit::calibration::takeConvHessian(TensorStatistics &to,
                                          TensorStatistics &&from) {
  to.conv = from.conv;
  to.geometry = from.geometry;
  to.hessianGroups = from.hessianGroups;
  to.hessianSize = from.hessianSize;
  to.hessianCount = from.hessianCount;
  to.hessian = std::move(from.hessian);
  to.samples = std::move(from.samples);
  to.sampleRows = from.sampleRows;
  to.sampleWidth = from.sampleWidth;
  to.samplesAbsMax = std::move(from.samplesAbsMax);
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
    if (s.conv) {
      int64_t k = s.hessianSize, groups = s.hessianGroups;
      std::vector<int64_t> shape = {k, k};
      if (groups != 1)
        shape.insert(shape.begin(), groups);
      arrays.push_back(makeArray(name + "/hessian", "f8", shape,
                                 s.hessian.data(), s.hessian.size()));
      arrays.push_back(makeArray(name + "/hessian_count", "i8", {},
                                 &s.hessianCount, 1));
      std::vector<int64_t> geometry = geometryValues(s.geometry);
      arrays.push_back(makeArray(name + "/conv_geometry", "i8",
                                 {int64_t(geometry.size())}, geometry.data(),
                                 geometry.size()));
      if (s.sampleRows > 0)
        arrays.push_back(makeArray(name + "/samples_absmax", "f4",
                                   {s.sampleRows}, s.samplesAbsMax.data(),
                                   s.samplesAbsMax.size()));
    } else if (!s.hessian.empty()) {
      arrays.push_back(makeArray(name + "/hessian", "f8", {c, c},
                                 s.hessian.data(), s.hessian.size()));
    }
    if (s.sampleRows > 0) {
      // Statistics built by hand may leave the width unset: rows of C.
      int64_t width = s.sampleWidth > 0 ? s.sampleWidth : c;
      arrays.push_back(makeArray(name + "/samples", "f4", {s.sampleRows, width},
                                 s.samples.data(), s.samples.size()));
    }
  }
  return arrays;
}

bool lowbit::calibration::writeStatistics(const std::string &path,
                                          const Statistics &stats,
                                          std::string &error) {
  return writeNpz(path, toArrays(stats), error);
}

namespace {

/// The conv entries of one layer (conv_geometry present).
bool readConvEntries(const std::string &path, const std::string &layer,
                     const NpyArray &geometry, const NpyArray *h,
                     const NpyArray *count, const NpyArray *x,
                     const NpyArray *absMax, TensorStatistics &s,
                     std::string &error) {
  std::string where = path + ": layer '" + layer + "': ";
  std::vector<double> v;
  if (geometry.numElements() != 11 || !readDoubles(geometry, v, error))
    return error = where + "conv_geometry must be 11 integers", false;
  ConvGeometry g;
  int64_t *fields[11] = {&g.kernel[0],    &g.kernel[1],   &g.strides[0],
                         &g.strides[1],   &g.pads[0],     &g.pads[1],
                         &g.pads[2],      &g.pads[3],     &g.dilations[0],
                         &g.dilations[1], &g.groups};
  for (int i = 0; i < 11; ++i)
    *fields[i] = static_cast<int64_t>(v[i]);
  if (!checkGeometry(g, s.channels, error))
    return error = where + error, false;
  s.conv = true;
  s.geometry = g;
  s.hessianGroups = g.groups;
  s.hessianSize = s.channels / g.groups * g.kernel[0] * g.kernel[1];
  int64_t k = s.hessianSize;
  std::vector<int64_t> shape = {k, k};
  if (g.groups != 1)
    shape.insert(shape.begin(), g.groups);
  if (!h || h->shape != shape || !count || count->numElements() != 1)
    return error = where + "a conv layer needs hessian " +
                   shapeText(shape) + " and a scalar hessian_count",
           false;
  if (!readDoubles(*h, s.hessian, error) || !readDoubles(*count, v, error))
    return error = where + error, false;
  s.hessianCount = int64_t(v[0]);
  if (x) {
    int64_t width = s.channels * g.kernel[0] * g.kernel[1];
    if (x->shape.size() != 2 || x->shape[1] != width || !absMax ||
        absMax->shape != std::vector<int64_t>{x->shape[0]})
      return error = where + "conv samples must be [R, " +
                     std::to_string(width) + "] next to samples_absmax [R]",
             false;
    if (!readDoubles(*x, v, error))
      return error = where + error, false;
    s.samples.assign(v.begin(), v.end());
    if (!readDoubles(*absMax, v, error))
      return error = where + error, false;
    s.samplesAbsMax.assign(v.begin(), v.end());
    s.sampleRows = x->shape[0];
    s.sampleWidth = width;
  }
  return true;
}

} // namespace

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
    if (const NpyArray *geometry = get("conv_geometry")) {
      if (!readConvEntries(path, layer, *geometry, get("hessian"),
                           get("hessian_count"), get("samples"),
                           get("samples_absmax"), s, error))
        return false;
    } else if (const NpyArray *h = get("hessian")) {
      if (h->shape != std::vector<int64_t>{s.channels, s.channels})
        return error = path + ": '" + h->name + "' must be [" +
                       std::to_string(s.channels) + ", " +
                       std::to_string(s.channels) + "]",
               false;
      if (!readDoubles(*h, s.hessian, error))
        return error = path + ": " + error, false;
    }
    if (const NpyArray *x = get("samples"); x && !s.conv) {
      if (x->shape.size() != 2 || x->shape[1] != s.channels)
        return error = path + ": '" + x->name + "' must be [R, " +
                       std::to_string(s.channels) + "]",
               false;
      std::vector<double> rows;
      if (!readDoubles(*x, rows, error))
        return error = path + ": " + error, false;
      s.samples.assign(rows.begin(), rows.end());
      s.sampleRows = x->shape[0];
      s.sampleWidth = s.channels;
    }
    stats[layer] = std::move(s);
  }
  return true;
}

void lowbit::calibration::divideChannels(TensorStatistics &st,
                                         const std::vector<float> &s) {
  int64_t k = s.size();
  for (int64_t j = 0; j < k; ++j) {
    st.absMax[j] /= s[j];
    if (static_cast<int64_t>(st.sumAbs.size()) == k)
      st.sumAbs[j] /= s[j];
  }
  for (int64_t t = 0; t < st.sampleRows; ++t)
    for (int64_t j = 0; j < k; ++j)
      st.samples[t * k + j] /= s[j];
  if (static_cast<int64_t>(st.hessian.size()) == k * k)
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < k; ++j)
        st.hessian[i * k + j] /= double(s[i]) * double(s[j]);
}
