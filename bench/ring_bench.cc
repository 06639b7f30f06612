// Ring benchmark: how evenly the hash ring spreads files over 3 and 10
// storage nodes, and how many copies move when node n+1 joins, against the
// ideal (R/(n+1) of all replica assignments). Prints a Markdown table.
//
//   build/bench/ring_bench [keys]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "content/network/hash_ring.h"

namespace {

using dvs::content::HashRing;

std::vector<std::string> Nodes(int count) {
  std::vector<std::string> nodes;
  for (int i = 0; i < count; ++i) nodes.push_back(absl::StrCat("127.0.0.1:", 8090 + i));
  return nodes;
}

// A key like the ones dvs stores: video ids with their segments.
std::string Key(int i) { return absl::StrCat("video-", i / 40, "/chunk-0-", i % 40, ".m4s"); }

HashRing MustRing(int nodes, int vnodes, int replicas) {
  absl::StatusOr<HashRing> ring = HashRing::Create(Nodes(nodes), vnodes, replicas);
  if (!ring.ok()) {
    std::fprintf(stderr, "%s\n", std::string(ring.status().message()).c_str());
    std::exit(1);
  }
  return *ring;
}

void Row(int nodes, int vnodes, int replicas, int keys) {
  HashRing ring = MustRing(nodes, vnodes, replicas);
  HashRing grown = MustRing(nodes + 1, vnodes, replicas);
  std::map<std::string, int> load;
  long moved = 0;
  for (int i = 0; i < keys; ++i) {
    std::vector<std::string> before = ring.ReplicaSetFor(Key(i));
    std::vector<std::string> after = grown.ReplicaSetFor(Key(i));
    for (const std::string& node : before) ++load[node];
    std::set<std::string> had(before.begin(), before.end());
    for (const std::string& node : after) moved += had.count(node) == 0 ? 1 : 0;
  }
  int max_load = 0;
  for (const auto& [node, count] : load) max_load = std::max(max_load, count);
  double mean = static_cast<double>(keys) * ring.replicas() / nodes;
  double ideal = static_cast<double>(keys) * grown.replicas() / (nodes + 1);
  std::printf("| %d | %d | %d | %.3f | %ld | %.0f | %.3f |\n", nodes, vnodes, ring.replicas(),
              max_load / mean, moved, ideal, moved / ideal);
}

}  // namespace

int main(int argc, char** argv) {
  int keys = argc > 1 ? std::atoi(argv[1]) : 200000;
  std::printf("%d keys; load = replica assignments per node\n\n", keys);
  std::printf(
      "| nodes | V | R | max/mean load | copies moved adding node n+1 | ideal | moved/ideal |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  for (int nodes : {3, 10}) {
    for (int replicas : {1, 3}) Row(nodes, 128, replicas, keys);
  }
  Row(3, 1, 1, keys);  // the reference's placement: one point per node
  return 0;
}
