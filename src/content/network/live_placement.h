// LivePlacement: the ring placement in force in one web server, and the
// writes still running under each placement. The data path takes the
// placement from here for every request; the ring-change controller swaps in
// a new one and waits, in Swap(), for the writes begun under the old one, so
// a listing made afterwards sees every file they wrote.
//
// Promises: states are put in force in version order only (a state no newer
// than the one in force is ignored), and once Swap() returns no write runs
// under an older placement.
//
// Thread-safe: mutex_ guards placement_ and, with writes_drained_, the
// writes-in-flight counts of the slots.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>

#include "absl/status/status.h"
#include "content/network/ring_state.h"

namespace dvs::content {

class LivePlacement {
 private:
  // A placement and the writes still running under it.
  struct Slot {
    explicit Slot(RingPlacement p) : placement(std::move(p)) {}
    const RingPlacement placement;
    int writes_in_flight = 0;  // guarded by LivePlacement::mutex_
  };

 public:
  explicit LivePlacement(RingPlacement initial);
  LivePlacement(const LivePlacement&) = delete;
  LivePlacement& operator=(const LivePlacement&) = delete;

  // Counts a write in on the placement in force for as long as it exists.
  class WriteTicket {
   public:
    WriteTicket(LivePlacement& owner, std::shared_ptr<Slot> slot);
    WriteTicket(const WriteTicket&) = delete;
    WriteTicket& operator=(const WriteTicket&) = delete;
    ~WriteTicket();
    const RingPlacement& placement() const { return slot_->placement; }

   private:
    LivePlacement& owner_;
    std::shared_ptr<Slot> slot_;
  };

  // The placement in force; stays valid (and unchanged) while held.
  std::shared_ptr<const RingPlacement> Current() const;
  RingState state() const { return Current()->state(); }
  WriteTicket BeginWrite();
  // Puts `state` in force unless the state in force is as new (by version),
  // then waits for the writes begun under the old placement to finish
  // (writes have deadlines, so this ends). InvalidArgument for a state that
  // fails Validate().
  [[nodiscard]] absl::Status Swap(const RingState& state);

 private:
  mutable std::mutex mutex_;
  std::condition_variable writes_drained_;
  std::shared_ptr<Slot> placement_;
};

}  // namespace dvs::content
