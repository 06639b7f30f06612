// `dvs worker`: a process that only transcodes (DESIGN §2, §9). It shares
// the cluster's etcd and storage servers with the web servers, claims video
// jobs from the shared queue (src/jobs), fetches each job's source from the
// content service, writes the renditions and publishes the video, exactly
// as a web server's own job slots do. It serves no HTTP. Runs until SIGINT
// or SIGTERM, then gives its running jobs back.
#pragma once

#include "web/serve.h"

namespace dvs::web {

// `config.backends` must be etcd and nw (a worker needs the shared queue
// and the shared sources). Exit code as RunWebServer's.
int RunWorker(const WebConfig& config);

}  // namespace dvs::web
