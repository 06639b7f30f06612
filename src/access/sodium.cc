#include "access/sodium.h"

#include <sodium.h>

#include <cstdlib>

#include "spdlog/spdlog.h"

namespace dvs::access {

void EnsureSodium() {
  // sodium_init is idempotent and thread-safe; the function static runs it once.
  static const bool initialized = [] {
    if (sodium_init() < 0) {
      spdlog::critical("libsodium cannot initialize");
      std::abort();
    }
    return true;
  }();
  (void)initialized;
}

}  // namespace dvs::access
