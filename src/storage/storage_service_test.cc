// The storage server end to end: a real gRPC server on 127.0.0.1 port 0 in
// this process, called through StorageClient (and a raw stub where the
// client's own checks would hide the server's).
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/sha256.h"
#include "proto/storage.grpc.pb.h"
#include "storage/storage_client.h"
#include "storage/storage_server.h"
#include "storage/storage_test_support.h"

namespace dvs::storage {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

using testing::RandomBytes;

// A source that hands out `bytes` in pieces of `step`.
PutSource SourceOf(const std::string& bytes, size_t step = kBlockSize) {
  auto offset = std::make_shared<size_t>(0);
  return [&bytes, step, offset](char* buffer, size_t max) -> absl::StatusOr<size_t> {
    size_t take = std::min({max, step, bytes.size() - *offset});
    std::memcpy(buffer, bytes.data() + *offset, take);
    *offset += take;
    return take;
  };
}

class StorageServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshTestDir("storage_service_test");
    auto server = StorageServer::Start({.host = "127.0.0.1", .port = 0, .dir = dir_});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    client_ = std::make_unique<StorageClient>(server_->address());
  }
  void TearDown() override {
    client_.reset();
    server_.reset();
    fs::remove_all(dir_);
  }
  std::unique_ptr<v1::Storage::Stub> RawStub() {
    return v1::Storage::NewStub(
        grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials()));
  }
  // Files in the video's folder, temp files included.
  size_t FilesOf(std::string_view video_id) {
    fs::path folder = dir_ / "blobs" / video_id;
    if (!fs::exists(folder)) return 0;
    return static_cast<size_t>(std::distance(fs::directory_iterator(folder), {}));
  }

  fs::path dir_;
  std::unique_ptr<StorageServer> server_;
  std::unique_ptr<StorageClient> client_;
};

TEST_F(StorageServiceTest, MultiMiBBlobGoesThroughEveryCall) {
  std::string bytes = RandomBytes(3 * kBlockSize + kBlockSize / 2, 1);
  auto put = client_->Put("v1/chunk-1.m4s", bytes);
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_EQ(put->outcome, PutOutcome::kCreated);
  EXPECT_EQ(put->blob, (BlobInfo{"v1/chunk-1.m4s", bytes.size(), common::Sha256Hex(bytes)}));

  EXPECT_EQ(client_->GetBytes("v1/chunk-1.m4s").value(), bytes);
  auto stat = client_->Stat("v1/chunk-1.m4s");
  ASSERT_TRUE(stat.ok()) << stat.status();
  EXPECT_EQ(*stat, put->blob);
  auto list = client_->List("v1");
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_THAT(*list, ::testing::ElementsAre(put->blob));
  auto info = client_->Info();
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->blob_count, 1u);
  EXPECT_EQ(info->bytes_used, bytes.size());
  EXPECT_FALSE(info->node_id.empty());

  EXPECT_EQ(client_->Delete("v1/chunk-1.m4s").value(), 1u);
  EXPECT_EQ(client_->Stat("v1/chunk-1.m4s").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(client_->Info()->blob_count, 0u);
}

// The copy path: a whole-blob read relayed chunk by chunk (moved, not
// copied) into another key's put, which checks the bytes itself.
TEST_F(StorageServiceTest, CopySourceRelaysIntoAPutChunkByChunk) {
  std::string bytes = RandomBytes(3 * kBlockSize + 99, 4);
  ASSERT_TRUE(client_->Put("v1/source.mp4", bytes).ok());
  auto source = client_->OpenCopySource("v1/source.mp4");
  ASSERT_TRUE(source.ok()) << source.status();
  const BlobInfo blob = (*source)->blob();
  size_t chunks = 0;
  auto put = client_->PutChunks(
      "v2/source.mp4", blob.size, blob.sha256,
      [&](std::string& chunk) -> absl::StatusOr<bool> {
        ASSIGN_OR_RETURN(bool more, (*source)->TakeChunk(chunk));
        if (more) {
          EXPECT_LE(chunk.size(), kBlockSize);
        }
        chunks += more ? 1 : 0;
        return more;
      },
      (*source)->block_sha256());
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_EQ((*source)->block_sha256().size(), 4u * 64);
  EXPECT_EQ(put->blob, (BlobInfo{"v2/source.mp4", bytes.size(), common::Sha256Hex(bytes)}));
  EXPECT_EQ(chunks, 4u);
  EXPECT_EQ(client_->GetBytes("v2/source.mp4").value(), bytes);
}

