// StorageClient: calls one storage server (`dvs storage`) over one
// long-lived gRPC channel. The network content service and the admin service
// build on it. No gRPC in this header.
//
// Every call has a deadline (StorageClientOptions) and returns absl::Status
// with the server's code (common::FromGrpcStatus); messages name the node.
// A node that is down or unreachable gives Unavailable, quickly: calls do not
// wait for a connection.
//
// Thread-safe: one client may serve many threads at once (the channel
// multiplexes calls); reuse it rather than making one per call. A BlobStream
// is not thread-safe and must not outlive its client.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "storage/blob.h"

namespace dvs::storage {

struct StorageClientOptions {
  // Stat, Delete, Info, and the start of every stream.
  std::chrono::milliseconds call_timeout{std::chrono::seconds(10)};
  // Get and List: the whole stream, however slowly the caller pulls it.
  std::chrono::milliseconds stream_timeout{std::chrono::minutes(10)};
  // Put: call_timeout plus the time the bytes take at this rate.
  uint64_t put_min_bytes_per_second = 1 << 20;
  // How soon a node that was down is dialled again once it is back.
  std::chrono::milliseconds max_reconnect_backoff{std::chrono::seconds(1)};
  // While a call waits, the node is pinged after this long without a byte
  // from it, and given up (the call fails over) when a ping is not answered
  // within keepalive_timeout: a hung node costs about their sum.
  std::chrono::milliseconds keepalive_time{std::chrono::seconds(1)};
  std::chrono::milliseconds keepalive_timeout{std::chrono::seconds(2)};
  // Sent on every call as `authorization: Bearer <cluster_token>`; empty:
  // none.
  std::string cluster_token;
  // PEM CA certificates: the node must present a certificate they sign (TLS);
  // empty: plaintext.
  std::string tls_ca_pem;
};

// Pulls a Put's bytes: fills up to `max` bytes of `buffer` and returns the
// count, 0 at the end.
using PutSource = std::function<absl::StatusOr<size_t>(char* buffer, size_t max)>;

// Pulls a Put's bytes a chunk at a time, without a copy: replaces `chunk`
// with the next piece (at most kBlockSize bytes) and returns true, or returns
// false at the end.
using ChunkSource = std::function<absl::StatusOr<bool>(std::string& chunk)>;

// One Get in progress: the bytes of a range, pulled as the caller needs them,
// so a blob can be relayed (to an HTTP response, to another node) without
// being held whole. Destroying it early cancels the call.
class BlobStream {
 public:
  ~BlobStream();
  BlobStream(const BlobStream&) = delete;
  BlobStream& operator=(const BlobStream&) = delete;

  // The whole blob's key, size and SHA-256 (not the range's).
  const BlobInfo& blob() const;
  // Bytes this stream yields in all.
  uint64_t size() const;
  // For OpenCopySource: the source's block checksums, to pass to PutChunks
  // (empty when the node checked the blocks itself: an older node, or a
  // blob of more than kMaxCopyChecksumBlocks blocks).
  const std::string& block_sha256() const;
  // The next chunk (at most 1 MiB), valid until the next call; empty at the
  // end. DataLoss when the node finds its stored bytes damaged (or, for a
  // whole-blob read, when they do not hash to blob().sha256).
  [[nodiscard]] absl::StatusOr<std::string_view> Next();
  // Fills up to `max` bytes; 0 at the end. Same errors as Next.
  [[nodiscard]] absl::StatusOr<size_t> Read(char* buffer, size_t max);
  // Moves the next chunk (at most 1 MiB) into `chunk` instead of copying it;
  // false at the end. Same errors as Next. For relaying to a Put (ChunkSource).
  [[nodiscard]] absl::StatusOr<bool> TakeChunk(std::string& chunk);

 private:
  friend class StorageClient;
  struct Call;
  explicit BlobStream(std::unique_ptr<Call> call);
  std::unique_ptr<Call> call_;
};

// What a Fetch did: stored the blob, or found its source failing.
struct FetchResult {
  PutResult stored;           // when source_error is OK
  absl::Status source_error;  // the source's failure, as the node saw it
};

class StorageClient {
 public:
  // `address` is "host:port". Dials lazily: making a client never fails.
  explicit StorageClient(std::string address, StorageClientOptions options = {});
  ~StorageClient();
  StorageClient(const StorageClient&) = delete;
  StorageClient& operator=(const StorageClient&) = delete;

  const std::string& address() const { return address_; }

