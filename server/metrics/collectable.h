// What the registry renders: one metric family, its HELP and TYPE lines and every sample.
#ifndef GLASERVE_SERVER_METRICS_COLLECTABLE_H_
#define GLASERVE_SERVER_METRICS_COLLECTABLE_H_

#include <string>

namespace glaserve::metrics {

class Collectable {
 public:
  virtual ~Collectable() = default;
  // Appends the family in text format 0.0.4. Called concurrently with updates.
  virtual void Render(std::string& out) const = 0;
};

}  // namespace glaserve::metrics

#endif  // GLASERVE_SERVER_METRICS_COLLECTABLE_H_
