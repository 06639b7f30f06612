#include "web/status_page.h"

#include <chrono>
#include <cstdio>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/strings.h"
#include "jobs/job_store.h"
#include "web/access_gate.h"
#include "web/pages.h"

namespace dvs::web {
namespace {

using http::HtmlEscape;

std::string Bytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof(text), unit == 0 ? "%.0f %s" : "%.1f %s", value, units[unit]);
  return text;
}

std::string RingSection(const content::ClusterStatus& status) {
  const content::RingState& ring = status.ring;
  std::string html =
      absl::StrCat("<h2>Ring</h2><p id=\"ring\">epoch ", ring.epoch, ", ", ring.nodes.size(),
                   " nodes, ", ring.replicas, " replicas, ", ring.vnodes, " points per node",
                   ring.transition ? " — a change is in progress" : "", "</p>");
  absl::StrAppend(&html,
                  "<h2>Storage nodes</h2><table id=\"nodes\"><tr><th>node</th><th>health</th>"
                  "<th>used</th><th>free</th><th>blobs</th></tr>");
  for (const content::NodeStatus& node : status.nodes) {
    absl::StrAppend(&html, "<tr><td>", HtmlEscape(node.address), "</td><td>",
                    node.healthy ? "up" : absl::StrCat("down: ", HtmlEscape(node.error)),
                    "</td><td>", Bytes(node.bytes_used), "</td><td>", Bytes(node.bytes_free),
                    "</td><td>", node.blob_count, "</td></tr>");
  }
  return html + "</table>";
}

std::string JobRow(const jobs::JobRecord& job) {
  size_t done = 0;
  for (const jobs::JobTask& task : job.tasks) done += task.done ? 1 : 0;
  std::string tasks = job.tasks.empty() ? "-" : absl::StrCat(done, " of ", job.tasks.size());
  return absl::StrCat("<tr><td>", HtmlEscape(job.video_id), "</td><td>",
                      common::AsAbsl(jobs::JobStateName(job.state)), "</td><td>", tasks,
                      "</td><td>", job.attempts, "</td><td>", HtmlEscape(job.last_error),
                      "</td></tr>");
}

std::string JobsSection(const std::vector<jobs::JobRecord>& all) {
  std::string rows;
  size_t running = 0, queued = 0;
  for (const jobs::JobRecord& job : all) {
    if (job.state == jobs::JobState::kRunning) ++running;
    if (job.state == jobs::JobState::kQueued) ++queued;
    if (job.Unfinished() || job.state == jobs::JobState::kFailed) rows += JobRow(job);
  }
  return absl::StrCat("<h2>Transcoding jobs</h2><p id=\"job-counts\">", running, " running, ",
                      queued,
                      " queued</p><table id=\"jobs\"><tr><th>video</th><th>state</th>"
                      "<th>tasks done</th><th>errors</th><th>last error</th></tr>",
                      rows, "</table>");
}

}  // namespace

std::string StatusPageBody(const absl::StatusOr<content::ClusterStatus>& cluster, bool has_cluster,
                           const absl::StatusOr<std::vector<jobs::JobRecord>>& jobs) {
  std::string body = "<h1>Status</h1>";
  if (!has_cluster) {
    body += "<p>Files are kept without storage servers (no ring).</p>";
  } else if (!cluster.ok()) {
    absl::StrAppend(&body, "<p class=\"error\">cannot read the cluster: ",
                    HtmlEscape(common::AsStd(cluster.status().message())), "</p>");
  } else {
    body += RingSection(*cluster);
  }
  if (!jobs.ok()) {
    absl::StrAppend(&body, "<p class=\"error\">cannot read the jobs: ",
                    HtmlEscape(common::AsStd(jobs.status().message())), "</p>");
  } else {
    body += JobsSection(*jobs);
  }
  return body;
}

void RegisterStatusPage(http::Router& router, AccessGate& gate, content::ClusterAdmin* cluster,
                        metadata::SmallRecordStore& job_records) {
  auto store = std::make_shared<jobs::JobStore>(job_records, [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  });
  router.Add("GET", "/admin/status", [&gate, cluster, store](http::Request& request) {
    absl::StatusOr<access::Principal> who = gate.Identify(request);
    if (!who.ok()) return AccessGate::Refusal(request, who.status());
    if (absl::Status allowed = gate.Check(*who, access::Action::kObserve); !allowed.ok()) {
      return AccessGate::Refusal(request, allowed);
    }
    absl::StatusOr<content::ClusterStatus> status = absl::UnavailableError("no cluster");
    if (cluster != nullptr) status = cluster->Status();
    std::string body = StatusPageBody(status, cluster != nullptr, store->List());
    http::Response response =
        http::Response::Html(200, StandardPage("Status", body, Viewer{.user = who->user}));
    response.headers.Set("Cache-Control", "no-store");
    return response;
  });
}

}  // namespace dvs::web
