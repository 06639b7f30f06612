#include "content/network/migration_plan.h"

#include <algorithm>

namespace dvs::content {
namespace {

bool Includes(const std::vector<std::string>& nodes, const std::string& node) {
  return std::find(nodes.begin(), nodes.end(), node) != nodes.end();
}

// Holders in the old replica order first: those are where the key is meant to
// be, so they are the likeliest to be complete and healthy. Strays after.
std::vector<std::string> OrderedSources(const std::vector<std::string>& old_set,
                                        const std::set<std::string>& holders) {
  std::vector<std::string> sources;
  for (const std::string& node : old_set) {
    if (holders.contains(node)) sources.push_back(node);
  }
  for (const std::string& node : holders) {  // std::set: address order
    if (!Includes(sources, node)) sources.push_back(node);
  }
  return sources;
}

void PlanKey(const HashRing& old_ring, const HashRing& new_ring, const std::string& key,
             const std::set<std::string>& holders, MigrationPlan& plan) {
  if (holders.empty()) {
    plan.lost_keys.push_back(key);
    return;
  }
  const std::vector<std::string> new_set = new_ring.ReplicaSetFor(key);
  std::vector<std::string> sources;
  bool copied = false;
  for (const std::string& node : new_set) {
    if (holders.contains(node)) continue;
    if (sources.empty()) sources = OrderedSources(old_ring.ReplicaSetFor(key), holders);
    plan.copies.push_back({key, sources, node});
    copied = true;
  }
  if (copied) ++plan.files_to_migrate;
  for (const std::string& node : holders) {
    if (!Includes(new_set, node)) plan.deletions.push_back({key, node});
  }
}

}  // namespace

MigrationPlan PlanMigration(const HashRing& old_ring, const HashRing& new_ring,
                            const StoredKeys& stored) {
  MigrationPlan plan;
  // With no nodes to own anything, every holder would be planned for deletion.
  if (new_ring.empty()) return plan;
  for (const auto& [key, holders] : stored) PlanKey(old_ring, new_ring, key, holders, plan);
  return plan;
}

}  // namespace dvs::content
