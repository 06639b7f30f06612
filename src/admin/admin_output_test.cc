#include "admin/admin_output.h"

#include <algorithm>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace dvs::admin {
namespace {

using ::testing::HasSubstr;

v1::ChangeProgress Copying(uint64_t done, uint64_t total) {
  v1::ChangeProgress progress;
  progress.set_phase("copying");
  progress.set_done(done);
  progress.set_total(total);
  return progress;
}

TEST(FormatBytesTest, UsesBinaryUnitsWithOneDecimal) {
  EXPECT_EQ(FormatBytes(0), "0 B");
  EXPECT_EQ(FormatBytes(1023), "1023 B");
  EXPECT_EQ(FormatBytes(1536), "1.5 KiB");
  EXPECT_EQ(FormatBytes(uint64_t{20} << 30), "20.0 GiB");
}

TEST(ProgressDisplayTest, TerminalRedrawsOneLineAndEndsIt) {
  std::ostringstream err;
  ProgressDisplay display(err, /*terminal=*/true, "adding n:1");
  display.Update(Copying(1, 4));
  display.Update(Copying(4, 4));
  display.Finish();
  std::string text = err.str();
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\r'), 2);
  EXPECT_THAT(text, HasSubstr("[" + std::string(30, '#') + "] 4/4"));
}

TEST(ProgressDisplayTest, PlainOutputPrintsPhaseChangesWithoutControlCharacters) {
  std::ostringstream err;
  ProgressDisplay display(err, /*terminal=*/false, "repair");
  display.Update(Copying(1, 1000));
  display.Update(Copying(2, 1000));  // same phase, within a second: skipped
  v1::ChangeProgress committing;
  committing.set_phase("committing");
  display.Update(committing);
  display.Finish();
  EXPECT_EQ(err.str(), "repair: copying 1/1000\nrepair: committing\n");
}

TEST(ProgressDisplayTest, ShowsTheBytesCopiedBesideTheCounts) {
  std::ostringstream err;
  ProgressDisplay display(err, /*terminal=*/false, "adding n:1");
  v1::ChangeProgress progress = Copying(3, 4);
  progress.set_bytes_copied(1536);
  display.Update(progress);
  v1::ChangeProgress cleaning;
  cleaning.set_phase("cleaning up");
  cleaning.set_bytes_copied(1536);
  display.Update(cleaning);
  EXPECT_EQ(err.str(),
            "adding n:1: copying 3/4, 1.5 KiB copied\n"
            "adding n:1: cleaning up 1.5 KiB copied\n");
}

TEST(PrintStatusTest, ShowsTheTransitionInProgress) {
  v1::StatusResponse status;
  status.mutable_ring()->set_epoch(2);
  status.mutable_ring()->add_nodes("n:1");
  status.mutable_ring()->mutable_transition()->set_kind("add");
  status.mutable_ring()->mutable_transition()->set_node("n:2");
  std::ostringstream out;
  PrintStatus(status, out);
  EXPECT_THAT(out.str(), HasSubstr("ring epoch 2, 1 node, V=0, R=0, adding n:2 (since "));
}

}  // namespace
}  // namespace dvs::admin
