#include "content/network/live_placement.h"

#include <utility>

#include "common/status.h"

namespace dvs::content {

LivePlacement::LivePlacement(RingPlacement initial)
    : placement_(std::make_shared<Slot>(std::move(initial))) {}

LivePlacement::WriteTicket::WriteTicket(LivePlacement& owner, std::shared_ptr<Slot> slot)
    : owner_(owner), slot_(std::move(slot)) {}

LivePlacement::WriteTicket::~WriteTicket() {
  std::lock_guard lock(owner_.mutex_);
  if (--slot_->writes_in_flight == 0) owner_.writes_drained_.notify_all();
}

std::shared_ptr<const RingPlacement> LivePlacement::Current() const {
  std::lock_guard lock(mutex_);
  return std::shared_ptr<const RingPlacement>(placement_, &placement_->placement);
}

LivePlacement::WriteTicket LivePlacement::BeginWrite() {
  std::lock_guard lock(mutex_);
  ++placement_->writes_in_flight;
  return WriteTicket(*this, placement_);
}

absl::Status LivePlacement::Swap(const RingState& state) {
  // The common case (a write checking the store) costs no ring building.
  if (Current()->state().version >= state.version) return absl::OkStatus();
  ASSIGN_OR_RETURN(RingPlacement placement, RingPlacement::Create(state));
  auto slot = std::make_shared<Slot>(std::move(placement));
  std::unique_lock lock(mutex_);
  if (placement_->placement.state().version >= state.version) return absl::OkStatus();
  std::shared_ptr<Slot> old = std::exchange(placement_, std::move(slot));
  writes_drained_.wait(lock, [&old] { return old->writes_in_flight == 0; });
  return absl::OkStatus();
}

}  // namespace dvs::content
