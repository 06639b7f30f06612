// The routes of accounts and tokens (DESIGN §7a, §10): GET/POST /login,
// POST /logout, GET/POST /api/tokens, DELETE /api/tokens/:id and
// POST /api/users. Thin: the rules live in src/access. Thread-safe.
#pragma once

#include "http/router.h"
#include "web/access_gate.h"

namespace dvs::web {

void RegisterAccessRoutes(http::Router& router, AccessGate& gate);

}  // namespace dvs::web
