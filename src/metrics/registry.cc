#include "metrics/registry.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "metrics/exposition.h"

namespace dvs::metrics {
namespace {

[[noreturn]] void Fail(std::string_view what, std::string_view name) {
  // stderr, unbuffered: the reason must be seen before the abort.
  std::fprintf(stderr, "metrics: %.*s: %.*s\n", static_cast<int>(what.size()), what.data(),
               static_cast<int>(name.size()), name.data());
  std::abort();
}

std::string_view TypeName(Type type) {
  switch (type) {
    case Type::kCounter:
      return "counter";
    case Type::kGauge:
      return "gauge";
    case Type::kHistogram:
      return "histogram";
  }
  return "untyped";
}

void CheckNames(std::string_view name, const std::vector<std::string>& label_names,
                bool histogram) {
  if (!IsValidMetricName(name)) Fail("invalid metric name", name);
  for (const std::string& label : label_names) {
    if (!IsValidLabelName(label) || (histogram && label == "le")) {
      Fail("invalid label name", label);
    }
  }
}

void CheckBounds(const std::vector<double>& bounds) {
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (std::isnan(bounds[i]) || std::isinf(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1])) {
      Fail("histogram bounds must be finite and strictly increasing", FormatValue(bounds[i]));
    }
  }
}

void RenderValue(const Counter& counter, std::string_view name,
                 const std::vector<std::string>& label_names,
                 const std::vector<std::string>& values, std::string* out) {
  RenderSample(name, label_names, values, {}, counter.value(), out);
}

void RenderValue(const Gauge& gauge, std::string_view name,
                 const std::vector<std::string>& label_names,
                 const std::vector<std::string>& values, std::string* out) {
  RenderSample(name, label_names, values, {}, gauge.value(), out);
}

void RenderValue(const Histogram& histogram, std::string_view name,
                 const std::vector<std::string>& label_names,
                 const std::vector<std::string>& values, std::string* out) {
  Histogram::Snapshot snapshot = histogram.Read();
  std::string bucket = std::string(name) + "_bucket";
  for (size_t i = 0; i <= snapshot.bounds.size(); ++i) {
    std::string le = i < snapshot.bounds.size() ? FormatValue(snapshot.bounds[i]) : "+Inf";
    RenderSample(bucket, label_names, values, "le=\"" + le + "\"",
                 static_cast<double>(snapshot.cumulative[i]), out);
  }
  RenderSample(std::string(name) + "_sum", label_names, values, {}, snapshot.sum, out);
  RenderSample(std::string(name) + "_count", label_names, values, {},
               static_cast<double>(snapshot.cumulative.back()), out);
}

}  // namespace

void Counter::Inc(double amount) {
  if (amount > 0) value_.fetch_add(amount, std::memory_order_relaxed);
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  CheckBounds(bounds_);
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double value) {
  if (std::isnan(value)) return;
  // The first bucket whose bound is >= value (bounds are inclusive).
  size_t index = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  counts_[index].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot snapshot;
  snapshot.bounds = bounds_;
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    total += counts_[i].load(std::memory_order_relaxed);
    snapshot.cumulative.push_back(total);
  }
  snapshot.sum = sum_.load(std::memory_order_relaxed);
  return snapshot;
}

std::vector<double> LatencyBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

std::vector<double> LongTaskBuckets() {
  return {1, 2, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400};
}

namespace internal {
FamilyBase::FamilyBase(std::string name_in, std::string help_in, Type type_in,
                       std::vector<std::string> label_names_in)
    : name(std::move(name_in)),
      help(std::move(help_in)),
      type(type_in),
      label_names(std::move(label_names_in)) {}
}  // namespace internal

template <typename Metric>
Family<Metric>::Family(std::string name, std::string help, Type type,
                       std::vector<std::string> label_names, size_t max_series, Make make)
    : FamilyBase(std::move(name), std::move(help), type, std::move(label_names)),
      max_series_(std::max<size_t>(1, max_series)),
      make_(std::move(make)) {}

