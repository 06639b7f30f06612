#include "metrics/exposition.h"

#include <cmath>
#include <limits>

#include "gtest/gtest.h"

namespace dvs::metrics {
namespace {

TEST(ExpositionTest, MetricNamesFollowThePrometheusGrammar) {
  EXPECT_TRUE(IsValidMetricName("dvs_http_requests_total"));
  EXPECT_TRUE(IsValidMetricName("job:rate5m"));
  EXPECT_FALSE(IsValidMetricName(""));
  EXPECT_FALSE(IsValidMetricName("1abc"));
  EXPECT_FALSE(IsValidMetricName("dvs-http"));
  EXPECT_FALSE(IsValidMetricName("dvs http"));
}

TEST(ExpositionTest, LabelNamesRejectColonsAndTheReservedPrefix) {
  EXPECT_TRUE(IsValidLabelName("route"));
  EXPECT_TRUE(IsValidLabelName("_x"));
  EXPECT_FALSE(IsValidLabelName("__name__"));
  EXPECT_FALSE(IsValidLabelName("a:b"));
  EXPECT_FALSE(IsValidLabelName("9"));
}

TEST(ExpositionTest, LabelValuesEscapeBackslashQuoteAndNewline) {
  EXPECT_EQ(EscapeLabelValue(R"(a\b"c)"
                             "\nd"),
            R"(a\\b\"c\nd)");
  EXPECT_EQ(EscapeLabelValue("127.0.0.1:8090"), "127.0.0.1:8090");
}

TEST(ExpositionTest, LabelValuesReplaceInvalidUtf8) {
  EXPECT_EQ(EscapeLabelValue("caf\xC3\xA9"), "caf\xC3\xA9");
  EXPECT_EQ(EscapeLabelValue("x\xFFy"), "x\xEF\xBF\xBDy");
  EXPECT_EQ(EscapeLabelValue("\xC3"), "\xEF\xBF\xBD");                  // cut short
  EXPECT_EQ(EscapeLabelValue("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong '/'
}

TEST(ExpositionTest, HelpEscapesBackslashAndNewlineOnly) {
  EXPECT_EQ(EscapeHelp("a \"quoted\" \\ line\nnext"), "a \"quoted\" \\\\ line\\nnext");
}

TEST(ExpositionTest, ValuesPrintAsPrometheusParsesThem) {
  EXPECT_EQ(FormatValue(0), "0");
  EXPECT_EQ(FormatValue(42), "42");
  EXPECT_EQ(FormatValue(-3), "-3");
  EXPECT_EQ(FormatValue(1e12), "1000000000000");
  EXPECT_EQ(FormatValue(0.005), "0.005");
  EXPECT_EQ(FormatValue(2.5), "2.5");
  EXPECT_EQ(FormatValue(1e300), "1e+300");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatValue(std::nan("")), "NaN");
}

}  // namespace
}  // namespace dvs::metrics
