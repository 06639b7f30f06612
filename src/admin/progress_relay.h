// ProgressRelay: hands progress updates from a long operation (a migration,
// which must never wait on a network client) to the thread that streams them
// to the client (which may be slow or gone).
//
// Publish() never blocks beyond a short mutex and keeps only the latest
// update: while the streaming thread is busy writing, intermediate updates
// are dropped, which is what a progress bar wants. Thread-safe: any number of
// publishers, one consumer.
#pragma once

#include <condition_variable>
#include <mutex>
#include <optional>

#include "content/network/cluster_admin.h"

namespace dvs::admin {

class ProgressRelay {
 public:
  // Replaces any update not yet taken.
  void Publish(const content::ClusterProgress& progress);
  // No more updates will come; Next() returns what is pending, then nullopt.
  void Close();
  // Waits for an update not yet taken; nullopt once closed and drained.
  std::optional<content::ClusterProgress> Next();

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  // State below is protected by mutex_.
  std::optional<content::ClusterProgress> latest_;
  bool closed_ = false;
};

}  // namespace dvs::admin