template <typename Metric>
Metric& Family<Metric>::With(const std::vector<std::string>& values) {
  if (values.size() != label_names.size()) Fail("wrong number of label values", name);
  {
    std::shared_lock lock(mutex_);
    auto found = series_.find(values);
    if (found != series_.end()) return *found->second;
  }
  std::unique_lock lock(mutex_);
  auto found = series_.find(values);
  if (found != series_.end()) return *found->second;
  // The last free place is kept for the overflow series.
  if (series_.size() + 1 >= max_series_) {
    std::vector<std::string> other(values.size(), "other");
    std::unique_ptr<Metric>& overflow = series_[other];
    if (overflow == nullptr) {
      spdlog::warn(
          "metrics: {} reached its bound of {} series; further label values are "
          "counted as \"other\"",
          name, max_series_);
      overflow = make_();
    }
    return *overflow;
  }
  std::unique_ptr<Metric>& metric = series_[values];
  metric = make_();
  return *metric;
}

template <typename Metric>
void Family<Metric>::Render(std::string* out) const {
  RenderHeader(name, help, type, out);
  std::shared_lock lock(mutex_);
  for (const auto& [values, metric] : series_) RenderValue(*metric, name, label_names, values, out);
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

CallbackHandle::CallbackHandle(CallbackHandle&& other) noexcept
    : registry_(std::exchange(other.registry_, nullptr)), id_(other.id_) {}

CallbackHandle& CallbackHandle::operator=(CallbackHandle&& other) noexcept {
  if (this != &other) {
    Reset();
    registry_ = std::exchange(other.registry_, nullptr);
    id_ = other.id_;
  }
  return *this;
}

void CallbackHandle::Reset() {
  if (registry_ != nullptr) std::exchange(registry_, nullptr)->RemoveCallback(id_);
}

template <typename Metric>
Family<Metric>& Registry::AddFamily(std::string_view name, std::string_view help, Type type,
                                    std::vector<std::string> label_names, size_t max_series,
                                    typename Family<Metric>::Make make) {
  CheckNames(name, label_names, type == Type::kHistogram);
  std::lock_guard lock(mutex_);
  if (callbacks_.contains(name)) Fail("name already taken by a callback", name);
  auto found = families_.find(name);
  if (found != families_.end()) {
    auto* family = dynamic_cast<Family<Metric>*>(found->second.get());
    if (family == nullptr || family->type != type || family->label_names != label_names) {
      Fail("registered again with another type or labels", name);
    }
    return *family;
  }
  auto family =
      std::make_unique<Family<Metric>>(std::string(name), std::string(help), type,
                                       std::move(label_names), max_series, std::move(make));
  Family<Metric>& result = *family;
  families_.emplace(std::string(name), std::move(family));
  return result;
}

Family<Counter>& Registry::AddCounterFamily(std::string_view name, std::string_view help,
                                            std::vector<std::string> label_names,
                                            size_t max_series) {
  return AddFamily<Counter>(name, help, Type::kCounter, std::move(label_names), max_series,
                            [] { return std::make_unique<Counter>(); });
}

Family<Gauge>& Registry::AddGaugeFamily(std::string_view name, std::string_view help,
                                        std::vector<std::string> label_names, size_t max_series) {
  return AddFamily<Gauge>(name, help, Type::kGauge, std::move(label_names), max_series,
                          [] { return std::make_unique<Gauge>(); });
}

Family<Histogram>& Registry::AddHistogramFamily(std::string_view name, std::string_view help,
                                                std::vector<std::string> label_names,
                                                std::vector<double> bounds, size_t max_series) {
  CheckBounds(bounds);
  return AddFamily<Histogram>(name, help, Type::kHistogram, std::move(label_names), max_series,
                              [bounds] { return std::make_unique<Histogram>(bounds); });
}

Counter& Registry::AddCounter(std::string_view name, std::string_view help) {
  return AddCounterFamily(name, help, {}).With({});
}

Gauge& Registry::AddGauge(std::string_view name, std::string_view help) {
  return AddGaugeFamily(name, help, {}).With({});
}

Histogram& Registry::AddHistogram(std::string_view name, std::string_view help,
                                  std::vector<double> bounds) {
  return AddHistogramFamily(name, help, {}, std::move(bounds)).With({});
}

CallbackHandle Registry::AddCallback(std::string_view name, std::string_view help, Type type,
                                     std::vector<std::string> label_names, Collect collect) {
  if (type == Type::kHistogram) Fail("callbacks report counters or gauges", name);
  CheckNames(name, label_names, false);
  std::lock_guard lock(mutex_);
  if (families_.contains(name)) Fail("name already taken by a metric", name);
  auto found = callbacks_.find(name);
  if (found == callbacks_.end()) {
    found =
        callbacks_.emplace(std::string(name), Callback{std::string(help), type, label_names, {}})
            .first;
  } else if (found->second.type != type || found->second.label_names != label_names) {
    Fail("callback registered again with another type or labels", name);
  }
  uint64_t id = next_callback_id_++;
  found->second.collects.emplace(id, std::move(collect));
  return CallbackHandle(this, id);
}

void Registry::RemoveCallback(uint64_t id) {
  std::lock_guard lock(mutex_);
  for (auto it = callbacks_.begin(); it != callbacks_.end(); ++it) {
    if (it->second.collects.erase(id) == 0) continue;
    if (it->second.collects.empty()) callbacks_.erase(it);
    return;
  }
}

void Registry::RenderCallback(const std::string& name, const Callback& callback,
                              std::string* out) const {
  RenderHeader(name, callback.help, callback.type, out);
  for (const auto& [id, collect] : callback.collects) {
    for (const Sample& sample : collect()) {
      if (sample.label_values.size() != callback.label_names.size()) continue;
      RenderSample(name, callback.label_names, sample.label_values, {}, sample.value, out);
    }
  }
}

// Callbacks run under mutex_: a handle being destroyed waits for a scrape
// that is running its callback, so the callback never outlives its owner.
std::string Registry::Render() const {
  std::string out;
  std::lock_guard lock(mutex_);
  auto family = families_.begin();
  auto callback = callbacks_.begin();
  while (family != families_.end() || callback != callbacks_.end()) {
    if (callback == callbacks_.end() ||
        (family != families_.end() && family->first < callback->first)) {
      (family++)->second->Render(&out);
    } else {
      RenderCallback(callback->first, callback->second, &out);
      ++callback;
    }
  }
  return out;
}

Registry& DefaultRegistry() {
  static Registry* registry = new Registry();  // never destroyed: used until exit
  return *registry;
}

void RenderHeader(std::string_view name, std::string_view help, Type type, std::string* out) {
  out->append("# HELP ").append(name).append(" ").append(EscapeHelp(help)).append("\n");
  out->append("# TYPE ").append(name).append(" ").append(TypeName(type)).append("\n");
}

void RenderSample(std::string_view name, const std::vector<std::string>& label_names,
                  const std::vector<std::string>& label_values, std::string_view extra,
                  double value, std::string* out) {
  out->append(name);
  if (!label_names.empty() || !extra.empty()) {
    out->push_back('{');
    for (size_t i = 0; i < label_names.size(); ++i) {
      if (i > 0) out->push_back(',');
      out->append(label_names[i]).append("=\"").append(EscapeLabelValue(label_values[i]));
      out->push_back('"');
    }
    if (!extra.empty()) {
      if (!label_names.empty()) out->push_back(',');
      out->append(extra);
    }
    out->push_back('}');
  }
  out->push_back(' ');
  out->append(FormatValue(value)).push_back('\n');
}

}  // namespace dvs::metrics
