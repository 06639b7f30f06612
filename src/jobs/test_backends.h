// Test-only: the metadata backends the jobs tests run on, each opened as
// often as a test wants (two opens of one backend stand for two processes):
// SQLite in a temp folder, and a real 3-member etcd cluster (one for the
// test program, a key prefix per test). And a clock the test moves by hand.
#pragma once

#include <stdlib.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"
#include "metadata/etcd/etcd_metadata_service.h"
#include "metadata/etcd/etcd_test_cluster.h"
#include "metadata/sqlite/sqlite_metadata_service.h"

namespace dvs::jobs::testing {

class FakeClock {
 public:
  int64_t now() const { return now_ms_; }
  void Advance(int64_t ms) { now_ms_ += ms; }
  void Set(int64_t ms) { now_ms_ = ms; }
  std::function<int64_t()> AsFunction() {
    return [this] { return now_ms_.load(); };
  }

 private:
  std::atomic<int64_t> now_ms_{1'700'000'000'000};
};

class SqliteBackend {
 public:
  static constexpr const char* kName = "Sqlite";
  SqliteBackend() {
    std::string pattern = (std::filesystem::temp_directory_path() / "jobs-XXXXXX").string();
    EXPECT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  ~SqliteBackend() { std::filesystem::remove_all(dir_); }
  void SetUp() {}
  std::unique_ptr<metadata::VideoMetadataService> Open() {
    auto opened = metadata::SqliteMetadataService::Open(dir_ / "metadata.db");
    EXPECT_TRUE(opened.ok()) << opened.status();
    return opened.ok() ? std::move(*opened) : nullptr;
  }

 private:
  std::filesystem::path dir_;
};

// The etcd cluster, started once by EtcdEnvironment.
inline metadata::EtcdTestCluster* g_cluster = nullptr;
inline absl::Status* g_cluster_started = nullptr;

class EtcdEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    g_cluster = new metadata::EtcdTestCluster(3);
    g_cluster_started = new absl::Status(g_cluster->Start());
  }
  void TearDown() override {
    delete g_cluster;
    delete g_cluster_started;
  }
};

class EtcdBackend {
 public:
  static constexpr const char* kName = "Etcd";
  void SetUp() {
    ASSERT_NE(g_cluster_started, nullptr) << "register EtcdEnvironment";
    ASSERT_TRUE(g_cluster_started->ok()) << *g_cluster_started;
    const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
    prefix_ = absl::StrCat(
        "/test-",
        absl::StrReplaceAll(absl::StrCat(test->test_suite_name(), "-", test->name()), {{"/", "-"}}),
        "/");
  }
  std::unique_ptr<metadata::VideoMetadataService> Open() {
    auto opened = metadata::EtcdMetadataService::Open(g_cluster->NewClient(), prefix_);
    EXPECT_TRUE(opened.ok()) << opened.status();
    return opened.ok() ? std::move(*opened) : nullptr;
  }

 private:
  std::string prefix_;
};

struct BackendNames {
  template <typename Backend>
  static std::string GetName(int) {
    return Backend::kName;
  }
};

}  // namespace dvs::jobs::testing
