// The fuzz targets' assertion: a broken property aborts, which libFuzzer
// reports as a crash and saves the input that caused it. Unlike assert(), it
// holds whatever NDEBUG says.
#pragma once

#include <cstdlib>

namespace dvs::fuzz {

inline void Check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace dvs::fuzz
