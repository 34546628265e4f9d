// A gauge whose value is read from elsewhere when scraped (state slots in use, bytes held),
// so the owner of the number need not push every change.
#ifndef GLASERVE_SERVER_METRICS_CALLBACK_GAUGE_H_
#define GLASERVE_SERVER_METRICS_CALLBACK_GAUGE_H_

#include <functional>
#include <string>

#include "server/metrics/collectable.h"

namespace glaserve::metrics {

class CallbackGauge final : public Collectable {
 public:
  // `value` runs on the scraping thread, concurrently with everything else: it must be
  // thread-safe, cheap, and must not call back into the registry.
  CallbackGauge(std::string name, std::string help, std::function<double()> value);

  void Render(std::string& out) const override;

 private:
  const std::string name_;
  const std::string help_;
  const std::function<double()> value_;
};

}  // namespace glaserve::metrics

#endif  // GLASERVE_SERVER_METRICS_CALLBACK_GAUGE_H_
