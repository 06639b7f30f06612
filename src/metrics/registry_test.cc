#include "metrics/registry.h"

#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace dvs::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(RegistryTest, CounterRendersHelpTypeAndValue) {
  Registry registry;
  registry.AddCounter("dvs_things_total", "Things done.").Inc(3);
  EXPECT_EQ(registry.Render(),
            "# HELP dvs_things_total Things done.\n"
            "# TYPE dvs_things_total counter\n"
            "dvs_things_total 3\n");
}

TEST(RegistryTest, CounterIgnoresNegativeAmounts) {
  Registry registry;
  Counter& counter = registry.AddCounter("dvs_c_total", "c");
  counter.Inc(2);
  counter.Inc(-5);
  EXPECT_EQ(counter.value(), 2);
}

TEST(RegistryTest, RegisteringTheSameNameAgainReturnsTheSameMetric) {
  Registry registry;
  Counter& first = registry.AddCounter("dvs_c_total", "c");
  Counter& second = registry.AddCounter("dvs_c_total", "c");
  EXPECT_EQ(&first, &second);
}

TEST(RegistryDeathTest, RegisteringANameWithAnotherTypeAborts) {
  Registry registry;
  registry.AddCounter("dvs_x", "x");
  EXPECT_DEATH(registry.AddGauge("dvs_x", "x"), "another type");
}

TEST(RegistryDeathTest, AnInvalidNameAborts) {
  Registry registry;
  EXPECT_DEATH(registry.AddGauge("dvs-x", "x"), "invalid metric name");
  EXPECT_DEATH(registry.AddCounterFamily("dvs_y_total", "y", {"le-x"}), "invalid label name");
  EXPECT_DEATH(registry.AddHistogramFamily("dvs_h", "h", {"le"}, {1}), "invalid label name");
}

TEST(RegistryTest, LabelledSeriesAreEscapedAndSorted) {
  Registry registry;
  Family<Counter>& family =
      registry.AddCounterFamily("dvs_req_total", "Requests.", {"route", "code"});
  family.With({"/b", "200"}).Inc();
  family.With({"/a \"q\"", "404"}).Inc(2);
  std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("dvs_req_total{route=\"/a \\\"q\\\"\",code=\"404\"} 2\n"
                              "dvs_req_total{route=\"/b\",code=\"200\"} 1\n"));
}

TEST(RegistryTest, LabelValuesPastTheBoundShareOneOtherSeries) {
  Registry registry;
  Family<Counter>& family = registry.AddCounterFamily("dvs_n_total", "n", {"node"}, 3);
  for (int i = 0; i < 10; ++i) family.With({"node" + std::to_string(i)}).Inc();
  std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("dvs_n_total{node=\"node0\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("dvs_n_total{node=\"node1\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("dvs_n_total{node=\"other\"} 8\n"));
  EXPECT_THAT(text, Not(HasSubstr("node5")));
}

TEST(RegistryTest, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  Registry registry;
  Histogram& histogram = registry.AddHistogram("dvs_d_seconds", "d", {0.1, 1});
  histogram.Observe(0.05);
  histogram.Observe(0.1);  // a bound is inclusive
  histogram.Observe(0.5);
  histogram.Observe(7);
  EXPECT_EQ(registry.Render(),
            "# HELP dvs_d_seconds d\n"
            "# TYPE dvs_d_seconds histogram\n"
            "dvs_d_seconds_bucket{le=\"0.1\"} 2\n"
            "dvs_d_seconds_bucket{le=\"1\"} 3\n"
            "dvs_d_seconds_bucket{le=\"+Inf\"} 4\n"
            "dvs_d_seconds_sum 7.65\n"
            "dvs_d_seconds_count 4\n");
}

TEST(RegistryTest, LabelledHistogramPutsLeLast) {
  Registry registry;
  registry.AddHistogramFamily("dvs_h_seconds", "h", {"route"}, {1}).With({"/x"}).Observe(2);
  EXPECT_THAT(registry.Render(), HasSubstr("dvs_h_seconds_bucket{route=\"/x\",le=\"+Inf\"} 1\n"));
}

TEST(RegistryTest, CallbacksAreReadAtEveryScrapeAndRemovedWithTheirHandle) {
  Registry registry;
  double used = 10;
  CallbackHandle handle =
      registry.AddCallback("dvs_used_bytes", "Used.", Type::kGauge, {"node"}, [&used] {
        return std::vector<Sample>{{{"a"}, used}};
      });
  EXPECT_THAT(registry.Render(), HasSubstr("dvs_used_bytes{node=\"a\"} 10\n"));
  used = 20;
  EXPECT_THAT(registry.Render(), HasSubstr("dvs_used_bytes{node=\"a\"} 20\n"));
  handle.Reset();
  EXPECT_EQ(registry.Render(), "");
}

TEST(RegistryTest, CallbacksAndMetricsRenderInNameOrder) {
  Registry registry;
  registry.AddCounter("dvs_b_total", "b");
  CallbackHandle a = registry.AddCallback("dvs_a", "a", Type::kGauge, {}, [] {
    return std::vector<Sample>{{{}, 1}};
  });
  CallbackHandle c = registry.AddCallback("dvs_c", "c", Type::kGauge, {}, [] {
    return std::vector<Sample>{{{}, 1}};
  });
  std::string text = registry.Render();
  size_t pa = text.find("# HELP dvs_a "), pb = text.find("# HELP dvs_b_total "),
         pc = text.find("# HELP dvs_c ");
  ASSERT_NE(pa, std::string::npos);
  EXPECT_LT(pa, pb);
  EXPECT_LT(pb, pc);
}

TEST(RegistryTest, ConcurrentIncrementsAreAllCounted) {
  Registry registry;
  Family<Counter>& family = registry.AddCounterFamily("dvs_p_total", "p", {"k"});
  Histogram& histogram = registry.AddHistogram("dvs_q_seconds", "q", {1});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10000; ++i) {
        family.With({t % 2 == 0 ? "even" : "odd"}).Inc();
        histogram.Observe(0.5);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(family.With({"even"}).value(), 20000);
  EXPECT_EQ(family.With({"odd"}).value(), 20000);
  EXPECT_EQ(histogram.Read().cumulative.back(), 40000u);
}

}  // namespace
}  // namespace dvs::metrics
