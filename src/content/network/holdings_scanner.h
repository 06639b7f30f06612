// HoldingsScanner: what every storage node holds, walked in key order one
// page per node at a time, and handed out in batches of keys with all their
// holders. Planning and copying then work batch by batch, so memory is
// bounded by the page size times the node count, whatever the number of keys
// (no full key listing is held).
//
// Promises: every key any listed node holds is handed out exactly once, in
// key order across batches, with every node that holds it (a key's holders
// never straddle two batches). A node whose listing fails (at any point)
// counts as holding nothing from then on; it is reported in unlisted() and
// logged.
//
// Not thread-safe: one caller. It fetches the nodes' pages in parallel itself.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "content/network/migration_plan.h"
#include "content/network/node_pool.h"
#include "content/network/replicated_io.h"

namespace dvs::content {

class HoldingsScanner {
 public:
  // Blobs per listing call: a batch holds at most about this many keys per node.
  static constexpr size_t kDefaultPageSize = 2000;

  HoldingsScanner(NodePool& pool, std::vector<std::string> nodes,
                  size_t page_size = kDefaultPageSize);

  // The next batch of keys and their holders; empty once every node is
  // listed to its end.
  StoredKeys Next();
  // Nodes whose listing failed; their holdings past the failure count as
  // absent, so a plan copies their keys from others and deletes nothing from
  // them.
  const std::vector<NodeAttempt>& unlisted() const { return unlisted_; }
  // Keys handed out so far.
  uint64_t keys_seen() const { return keys_seen_; }

 private:
  struct Cursor {
    std::string node;
    std::deque<std::string> keys;  // listed, not yet handed out
    std::string after;             // the last key listed
    bool done = false;             // listed to the end, or failed
  };
  // Lists the next page of every cursor that has run dry, in parallel.
  void Refill();

  NodePool& pool_;
  const size_t page_size_;
  std::vector<Cursor> cursors_;
  std::vector<NodeAttempt> unlisted_;
  uint64_t keys_seen_ = 0;
};

}  // namespace dvs::content
