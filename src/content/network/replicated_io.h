// The replicated data path of the network content service: a put to every
// node of a key's write set with the quorum rule, a read that fails over
// between replicas (before and during the stream), and a node-to-node copy
// that streams a blob without holding it whole. No ring state is kept here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "content/content_service.h"
#include "content/network/node_pool.h"
#include "content/network/ring_state.h"
#include "storage/storage_client.h"

namespace dvs::content {

// One node's answer to a call, for error messages and failover.
struct NodeAttempt {
  std::string node;
  absl::Status status;
};

// "node: CODE: message; ..." for error messages.
std::string DescribeAttempts(const std::vector<NodeAttempt>& attempts);

// Every node of `state`: the committed ring's and a transition's target's.
std::vector<std::string> AllNodesOf(const RingState& state);

// Acks needed from a replica set of `replicas` nodes: a strict majority.
size_t MajorityOf(size_t replicas);

// The write rule. A write succeeds when a majority of the key's committed
// replica set acked and, during a transition, a majority of its target
// replica set as well (a node in both sets counts for both):
// - the committed majority keeps the write if the change is aborted;
// - the target majority keeps it once the change commits, even when the
//   migration listed the nodes before the write landed (the plan will not
//   copy what it did not see, so the target set must already hold it).
// Every node of the write set is always sent the bytes; the rule only
// decides when enough of them have answered.
[[nodiscard]] bool WriteQuorumMet(const RingPlacement& placement, std::string_view key,
                                  const std::set<std::string>& acked);

// Makes a fresh byte source for one replica's put (each put reads the bytes
// from the start, on its own thread).
using PutSourceFactory = std::function<absl::StatusOr<storage::PutSource>()>;

struct ReplicatedPutResult {
  std::vector<std::string> acked;
  std::vector<NodeAttempt> failed;  // replicas left behind; repair fixes them later
};

// Puts `key` to every node of placement.WriteSetFor(key) in parallel.
// Unavailable (or the nodes' common error, when they all refused alike) with
// every node's error when WriteQuorumMet fails.
[[nodiscard]] absl::StatusOr<ReplicatedPutResult> ReplicatedPut(
    NodePool& pool, const RingPlacement& placement, std::string_view key, uint64_t size,
    std::string_view sha256, const PutSourceFactory& make_source);

// Copies `key` from the first of `sources` that serves it whole into
// `destination`, which checks the size and SHA-256 before keeping it. The
// destination reads the source itself (Fetch); the bytes are relayed through
// this server only when it cannot (a node that predates Fetch, or a source
// it cannot reach). A failing source moves on to the next; a failing
// destination ends the copy, since another source would not help. The bytes
// copied.
[[nodiscard]] absl::StatusOr<uint64_t> CopyBlob(NodePool& pool, std::string_view key,
                                                const std::vector<std::string>& sources,
                                                const std::string& destination);

// Told when `bad_node` was found missing or damaged for `key` while
// `good_node` served it, so the bad replica can be repaired.
using BadReplicaCallback = std::function<void(const std::string& key, const std::string& bad_node,
                                              const std::string& good_node)>;

// Reads `length` bytes of `key` from `offset` (length 0: to the end), trying
// `nodes` in order. NotFound, DataLoss and node-down errors move on to the
// next node, before any bytes are returned and also mid-stream (the rest of
// the range then comes from the next replica, when it holds the same
// content). OutOfRange is returned at once. The reader must not outlive
// `pool`.
// A copy whose SHA-256 is not `expected_sha256` (when given) counts as a bad
// replica (DataLoss) and is never served: when no copy has the recorded
// content, the read fails.
[[nodiscard]] absl::StatusOr<std::unique_ptr<ContentReader>> OpenReplicatedRead(
    NodePool& pool, std::string key, std::vector<std::string> nodes, uint64_t offset,
    uint64_t length, std::string_view expected_sha256, BadReplicaCallback on_bad_replica);

// A replica whose content is not the recorded one (it missed an overwrite, or
// someone replaced it): DataLoss, so it is repaired like a damaged one.
absl::Status StaleCopyError(std::string_view node, std::string_view has, std::string_view expected);
// NotFound or DataLoss: the replica should be re-copied from a good one.
bool IsReplicaFault(const absl::Status& status);

// The error for a call that no node could serve: NotFound when the nodes
// that answered (a majority of those asked) all said NotFound, DataLoss when
// none was down and some held damaged bytes, else Unavailable. The message
// lists every node's answer.
absl::Status NoReplicaServed(std::string_view what, const std::vector<NodeAttempt>& attempts);

}  // namespace dvs::content