// The destination is what checks a relayed copy: bytes that do not match the
// declared SHA-256 are refused, and nothing is stored.
TEST_F(StorageServiceTest, RelayedChunksThatDoNotMatchTheDigestAreRefused) {
  std::string bytes = RandomBytes(kBlockSize + 5, 5);
  bool sent = false;
  auto put = client_->PutChunks("v3/source.mp4", bytes.size(), common::Sha256Hex("other"),
                                [&](std::string& chunk) -> absl::StatusOr<bool> {
                                  if (sent) return false;
                                  chunk = bytes.substr(0, kBlockSize);
                                  sent = true;
                                  return true;
                                });
  EXPECT_EQ(put.status().code(), absl::StatusCode::kInvalidArgument) << put.status();
  EXPECT_EQ(client_->Stat("v3/source.mp4").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(StorageServiceTest, RangedReadPullsExactlyTheRangeInSmallReads) {
  std::string bytes = RandomBytes(2 * kBlockSize + 99, 2);
  ASSERT_TRUE(client_->Put("v/f", bytes).ok());
  uint64_t offset = kBlockSize - 10, length = kBlockSize + 20;
  auto stream = client_->OpenRead("v/f", offset, length);
  ASSERT_TRUE(stream.ok()) << stream.status();
  EXPECT_EQ((*stream)->size(), length);
  EXPECT_EQ((*stream)->blob().size, bytes.size());
  std::string got;
  char buffer[7000];
  while (true) {
    auto n = (*stream)->Read(buffer, sizeof(buffer));
    ASSERT_TRUE(n.ok()) << n.status();
    if (*n == 0) break;
    got.append(buffer, *n);
  }
  EXPECT_EQ(got, bytes.substr(offset, length));
}

TEST_F(StorageServiceTest, MissingAndOutOfRangeReadsFailAtOpen) {
  ASSERT_TRUE(client_->Put("v/f", "ten bytes!").ok());
  EXPECT_EQ(client_->OpenRead("v/none").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(client_->OpenRead("v/f", 11).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(client_->OpenRead("v/f", 4, 7).status().code(), absl::StatusCode::kOutOfRange);
}

TEST_F(StorageServiceTest, IdenticalPutIsUnchangedAndDifferentOneReplaces) {
  ASSERT_TRUE(client_->Put("v/f", "one").ok());
  EXPECT_EQ(client_->Put("v/f", "one")->outcome, PutOutcome::kUnchanged);
  EXPECT_EQ(client_->Put("v/f", "two")->outcome, PutOutcome::kReplaced);
  EXPECT_EQ(client_->GetBytes("v/f").value(), "two");
}

TEST_F(StorageServiceTest, PutThatLiesAboutItsSizeIsRejectedAndNothingStored) {
  std::string bytes = RandomBytes(kBlockSize + 5, 3);
  for (uint64_t declared : {bytes.size() + 1, bytes.size() - 1}) {
    auto put = client_->PutFrom("v/f", declared, common::Sha256Hex(bytes), SourceOf(bytes));
    EXPECT_EQ(put.status().code(), absl::StatusCode::kInvalidArgument) << put.status();
  }
  EXPECT_EQ(client_->Stat("v/f").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(FilesOf("v"), 0u);
}

TEST_F(StorageServiceTest, PutThatLiesAboutItsHashIsRejectedAndNothingStored) {
  std::string bytes = RandomBytes(2 * kBlockSize, 4);
  auto put = client_->PutFrom("v/f", bytes.size(), common::Sha256Hex("other"), SourceOf(bytes));
  EXPECT_EQ(put.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(put.status().message()), HasSubstr("size/checksum does not match"));
  EXPECT_EQ(client_->Stat("v/f").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(FilesOf("v"), 0u);
}

TEST_F(StorageServiceTest, PutWhoseSourceFailsMidwayStoresNothing) {
  std::string bytes = RandomBytes(3 * kBlockSize, 5);
  int calls = 0;
  auto put = client_->PutFrom("v/f", bytes.size(), common::Sha256Hex(bytes),
                              [&](char* buffer, size_t max) -> absl::StatusOr<size_t> {
                                if (++calls == 2) return absl::DataLossError("disk broke");
                                std::memset(buffer, 'x', max);
                                return max;
                              });
  EXPECT_EQ(put.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(client_->Stat("v/f").status().code(), absl::StatusCode::kNotFound);
  // The server drops the temp file when it notices the cancellation.
  for (int i = 0; i < 100 && FilesOf("v") > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(FilesOf("v"), 0u);
}

TEST_F(StorageServiceTest, ClientRefusesTraversalKeysBeforeSending) {
  for (std::string_view key : {"../x/y", "a/../../b", "x/.hidden", "x", "x/y/z/w", "x//y", ""}) {
    EXPECT_EQ(client_->Put(key, "x").status().code(), absl::StatusCode::kInvalidArgument) << key;
    EXPECT_EQ(client_->OpenRead(key).status().code(), absl::StatusCode::kInvalidArgument) << key;
  }
}

TEST_F(StorageServiceTest, ServerRefusesTraversalKeys) {
  auto stub = RawStub();
  for (std::string key : {"../x/y", "a/../../b", "x/.hidden", "x", "x/y/z/w", "x//y", ""}) {
    grpc::ClientContext get_context;
    v1::GetRequest get;
    get.set_key(key);
    auto reader = stub->Get(&get_context, get);
    v1::GetResponse ignored;
    EXPECT_FALSE(reader->Read(&ignored));
    EXPECT_EQ(reader->Finish().error_code(), grpc::INVALID_ARGUMENT) << key;

    grpc::ClientContext stat_context;
    v1::StatRequest stat;
    stat.set_key(key);
    v1::StatResponse stat_response;
    EXPECT_EQ(stub->Stat(&stat_context, stat, &stat_response).error_code(), grpc::INVALID_ARGUMENT)
        << key;

    grpc::ClientContext put_context;
    v1::PutResponse put_response;
    auto writer = stub->Put(&put_context, &put_response);
    v1::PutRequest header;
    header.mutable_header()->set_key(key);
    header.mutable_header()->set_size(1);
    header.mutable_header()->set_sha256(common::Sha256Hex("x"));
    writer->Write(header);
    writer->WritesDone();
    grpc::Status status = writer->Finish();
    EXPECT_EQ(status.error_code(), grpc::INVALID_ARGUMENT) << key;
    EXPECT_FALSE(status.error_message().empty());
  }
  EXPECT_THAT(std::distance(fs::directory_iterator(dir_ / "blobs"), {}), 0);
}

TEST_F(StorageServiceTest, PutMustStartWithAHeaderAndKeepChunksSmall) {
  auto stub = RawStub();
  {
    grpc::ClientContext context;
    v1::PutResponse response;
    auto writer = stub->Put(&context, &response);
    v1::PutRequest chunk;
    chunk.set_chunk("headless");
    writer->Write(chunk);
    writer->WritesDone();
    EXPECT_EQ(writer->Finish().error_code(), grpc::INVALID_ARGUMENT);
  }
  {
    grpc::ClientContext context;
    v1::PutResponse response;
    auto writer = stub->Put(&context, &response);
    writer->WritesDone();
    EXPECT_EQ(writer->Finish().error_code(), grpc::INVALID_ARGUMENT) << "no message at all";
  }
  {
    std::string big(kBlockSize + 1, 'b');
    grpc::ClientContext context;
    v1::PutResponse response;
    auto writer = stub->Put(&context, &response);
    v1::PutRequest request;
    request.mutable_header()->set_key("v/big");
    request.mutable_header()->set_size(big.size());
    request.mutable_header()->set_sha256(common::Sha256Hex(big));
    writer->Write(request);
    request.set_chunk(big);
    writer->Write(request);
    writer->WritesDone();
    EXPECT_EQ(writer->Finish().error_code(), grpc::INVALID_ARGUMENT);
  }
  EXPECT_EQ(client_->Stat("v/big").status().code(), absl::StatusCode::kNotFound);
}

// A copy's source sends its bytes unchecked, with its block checksums; the
// destination's check of the whole SHA-256 finds the damage (DataLoss: the
// source's fault, so the caller tries another copy), and nothing is stored.
TEST_F(StorageServiceTest, ADamagedCopySourceIsRefusedByTheDestination) {
  std::string bytes = RandomBytes(2 * kBlockSize + 7, 8);
  ASSERT_TRUE(client_->Put("v/f", bytes).ok());
  {
    std::fstream file(dir_ / "blobs" / "v" / "f", std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(kBlockSize + 1);
    file.put(static_cast<char>(bytes[kBlockSize + 1] ^ 0x40));
  }
  auto source = client_->OpenCopySource("v/f");
  ASSERT_TRUE(source.ok()) << source.status();
  auto put = client_->PutChunks(
      "w/f", bytes.size(), (*source)->blob().sha256,
      [&](std::string& chunk) { return (*source)->TakeChunk(chunk); }, (*source)->block_sha256());
  EXPECT_EQ(put.status().code(), absl::StatusCode::kDataLoss) << put.status();
  EXPECT_THAT(std::string(put.status().message()), HasSubstr("damaged"));
  EXPECT_EQ(client_->Stat("w/f").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(FilesOf("w"), 0u);
}

TEST_F(StorageServiceTest, AReadForACopyIsOfTheWholeBlob) {
  ASSERT_TRUE(client_->Put("v/f", RandomBytes(100, 9)).ok());
  auto stub = RawStub();
  grpc::ClientContext context;
  v1::GetRequest request;
  request.set_key("v/f");
  request.set_offset(10);
  request.set_for_copy(true);
  auto reader = stub->Get(&context, request);
  v1::GetResponse response;
  EXPECT_FALSE(reader->Read(&response));
  grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("whole blob"));
}

TEST_F(StorageServiceTest, DamagedBytesOnDiskAreDataLossOverTheWire) {
  std::string bytes = RandomBytes(2 * kBlockSize, 6);
  ASSERT_TRUE(client_->Put("v/f", bytes).ok());
  {
    std::fstream file(dir_ / "blobs" / "v" / "f", std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(kBlockSize + 1);
    file.put(static_cast<char>(bytes[kBlockSize + 1] ^ 0x40));
  }
  auto whole = client_->GetBytes("v/f");
  EXPECT_EQ(whole.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(whole.status().message()), HasSubstr("fail their checksum"));
  EXPECT_EQ(client_->OpenRead("v/f", kBlockSize, 10).status().code(), absl::StatusCode::kDataLoss);
  std::string first;
  ASSERT_TRUE(client_
                  ->Get("v/f", 0, kBlockSize,
                        [&](std::string_view chunk) {
                          first.append(chunk);
                          return absl::OkStatus();
                        })
                  .ok());
  EXPECT_EQ(first, bytes.substr(0, kBlockSize));
}

TEST_F(StorageServiceTest, InfoReportsWhatTheScrubberFoundUntilAPutRepairsIt) {
  fs::path dir = dir_.string() + "-scrubbed";
  fs::remove_all(dir);
  auto server = StorageServer::Start(
      {.host = "127.0.0.1", .port = 0, .dir = dir, .scrub_every = std::chrono::milliseconds(100)});
  ASSERT_TRUE(server.ok()) << server.status();
  StorageClient client((*server)->address());
  std::string bytes = RandomBytes(kBlockSize + 10, 7);
  ASSERT_TRUE(client.Put("v/g1/f", bytes).ok());
  ASSERT_TRUE(client.Put("v/g1/ok", "fine").ok());
  {
    std::fstream file(dir / "blobs" / "v" / "g1" / "f",
                      std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(3);
    file.put(static_cast<char>(bytes[3] ^ 0x01));
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  absl::StatusOr<NodeInfo> info = client.Info();
  while (info.ok() && info->corrupt_count == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    info = client.Info();
  }
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->corrupt_count, 1u);
  EXPECT_THAT(info->corrupt_keys, ElementsAre("v/g1/f"));
  EXPECT_GE((*server)->scrub_stats().corrupt_found, 1u);

  ASSERT_TRUE(client.Put("v/g1/f", bytes).ok());  // what a repair does
  info = client.Info();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->corrupt_count, 0u);
  EXPECT_TRUE(info->corrupt_keys.empty());
  server->reset();
  fs::remove_all(dir);
}

TEST_F(StorageServiceTest, AbandonedReadIsCancelledWithoutBlocking) {
  ASSERT_TRUE(client_->Put("v/f", RandomBytes(4 * kBlockSize, 7)).ok());
  for (int i = 0; i < 5; ++i) {
    auto stream = client_->OpenRead("v/f");
    ASSERT_TRUE(stream.ok());
    char byte;
    ASSERT_EQ((*stream)->Read(&byte, 1).value(), 1u);
  }
  EXPECT_EQ(client_->Info()->blob_count, 1u);
}

TEST_F(StorageServiceTest, ListAndDeleteByVideo) {
  for (std::string_view key : {"v/a", "v/b", "w/a"}) ASSERT_TRUE(client_->Put(key, key).ok());
  EXPECT_EQ(client_->List()->size(), 3u);
  EXPECT_EQ(client_->List("v")->size(), 2u);
  EXPECT_EQ(client_->DeleteVideo("v").value(), 2u);
  EXPECT_EQ(client_->DeleteVideo("v").value(), 0u);
  auto rest = client_->List();
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->size(), 1u);
  EXPECT_EQ((*rest)[0].key, "w/a");
}

TEST_F(StorageServiceTest, ListAndDeleteByTwoLevelFolder) {
  for (std::string_view key : {"v/g1/a", "v/g1/b", "v/g2/a", "v/a"}) {
    ASSERT_TRUE(client_->Put(key, key).ok());
  }
  auto listed = client_->List("v/g1");
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].key, "v/g1/a");
  EXPECT_EQ(client_->List("v")->size(), 1u);
  EXPECT_EQ(client_->DeleteVideo("v/g1").value(), 2u);
  auto rest = client_->List();
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->size(), 2u);
  EXPECT_EQ((*rest)[0].key, "v/a");
  EXPECT_EQ((*rest)[1].key, "v/g2/a");
  EXPECT_EQ(client_->GetBytes("v/g2/a").value_or("?"), "v/g2/a");
  EXPECT_TRUE(absl::IsInvalidArgument(client_->List("v/g/h").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(client_->DeleteVideo("v/").status()));
}

// Pages walk every key exactly once, in order, whatever the page size, also
// across the server's own internal batches (256 blobs per message).
TEST_F(StorageServiceTest, ListPagesWalkEveryKeyOnceInOrder) {
  std::vector<std::string> keys;
  for (int i = 0; i < 600; ++i) {
    std::string key = absl::StrCat("v", i % 7, "/f-", 1000 + i);
    ASSERT_TRUE(client_->Put(key, key).ok());
    keys.push_back(key);
  }
  std::sort(keys.begin(), keys.end());
  for (size_t page_size : {1u, 7u, 256u, 300u, 600u, 1000u}) {
    std::vector<std::string> walked;
    std::string after;
    size_t pages = 0;
    while (true) {
      auto page = client_->ListPage("", after, page_size);
      ASSERT_TRUE(page.ok()) << page.status();
      ASSERT_LE(page->size(), page_size);
      ++pages;
      for (const BlobInfo& blob : *page) walked.push_back(blob.key);
      if (page->size() < page_size) break;
      after = page->back().key;
    }
    EXPECT_EQ(walked, keys) << "page size " << page_size;
    EXPECT_EQ(pages, keys.size() / page_size + 1) << "page size " << page_size;
  }
  auto folder = client_->ListPage("v3", "v3/f-1100", 5);
  ASSERT_TRUE(folder.ok()) << folder.status();
  ASSERT_EQ(folder->size(), 5u);
  EXPECT_EQ((*folder)[0].key, "v3/f-1101");
  EXPECT_TRUE(absl::IsInvalidArgument(client_->ListPage("", "", 0).status()));
}

TEST_F(StorageServiceTest, ServerRefusesBadFoldersInListAndDelete) {
  auto stub = RawStub();
  for (std::string folder : {"v/g/h", "v/", "/g", "..", "v/.."}) {
    grpc::ClientContext list_context;
    v1::ListRequest list;
    list.set_video_id(folder);
    auto reader = stub->List(&list_context, list);
    v1::ListResponse ignored;
    EXPECT_FALSE(reader->Read(&ignored));
    EXPECT_EQ(reader->Finish().error_code(), grpc::INVALID_ARGUMENT) << folder;

    grpc::ClientContext delete_context;
    v1::DeleteRequest request;
    request.set_video_id(folder);
    v1::DeleteResponse response;
    EXPECT_EQ(stub->Delete(&delete_context, request, &response).error_code(),
              grpc::INVALID_ARGUMENT)
        << folder;
  }
}

TEST_F(StorageServiceTest, PutFileStreamsAFileFromDisk) {
  std::string bytes = RandomBytes(kBlockSize * 2 + 3, 8);
  fs::path source = dir_.string() + "-source";
  std::ofstream(source, std::ios::binary) << bytes;
  auto put = client_->PutFile("v/file", source);
  fs::remove(source);
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_EQ(client_->GetBytes("v/file").value(), bytes);
}

TEST_F(StorageServiceTest, SecondServerOnATakenPortFailsToStart) {
  fs::path other = dir_.string() + "-other";
  auto second = StorageServer::Start({.host = "127.0.0.1", .port = server_->port(), .dir = other});
  fs::remove_all(other);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(StorageServiceTest, DataSurvivesAServerRestart) {
  ASSERT_TRUE(client_->Put("v/f", "durable").ok());
  std::string node_id = client_->Info()->node_id;
  server_.reset();
  EXPECT_EQ(client_->Stat("v/f").status().code(), absl::StatusCode::kUnavailable);
  auto restarted = StorageServer::Start({.host = "127.0.0.1", .port = 0, .dir = dir_});
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  server_ = std::move(*restarted);
  client_ = std::make_unique<StorageClient>(server_->address());
  EXPECT_EQ(client_->GetBytes("v/f").value(), "durable");
  EXPECT_EQ(client_->Info()->node_id, node_id);
}

// A port nothing listens on: bound, then closed.
int ClosedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

TEST(StorageClientTest, NodeThatIsDownIsUnavailableQuickly) {
  std::string address = "127.0.0.1:" + std::to_string(ClosedPort());
  StorageClient client(address);
  auto start = std::chrono::steady_clock::now();
  auto info = client.Info();
  auto put = client.Put("v/f", "bytes");
  auto read = client.OpenRead("v/f");
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(info.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(put.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(read.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(info.status().message()), HasSubstr(address));
  EXPECT_LT(elapsed, std::chrono::seconds(3));
}

}  // namespace
}  // namespace dvs::storage
