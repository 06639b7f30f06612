// `dvs admin list|add|remove|status|repair SERVER [NODE]`: the operator's
// client of the admin port (DESIGN §2, §7). add, remove and repair follow the
// server's streamed progress (a bar on a terminal, plain lines otherwise);
// --json prints exactly one JSON object on stdout, also on failure
// ({"error":{"code":...,"message":...}}).
//
// Exit codes: 0 done, 1 failed (message on stderr), 2 usage error.
// No gRPC in this header.
#pragma once

#include <optional>
#include <ostream>
#include <string>

namespace dvs::admin {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

inline constexpr char kAdminUsage[] =
    "dvs admin ACTION SERVER [NODE]\n"
    "  list SERVER          the storage nodes of the ring, one per line\n"
    "  add SERVER NODE      add storage node NODE (host:port) and migrate files to it\n"
    "  remove SERVER NODE   remove storage node NODE, moving its files to the others\n"
    "  status SERVER        the ring (epoch, V, R, change in progress) and each node's health\n"
    "  repair SERVER        bring every file back to exactly its replicas\n"
    "SERVER is the admin address of `dvs web ... nw ADMIN_HOST:PORT,...` (host:port).";

struct AdminCommand {
  std::string action;  // list | add | remove | status | repair
  std::string server;  // host:port of the admin port
  std::string node;    // add and remove only
  bool json = false;
  std::string token;  // empty: send none
  // A PEM file of the CA certificates that sign the server's TLS
  // certificate; empty: plaintext.
  std::string tls_ca_file;
  // Seconds before giving up on the server. nullopt: the action's default
  // (10 s for list and status; none for add, remove and repair, whose
  // migrations may rightly take hours). 0: none.
  std::optional<double> timeout_s;
};

// Where the command writes: results on `out`; messages and progress on `err`.
struct AdminConsole {
  std::ostream& out;
  std::ostream& err;
  bool err_is_terminal = false;  // draw a progress bar rather than lines
};

// Runs one admin command; returns the process exit code.
int RunAdminCommand(const AdminCommand& command, const AdminConsole& console);
// The same on std::cout and std::cerr (a bar when stderr is a terminal).
int RunAdminCommand(const AdminCommand& command);

}  // namespace dvs::admin
