// GET /admin/status: the cluster as an administrator sees it, from the same
// data as `dvs admin status` (ClusterAdmin::Status: the ring, each storage
// node's health and usage) and the shared job records (what runs, what
// waits). Administrators with the admin scope only. Thread-safe.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "content/network/cluster_admin.h"
#include "http/router.h"
#include "jobs/job_record.h"
#include "metadata/small_record_store.h"

namespace dvs::web {

class AccessGate;
struct Viewer;

// The page's body, from what was read (an error in place of what could not be).
std::string StatusPageBody(const absl::StatusOr<content::ClusterStatus>& cluster, bool has_cluster,
                           const absl::StatusOr<std::vector<jobs::JobRecord>>& jobs);

// `cluster` may be null (fs or s3 content: no ring). Both must outlive the router.
void RegisterStatusPage(http::Router& router, AccessGate& gate, content::ClusterAdmin* cluster,
                        metadata::SmallRecordStore& job_records);

}  // namespace dvs::web
