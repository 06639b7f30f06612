#include "content/network/holdings_scanner.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "spdlog/spdlog.h"

namespace dvs::content {

HoldingsScanner::HoldingsScanner(NodePool& pool, std::vector<std::string> nodes, size_t page_size)
    : pool_(pool), page_size_(std::max<size_t>(page_size, 1)) {
  for (std::string& node : nodes) cursors_.push_back(Cursor{.node = std::move(node)});
}

void HoldingsScanner::Refill() {
  std::vector<Cursor*> dry;
  for (Cursor& cursor : cursors_) {
    if (!cursor.done && cursor.keys.empty()) dry.push_back(&cursor);
  }
  std::vector<absl::StatusOr<std::vector<storage::BlobInfo>>> pages(dry.size());
  ParallelFor(dry.size(), dry.size(), [&](size_t i) {
    pages[i] = pool_.Client(dry[i]->node).ListPage("", dry[i]->after, page_size_);
    pool_.Report(dry[i]->node, pages[i].status());
  });
  for (size_t i = 0; i < dry.size(); ++i) {
    Cursor& cursor = *dry[i];
    if (!pages[i].ok()) {
      spdlog::warn("cannot list storage node {}; counting its files as absent: {}", cursor.node,
                   pages[i].status().message());
      unlisted_.push_back({cursor.node, pages[i].status()});
      cursor.done = true;
      continue;
    }
    for (storage::BlobInfo& blob : *pages[i]) cursor.keys.push_back(std::move(blob.key));
    if (pages[i]->size() < page_size_) cursor.done = true;  // the last page
    if (!cursor.keys.empty()) cursor.after = cursor.keys.back();
  }
}

StoredKeys HoldingsScanner::Next() {
  Refill();
  // Every node still listing has listed up to its last buffered key, so
  // every holder of a key up to the smallest of those is known.
  std::optional<std::string> bound;
  for (const Cursor& cursor : cursors_) {
    if (cursor.done || cursor.keys.empty()) continue;
    if (!bound.has_value() || cursor.keys.back() < *bound) bound = cursor.keys.back();
  }
  StoredKeys batch;
  for (Cursor& cursor : cursors_) {
    while (!cursor.keys.empty() && (!bound.has_value() || cursor.keys.front() <= *bound)) {
      batch[cursor.keys.front()].insert(cursor.node);
      cursor.keys.pop_front();
    }
  }
  keys_seen_ += batch.size();
  return batch;
}

}  // namespace dvs::content
