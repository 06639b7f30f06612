// What the storage tests share: reproducible random bytes, and a fresh folder
// for the running test. Test-only; not part of any library.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <string_view>

namespace dvs::storage::testing {

inline std::string RandomBytes(size_t size, uint32_t seed) {
  std::mt19937 random(seed);
  std::string bytes(size, '\0');
  for (char& c : bytes) c = static_cast<char>(random());
  return bytes;
}

// TempDir/<prefix>-<pid>-<test name>, empty (removed first, not created).
inline std::filesystem::path FreshTestDir(std::string_view prefix) {
  std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) /
                              (std::string(prefix) + "-" + std::to_string(::getpid()) + "-" +
                               ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(dir);
  return dir;
}

}  // namespace dvs::storage::testing