  // Stores `bytes` as `key` (folder/filename), whole or not at all.
  [[nodiscard]] absl::StatusOr<PutResult> Put(std::string_view key, std::string_view bytes);
  // Stores the file at `path`: hashes it first, then streams it in 1 MiB chunks.
  [[nodiscard]] absl::StatusOr<PutResult> PutFile(std::string_view key,
                                                  const std::filesystem::path& path);
  // Streams `size` bytes pulled from `source`; the node refuses them
  // (InvalidArgument) unless they match `size` and `sha256`.
  [[nodiscard]] absl::StatusOr<PutResult> PutFrom(std::string_view key, uint64_t size,
                                                  std::string_view sha256, const PutSource& source);
  // As PutFrom, with the bytes moved in whole chunks (no copy here). A copy
  // from another node passes its BlobStream::block_sha256: the node then
  // hashes the bytes once, as a whole, and refuses a mismatch with DataLoss.
  [[nodiscard]] absl::StatusOr<PutResult> PutChunks(std::string_view key, uint64_t size,
                                                    std::string_view sha256,
                                                    const ChunkSource& source,
                                                    std::string_view block_sha256 = "");

  // Has this node copy `key` from the node `source` itself (node to node:
  // the bytes do not pass through here), trusting the CA of this client's
  // options for the source's certificate. An error is this node's own; the
  // source's failure comes back in FetchResult::source_error. Unimplemented
  // from a node that predates Fetch.
  [[nodiscard]] absl::StatusOr<FetchResult> Fetch(std::string_view key, std::string_view source);

  // Opens a read of `length` bytes from `offset` (length 0: to the end).
  // NotFound, OutOfRange and a damaged first chunk are reported here.
  [[nodiscard]] absl::StatusOr<std::unique_ptr<BlobStream>> OpenRead(std::string_view key,
                                                                     uint64_t offset = 0,
                                                                     uint64_t length = 0);
  // A whole-blob read for a copy to another node (GetRequest.for_copy):
  // neither the node nor this client hashes the bytes, since the
  // destination's Put (PutChunks with the stream's block_sha256) checks them
  // all against blob().sha256 before it keeps them. Only for relaying to
  // such a Put.
  [[nodiscard]] absl::StatusOr<std::unique_ptr<BlobStream>> OpenCopySource(std::string_view key);
  // Delivers the range to `sink` chunk by chunk; an error from `sink` cancels
  // the read and is returned.
  [[nodiscard]] absl::Status Get(std::string_view key, uint64_t offset, uint64_t length,
                                 const std::function<absl::Status(std::string_view)>& sink);
  // The whole blob in memory: for small blobs (manifests) and tests.
  [[nodiscard]] absl::StatusOr<std::string> GetBytes(std::string_view key);

  // NotFound when the node does not hold `key`.
  [[nodiscard]] absl::StatusOr<BlobInfo> Stat(std::string_view key);
  // Every blob the node holds (only those directly in the video folder
  // `folder`, "clip" or "clip/<generation>", unless empty), in key order,
  // passed to `visit` as they arrive; an error from `visit` stops.
  [[nodiscard]] absl::Status ListEach(std::string_view folder,
                                      const std::function<absl::Status(const BlobInfo&)>& visit);
  // As ListEach, from after `after` and for at most `limit` blobs (0: all).
  [[nodiscard]] absl::Status ListEach(std::string_view folder, std::string_view after, size_t limit,
                                      const std::function<absl::Status(const BlobInfo&)>& visit);
  [[nodiscard]] absl::StatusOr<std::vector<BlobInfo>> List(std::string_view folder = "");
  // One page of the listing: up to `limit` (at least 1) blobs whose keys sort
  // after `after` (empty: from the start), in key order. A page shorter than
  // `limit` is the last.
  [[nodiscard]] absl::StatusOr<std::vector<BlobInfo>> ListPage(std::string_view folder,
                                                               std::string_view after,
                                                               size_t limit);
  // Removes one blob; the count removed (0 when it was not there).
  [[nodiscard]] absl::StatusOr<uint64_t> Delete(std::string_view key);
  // Removes every blob directly in the video folder `folder` (not the other
  // generations of its video); the count removed.
  [[nodiscard]] absl::StatusOr<uint64_t> DeleteVideo(std::string_view folder);
  [[nodiscard]] absl::StatusOr<NodeInfo> Info();

 private:
  // ListEach into a vector.
  absl::StatusOr<std::vector<BlobInfo>> Collect(std::string_view folder, std::string_view after,
                                                size_t limit);
  struct Channel;
  // OpenRead (which checks a whole-blob read's SHA-256 here too) and
  // OpenCopySource.
  [[nodiscard]] absl::StatusOr<std::unique_ptr<BlobStream>> Open(std::string_view key,
                                                                 uint64_t offset, uint64_t length,
                                                                 bool for_copy);
  const std::string address_;
  const StorageClientOptions options_;
  std::unique_ptr<Channel> channel_;
};

}  // namespace dvs::storage
