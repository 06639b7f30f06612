// The small pieces of the Prometheus text format 0.0.4 that need care:
// names, escaping and numbers. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace dvs::metrics {

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool IsValidMetricName(std::string_view name);
// [a-zA-Z_][a-zA-Z0-9_]*, and not starting with "__" (reserved).
bool IsValidLabelName(std::string_view name);

// A label value between double quotes: backslash, double quote and line feed
// escaped as \\, \" and \n. Bytes that are not valid UTF-8 become U+FFFD, so
// a value taken from outside can never break the exposition.
std::string EscapeLabelValue(std::string_view value);
// A HELP text: backslash and line feed escaped.
std::string EscapeHelp(std::string_view help);

// A sample value as Prometheus parses it: "NaN", "+Inf", "-Inf", integers
// without a fraction, other values in the shortest form that reads back equal.
std::string FormatValue(double value);

}  // namespace dvs::metrics
