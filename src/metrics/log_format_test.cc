#include "metrics/log_format.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <sstream>

namespace dvs::metrics {
namespace {

TEST(LogFormatTest, ParsesTextAndJsonOnly) {
  EXPECT_EQ(*ParseLogFormat("text"), LogFormat::kText);
  EXPECT_EQ(*ParseLogFormat("json"), LogFormat::kJson);
  EXPECT_FALSE(ParseLogFormat("xml").ok());
}

TEST(LogFormatTest, JsonStringEscapesQuotesControlsAndBadUtf8) {
  EXPECT_EQ(JsonString("a \"b\"\n\x01"), R"("a \"b\"\n\u0001")");
  EXPECT_EQ(JsonString("x\xFFy"), "\"x\xEF\xBF\xBDy\"");
}

TEST(LogFormatTest, JsonLinesParseWithTheMessageIntact) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  auto logger = std::make_shared<spdlog::logger>("json-test", sink);
  spdlog::register_logger(logger);
  ConfigureLogging(LogFormat::kJson);  // applies to registered loggers too
  logger->warn("quote \" backslash \\ newline \n end");
  spdlog::drop("json-test");
  nlohmann::json line = nlohmann::json::parse(out.str());
  EXPECT_EQ(line["level"], "warning");
  EXPECT_EQ(line["message"], "quote \" backslash \\ newline \n end");
  EXPECT_EQ(line["time"].get<std::string>().back(), 'Z');
}

}  // namespace
}  // namespace dvs::metrics
