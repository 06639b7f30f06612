// What a ring change has to move (DESIGN §5): given where files are now and
// the old and new rings, the copies to make before commit, the deletions to
// make after it, and the files no node holds any more. Pure planning; the
// admin migration carries it out.
#pragma once

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "content/network/hash_ring.h"

namespace dvs::content {

// key (PlacementKey) -> addresses of the nodes that hold it, as gathered from
// List on each reachable storage node. A key known from elsewhere (the
// metadata's file lists) with an empty set means no node has it.
using StoredKeys = std::map<std::string, std::set<std::string>>;

// Copy `key` to `destination` from the first source that serves it with a
// good checksum. `sources` are its holders: those in the old replica set in
// old ring order first, then any others in address order. Never empty.
struct CopyTask {
  std::string key;
  std::vector<std::string> sources;
  std::string destination;

  friend bool operator==(const CopyTask&, const CopyTask&) = default;
};

// Delete `key` from `node` once the new ring is committed. `node` may be the
// removed node itself, which may be down.
struct DeleteTask {
  std::string key;
  std::string node;

  friend bool operator==(const DeleteTask&, const DeleteTask&) = default;
};

// A plain value, ordered by key then ring order, so the same input always
// gives the same plan.
struct MigrationPlan {
  std::vector<CopyTask> copies;
  // Holders outside the key's new replica set. Only for keys not lost.
  std::vector<DeleteTask> deletions;
  // Keys no node holds: cannot be repaired, only reported.
  std::vector<std::string> lost_keys;
  // Distinct keys with at least one copy: the reference's migrated_file_count.
  size_t files_to_migrate = 0;
};

// Plans the move from `old_ring` to `new_ring` for the keys in `stored`. Every
// key gets a copy to each node of its new replica set that lacks it, so keys
// that were under-replicated before the change are repaired too; planning
// with old_ring == new_ring is a pure repair scan. A dead node simply
// contributes no holders, so its keys are copied from surviving holders.
// An empty new_ring plans nothing at all rather than deleting every copy.
// Rings are immutable, so this is safe to call from any thread.
MigrationPlan PlanMigration(const HashRing& old_ring, const HashRing& new_ring,
                            const StoredKeys& stored);

}  // namespace dvs::content
