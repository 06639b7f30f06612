// Fetch: one storage node copying a blob from another, node to node, with real
// gRPC servers on 127.0.0.1 in this process. The call's own status is the
// destination's; a failing source comes back as source_error.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "common/sha256.h"
#include "storage/storage_client.h"
#include "storage/storage_server.h"
#include "storage/storage_test_support.h"

namespace dvs::storage {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

using testing::RandomBytes;

class StorageFetchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshTestDir("storage_fetch_test");
    for (const char* name : {"source", "destination"}) {
      auto server = StorageServer::Start({.host = "127.0.0.1", .port = 0, .dir = dir_ / name});
      ASSERT_TRUE(server.ok()) << server.status();
      servers_.push_back(std::move(*server));
    }
    source_ = std::make_unique<StorageClient>(servers_[0]->address());
    destination_ = std::make_unique<StorageClient>(servers_[1]->address());
  }
  void TearDown() override {
    source_.reset();
    destination_.reset();
    servers_.clear();
    fs::remove_all(dir_);
  }
  absl::StatusOr<FetchResult> Fetch(std::string_view key) {
    return destination_->Fetch(key, servers_[0]->address());
  }
  void ExpectNothingStored(std::string_view key) {
    EXPECT_EQ(destination_->Stat(key).status().code(), absl::StatusCode::kNotFound);
    EXPECT_FALSE(fs::exists(dir_ / "destination" / "blobs" / "v"));
  }

  fs::path dir_;
  std::vector<std::unique_ptr<StorageServer>> servers_;
  std::unique_ptr<StorageClient> source_;
  std::unique_ptr<StorageClient> destination_;
};

TEST_F(StorageFetchTest, ABlobIsCopiedNodeToNodeWithItsBlockChecksums) {
  std::string bytes = RandomBytes(9 * kBlockSize + 4321, 1);
  ASSERT_TRUE(source_->Put("v/source.mkv", bytes).ok());
  auto fetched = Fetch("v/source.mkv");
  ASSERT_TRUE(fetched.ok()) << fetched.status();
  ASSERT_TRUE(fetched->source_error.ok()) << fetched->source_error;
  EXPECT_EQ(fetched->stored.outcome, PutOutcome::kCreated);
  EXPECT_EQ(fetched->stored.blob, source_->Stat("v/source.mkv").value());
  EXPECT_EQ(destination_->GetBytes("v/source.mkv").value_or("?"), bytes);
  // The same again changes nothing.
  EXPECT_EQ(Fetch("v/source.mkv")->stored.outcome, PutOutcome::kUnchanged);
}

TEST_F(StorageFetchTest, AKeyTheSourceLacksIsTheSourcesNotFound) {
  auto fetched = Fetch("v/missing");
  ASSERT_TRUE(fetched.ok()) << fetched.status();
  EXPECT_EQ(fetched->source_error.code(), absl::StatusCode::kNotFound) << fetched->source_error;
  EXPECT_THAT(std::string(fetched->source_error.message()), HasSubstr(servers_[0]->address()));
  ExpectNothingStored("v/missing");
}

TEST_F(StorageFetchTest, ADamagedSourceIsTheSourcesDataLossAndNothingIsStored) {
  std::string bytes = RandomBytes(2 * kBlockSize + 9, 2);
  ASSERT_TRUE(source_->Put("v/f", bytes).ok());
  {
    std::fstream file(dir_ / "source" / "blobs" / "v" / "f",
                      std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(kBlockSize + 3);
    file.put(static_cast<char>(bytes[kBlockSize + 3] ^ 0x10));
  }
  auto fetched = Fetch("v/f");
  ASSERT_TRUE(fetched.ok()) << fetched.status();
  EXPECT_EQ(fetched->source_error.code(), absl::StatusCode::kDataLoss) << fetched->source_error;
  ExpectNothingStored("v/f");
}

TEST_F(StorageFetchTest, ASourceThatIsDownIsTheSourcesUnavailable) {
  ASSERT_TRUE(source_->Put("v/f", "bytes").ok());
  servers_[0]->Shutdown(std::chrono::milliseconds(0));
  auto fetched = Fetch("v/f");
  ASSERT_TRUE(fetched.ok()) << fetched.status();
  EXPECT_EQ(fetched->source_error.code(), absl::StatusCode::kUnavailable) << fetched->source_error;
  ExpectNothingStored("v/f");
}

TEST_F(StorageFetchTest, BadRequestsAreTheDestinationsOwnErrors) {
  EXPECT_EQ(destination_->Fetch("v/f", "").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(destination_->Fetch("../escape", servers_[0]->address()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dvs::storage
