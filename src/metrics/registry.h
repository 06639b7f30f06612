// Prometheus metrics, written by hand (Debian 12 packages no C++ client):
// counters, gauges and histograms with fixed buckets, optionally with labels,
// kept in a Registry that renders them in the text format 0.0.4, plus
// callbacks that read numbers a subsystem keeps anyway at scrape time.
//
// Recording is lock-light: a metric is a few atomics, and a labelled series
// is found under a shared lock (keep the reference to skip even that). Label
// values are bounded: a family holds at most `max_series` series, and values
// past that are counted under one series whose labels all read "other".
// Everything here is thread-safe. A name or label that breaks the format, or
// one name registered twice with another type or labels, is a programming
// error and aborts.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

namespace dvs::metrics {

enum class Type { kCounter, kGauge, kHistogram };

class Counter {
 public:
  // Negative amounts are ignored: a counter only goes up.
  void Inc(double amount = 1);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double amount) { value_.fetch_add(amount, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Fixed upper bounds (strictly increasing; +Inf is implied).
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);

  struct Snapshot {
    std::vector<double> bounds;
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf
    double sum = 0;
  };
  Snapshot Read() const;

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // bounds_.size() + 1
  std::atomic<double> sum_{0};
};

// 1 ms to 60 s, for request and call latencies.
std::vector<double> LatencyBuckets();
// 1 s to 4 h, for transcoding.
std::vector<double> LongTaskBuckets();

namespace internal {
class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, Type type, std::vector<std::string> label_names);
  virtual ~FamilyBase() = default;
  virtual void Render(std::string* out) const = 0;

  const std::string name;
  const std::string help;
  const Type type;
  const std::vector<std::string> label_names;
};
}  // namespace internal

// The series of one metric, one per combination of label values.
template <typename Metric>
class Family final : public internal::FamilyBase {
 public:
  using Make = std::function<std::unique_ptr<Metric>()>;
  Family(std::string name, std::string help, Type type, std::vector<std::string> label_names,
         size_t max_series, Make make);

  // The series for these values (one per label name; a wrong count aborts).
  Metric& With(const std::vector<std::string>& values);
  void Render(std::string* out) const override;

 private:
  const size_t max_series_;
  const Make make_;
  mutable std::shared_mutex mutex_;
  std::map<std::vector<std::string>, std::unique_ptr<Metric>> series_;  // guarded by mutex_
};

// One sample a callback reports: values for the callback's label names.
struct Sample {
  std::vector<std::string> label_values;
  double value = 0;
};
using Collect = std::function<std::vector<Sample>()>;

class Registry;

// Removes its callback from the registry when destroyed (or Reset).
class CallbackHandle {
 public:
  CallbackHandle() = default;
  CallbackHandle(Registry* registry, uint64_t id) : registry_(registry), id_(id) {}
  CallbackHandle(CallbackHandle&& other) noexcept;
  CallbackHandle& operator=(CallbackHandle&& other) noexcept;
  ~CallbackHandle() { Reset(); }
  void Reset();

 private:
  Registry* registry_ = nullptr;
  uint64_t id_ = 0;
};

class Registry {
 public:
  static constexpr size_t kDefaultMaxSeries = 500;

  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Registering a name again with the same type and labels returns the
  // metric already there, so each recording site may register on its own.
  Counter& AddCounter(std::string_view name, std::string_view help);
  Gauge& AddGauge(std::string_view name, std::string_view help);
  Histogram& AddHistogram(std::string_view name, std::string_view help, std::vector<double> bounds);
  Family<Counter>& AddCounterFamily(std::string_view name, std::string_view help,
                                    std::vector<std::string> label_names,
                                    size_t max_series = kDefaultMaxSeries);
  Family<Gauge>& AddGaugeFamily(std::string_view name, std::string_view help,
                                std::vector<std::string> label_names,
                                size_t max_series = kDefaultMaxSeries);
  Family<Histogram>& AddHistogramFamily(std::string_view name, std::string_view help,
                                        std::vector<std::string> label_names,
                                        std::vector<double> bounds,
                                        size_t max_series = kDefaultMaxSeries);

  // `collect` runs at every scrape (on the scraping thread; keep it quick)
  // and reports counter or gauge samples. Several callbacks may share a
  // name (with the same type and labels); their samples are listed together.
  [[nodiscard]] CallbackHandle AddCallback(std::string_view name, std::string_view help, Type type,
                                           std::vector<std::string> label_names, Collect collect);

  // Every metric, sorted by name, in the text format 0.0.4.
  std::string Render() const;

 private:
  friend class CallbackHandle;
  struct Callback {
    std::string help;
    Type type;
    std::vector<std::string> label_names;
    std::map<uint64_t, Collect> collects;
  };
  template <typename Metric>
  Family<Metric>& AddFamily(std::string_view name, std::string_view help, Type type,
                            std::vector<std::string> label_names, size_t max_series,
                            typename Family<Metric>::Make make);
  void RemoveCallback(uint64_t id);
  void RenderCallback(const std::string& name, const Callback& callback, std::string* out) const;

  mutable std::mutex mutex_;
  // State below is protected by mutex_.
  std::map<std::string, std::unique_ptr<internal::FamilyBase>, std::less<>> families_;
  std::map<std::string, Callback, std::less<>> callbacks_;
  uint64_t next_callback_id_ = 1;
};

// The registry of the process: what /metrics serves.
Registry& DefaultRegistry();

// The HELP and TYPE lines of a metric.
void RenderHeader(std::string_view name, std::string_view help, Type type, std::string* out);
// name{a="x",b="y"} value — with `extra` (a rendered `le="…"`) appended to
// the labels when not empty.
void RenderSample(std::string_view name, const std::vector<std::string>& label_names,
                  const std::vector<std::string>& label_values, std::string_view extra,
                  double value, std::string* out);

}  // namespace dvs::metrics
