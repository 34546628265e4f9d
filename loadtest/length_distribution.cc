#include "loadtest/length_distribution.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace glaserve::loadtest {

LengthDistribution LengthDistribution::Fixed(int32_t length) {
  LengthDistribution d;
  d.lo_ = d.hi_ = length;
  return d;
}

absl::StatusOr<LengthDistribution> LengthDistribution::Uniform(int32_t mean, double spread) {
  if (mean < 1) return absl::InvalidArgumentError(absl::StrCat("length ", mean, " must be >= 1"));
  if (!(spread >= 0 && spread < 1)) {
    return absl::InvalidArgumentError(absl::StrCat("spread ", spread, " must be in [0, 1)"));
  }
  LengthDistribution d;
  d.lo_ = std::max<int32_t>(1, static_cast<int32_t>(std::lround(mean * (1 - spread))));
  d.hi_ = std::max<int32_t>(d.lo_, static_cast<int32_t>(std::lround(mean * (1 + spread))));
  return d;
}

absl::StatusOr<LengthDistribution> LengthDistribution::FromList(std::vector<int32_t> lengths) {
  if (lengths.empty()) return absl::InvalidArgumentError("the list of lengths is empty");
  for (int32_t length : lengths) {
    if (length < 1) return absl::InvalidArgumentError(absl::StrCat("length ", length, " must be >= 1"));
  }
  LengthDistribution d;
  d.lo_ = *std::min_element(lengths.begin(), lengths.end());
  d.hi_ = *std::max_element(lengths.begin(), lengths.end());
  d.list_ = std::move(lengths);
  return d;
}

absl::StatusOr<LengthDistribution> LengthDistribution::FromFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read lengths file ", path));
  std::vector<int32_t> lengths;
  std::string line;
  for (int line_number = 1; std::getline(in, line); ++line_number) {
    absl::string_view text = absl::StripAsciiWhitespace(line);
    if (text.empty() || text[0] == '#') continue;
    int32_t length;
    if (!absl::SimpleAtoi(text, &length)) {
      return absl::InvalidArgumentError(absl::StrCat(path, ":", line_number, ": '", text, "' is not a length"));
    }
    lengths.push_back(length);
  }
  absl::StatusOr<LengthDistribution> d = FromList(std::move(lengths));
  if (!d.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ": ", d.status().message()));
  return d;
}

int32_t LengthDistribution::Sample(Random& random) const {
  if (!list_.empty()) return list_[random.UniformInt(0, static_cast<int64_t>(list_.size()) - 1)];
  if (lo_ == hi_) return lo_;
  return static_cast<int32_t>(random.UniformInt(lo_, hi_));
}

int32_t LengthDistribution::min() const { return lo_; }
int32_t LengthDistribution::max() const { return hi_; }

double LengthDistribution::mean() const {
  if (list_.empty()) return (static_cast<double>(lo_) + hi_) / 2;
  return std::accumulate(list_.begin(), list_.end(), 0.0) / list_.size();
}

std::string LengthDistribution::Describe() const {
  if (!list_.empty()) return absl::StrCat("list of ", list_.size(), " (", lo_, "..", hi_, ")");
  if (lo_ == hi_) return absl::StrCat(lo_);
  return absl::StrCat("uniform[", lo_, ", ", hi_, "]");
}

}  // namespace glaserve::loadtest
