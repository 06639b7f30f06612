#include "jobs/job_record.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/status.h"
#include "nlohmann/json.hpp"

namespace dvs::jobs {
namespace {

using Json = nlohmann::json;

constexpr std::array<std::pair<JobState, std::string_view>, 4> kStateNames = {{
    {JobState::kQueued, "queued"},
    {JobState::kRunning, "running"},
    {JobState::kDone, "done"},
    {JobState::kFailed, "failed"},
}};

absl::StatusOr<JobState> StateNamed(std::string_view name) {
  for (const auto& [state, state_name] : kStateNames) {
    if (state_name == name) return state;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown job state \"", common::AsAbsl(name), "\""));
}

Json TasksToJson(const std::vector<JobTask>& tasks) {
  Json out = Json::array();
  for (const JobTask& task : tasks) {
    out.push_back({{"name", task.name},
                   {"done", task.done},
                   {"last", task.last},
                   {"owner", task.owner},
                   {"lease_expires_at_ms", task.lease_expires_at_ms}});
  }
  return out;
}

absl::StatusOr<std::vector<JobTask>> TasksFromJson(const Json& json) {
  if (!json.is_array()) return absl::InvalidArgumentError("job tasks are not a list");
  std::vector<JobTask> tasks;
  for (const Json& task : json) {
    if (!task.is_object()) return absl::InvalidArgumentError("a job task is not an object");
    tasks.push_back({task.value("name", ""), task.value("done", false), task.value("last", false),
                     task.value("owner", ""), task.value("lease_expires_at_ms", int64_t{0})});
    RETURN_IF_ERROR(common::ValidateName(tasks.back().name, "job task name"));
    if (!tasks.back().owner.empty()) {
      RETURN_IF_ERROR(common::ValidateName(tasks.back().owner, "job task owner"));
    }
    if (tasks.back().lease_expires_at_ms < 0) {
      return absl::InvalidArgumentError("job task lease is negative");
    }
  }
  return tasks;
}

}  // namespace

absl::Status ValidateJob(const JobRecord& job) {
  RETURN_IF_ERROR(common::ValidateName(job.video_id, "job video id"));
  RETURN_IF_ERROR(common::ValidateName(job.generation, "job generation"));
  if (job.source.empty()) return absl::InvalidArgumentError("job source is empty");
  if (job.attempts < 0 || job.lease_expires_at_ms < 0 || job.next_try_at_ms < 0 ||
      job.created_at_ms < 0 || job.first_error_at_ms < 0 || job.finished_at_ms < 0 ||
      !std::isfinite(job.duration_s) || job.duration_s < 0) {
    return absl::InvalidArgumentError("job record has a negative count or time");
  }
  if (!job.owner.empty()) RETURN_IF_ERROR(common::ValidateName(job.owner, "job owner"));
  return absl::OkStatus();
}

std::string_view JobStateName(JobState state) {
  for (const auto& [known, name] : kStateNames) {
    if (known == state) return name;
  }
  return "unknown";
}

double JobRecord::RemainingWork() const {
  if (tasks.empty()) return duration_s;
  size_t left = 0;
  for (const JobTask& task : tasks) left += task.done ? 0 : 1;
  return duration_s * static_cast<double>(left) / static_cast<double>(tasks.size());
}

bool JobRecord::AllTasksDone() const {
  return std::all_of(tasks.begin(), tasks.end(), [](const JobTask& task) { return task.done; });
}

const std::string& JobRecord::OwnerOf(int task) const {
  return task == kWholeJob ? owner : tasks.at(task).owner;
}

int64_t JobRecord::LeaseOf(int task) const {
  return task == kWholeJob ? lease_expires_at_ms : tasks.at(task).lease_expires_at_ms;
}

void JobRecord::SetClaim(int task, std::string new_owner, int64_t lease) {
  std::string& claimer = task == kWholeJob ? owner : tasks.at(task).owner;
  int64_t& expires = task == kWholeJob ? lease_expires_at_ms : tasks.at(task).lease_expires_at_ms;
  claimer = std::move(new_owner);
  expires = lease;
}

std::string JobRecord::Describe(int task) const {
  if (task == kWholeJob || task >= static_cast<int>(tasks.size())) {
    return absl::StrCat("job of ", video_id);
  }
  return absl::StrCat("job of ", video_id, " (task ", tasks[task].name, ")");
}

std::string JobToJson(const JobRecord& job) {
  Json json = {{"video_id", job.video_id},
               {"generation", job.generation},
               {"source", job.source},
               {"state", JobStateName(job.state)},
               {"tasks", TasksToJson(job.tasks)},
               {"owner", job.owner},
               {"lease_expires_at_ms", job.lease_expires_at_ms},
               {"attempts", job.attempts},
               {"next_try_at_ms", job.next_try_at_ms},
               {"last_error", job.last_error},
               {"created_at_ms", job.created_at_ms},
               {"first_error_at_ms", job.first_error_at_ms},
               {"finished_at_ms", job.finished_at_ms},
               {"duration_s", job.duration_s}};
  // A last error from ffmpeg may carry bytes that are not UTF-8.
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

absl::StatusOr<JobRecord> JobFromJson(std::string_view key, std::string_view text,
                                      int64_t revision) {
  Json json = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("job record \"", common::AsAbsl(key), "\" is not a JSON object"));
  }
  JobRecord job;
  try {
    job.video_id = json.at("video_id").get<std::string>();
    job.generation = json.at("generation").get<std::string>();
    job.source = json.at("source").get<std::string>();
    ASSIGN_OR_RETURN(job.state, StateNamed(json.at("state").get<std::string>()));
    ASSIGN_OR_RETURN(job.tasks, TasksFromJson(json.value("tasks", Json::array())));
    job.owner = json.value("owner", "");
    job.lease_expires_at_ms = json.value("lease_expires_at_ms", int64_t{0});
    job.attempts = json.value("attempts", 0);
    job.next_try_at_ms = json.value("next_try_at_ms", int64_t{0});
    job.last_error = json.value("last_error", "");
    job.created_at_ms = json.value("created_at_ms", int64_t{0});
    job.first_error_at_ms = json.value("first_error_at_ms", int64_t{0});
    job.finished_at_ms = json.value("finished_at_ms", int64_t{0});
    job.duration_s = json.value("duration_s", 0.0);
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("job record \"", common::AsAbsl(key), "\": ", e.what()));
  }
  if (job.video_id != key) {
    return absl::InvalidArgumentError(absl::StrCat("job record \"", common::AsAbsl(key),
                                                   "\" names video \"", job.video_id, "\""));
  }
  RETURN_IF_ERROR(ValidateJob(job));
  job.revision = revision;
  return job;
}

}  // namespace dvs::jobs
