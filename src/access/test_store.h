// Test-only: a fresh SQLite-backed SmallRecordStore in a temp folder, and a
// clock the test moves by hand.
#pragma once

#include <stdlib.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "metadata/sqlite/sqlite_metadata_service.h"

namespace dvs::access::testing {

class TestStore {
 public:
  TestStore() {
    std::string pattern = (std::filesystem::temp_directory_path() / "access-XXXXXX").string();
    EXPECT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    auto opened = metadata::SqliteMetadataService::Open(dir_ / "metadata.db");
    EXPECT_TRUE(opened.ok()) << opened.status();
    if (opened.ok()) service_ = std::move(*opened);
  }
  ~TestStore() {
    service_.reset();
    std::filesystem::remove_all(dir_);
  }
  metadata::SqliteMetadataService& store() { return *service_; }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<metadata::SqliteMetadataService> service_;
};

class FakeClock {
 public:
  int64_t now() const { return now_ms_; }
  void Advance(int64_t ms) { now_ms_ += ms; }
  std::function<int64_t()> AsFunction() {
    return [this] { return now_ms_.load(); };
  }

 private:
  std::atomic<int64_t> now_ms_{1'700'000'000'000};
};

}  // namespace dvs::access::testing
