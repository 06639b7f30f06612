#include "admin/admin_cli.h"

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "admin/admin_output.h"
#include "admin/host_port.h"
#include "common/grpc_security.h"
#include "common/grpc_status.h"
#include "common/secrets.h"
#include "common/strings.h"
#include "nlohmann/json.hpp"
#include "proto/admin.grpc.pb.h"
#include "proto/dvs_admin.grpc.pb.h"

namespace dvs::admin {
namespace {

constexpr double kDefaultQueryTimeoutS = 10;

enum class Action { kList, kAdd, kRemove, kStatus, kRepair };

std::optional<Action> ParseAction(std::string_view name) {
  if (name == "list") return Action::kList;
  if (name == "add") return Action::kAdd;
  if (name == "remove") return Action::kRemove;
  if (name == "status") return Action::kStatus;
  if (name == "repair") return Action::kRepair;
  return std::nullopt;
}

bool TakesNode(Action action) { return action == Action::kAdd || action == Action::kRemove; }

// Calls that change the cluster keep running on the server when we give up.
bool ChangesCluster(Action action) { return action != Action::kList && action != Action::kStatus; }

// The usage problem with `command`, or "" when it can be run.
std::string UsageProblem(const AdminCommand& command, std::optional<Action> action) {
  if (command.action.empty()) return "an action is needed: list, add, remove, status or repair";
  if (!action) {
    return "unknown action '" + command.action + "' (list, add, remove, status or repair)";
  }
  if (absl::StatusOr<HostPort> server = ParseHostPort(command.server); !server.ok()) {
    return "SERVER: " + std::string(common::AsStd(server.status().message()));
  }
  if (TakesNode(*action) && command.node.empty()) return command.action + " needs NODE (host:port)";
  if (!TakesNode(*action) && !command.node.empty()) return command.action + " takes no NODE";
  if (TakesNode(*action)) {
    if (absl::StatusOr<HostPort> node = ParseHostPort(command.node); !node.ok()) {
      return "NODE: " + std::string(common::AsStd(node.status().message()));
    }
  }
  if (command.timeout_s && !(std::isfinite(*command.timeout_s) && *command.timeout_s >= 0)) {
    return "--timeout must be a number of seconds, 0 or more";
  }
  return "";
}

// One command's connection to the server and its way of reporting.
class Session {
 public:
  // `ca_pem`: the CA certificates the server's TLS certificate must chain
  // to; empty: plaintext.
  Session(const AdminCommand& command, const AdminConsole& console, Action action,
          const std::string& ca_pem)
      : command_(command),
        console_(console),
        action_(action),
        channel_(grpc::CreateChannel(command.server, common::ChannelCredentialsFor(ca_pem))),
        admin_(v1::Admin::NewStub(channel_)),
        tritontube_(tritontube::VideoContentAdminService::NewStub(channel_)) {}

  const AdminCommand& command() const { return command_; }
  const AdminConsole& console() const { return console_; }
  v1::Admin::Stub& admin() { return *admin_; }
  tritontube::VideoContentAdminService::Stub& tritontube() { return *tritontube_; }

  // Adds the token and the deadline to a call's context.
  void Prepare(grpc::ClientContext& context) const;
  // Prints the result (JSON or text) on stdout; returns the exit code.
  int Succeed(const nlohmann::json& json, std::string_view text) const;
  // Explains a failed call on stderr; returns the exit code.
  int Fail(const grpc::Status& status, bool got_response) const;
  int Fail(std::string_view code, std::string_view message) const;

 private:
  double TimeoutSeconds() const;
  std::string Describe(const grpc::Status& status, bool got_response) const;

  const AdminCommand& command_;
  const AdminConsole& console_;
  const Action action_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Admin::Stub> admin_;
  std::unique_ptr<tritontube::VideoContentAdminService::Stub> tritontube_;
};

double Session::TimeoutSeconds() const {
  if (command_.timeout_s) return *command_.timeout_s;
  return ChangesCluster(action_) ? 0 : kDefaultQueryTimeoutS;
}

void Session::Prepare(grpc::ClientContext& context) const {
  if (!command_.token.empty()) context.AddMetadata("authorization", "Bearer " + command_.token);
  if (double timeout = TimeoutSeconds(); timeout > 0) {
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::duration_cast<std::chrono::system_clock::duration>(
                             std::chrono::duration<double>(timeout)));
  }
}

int Session::Succeed(const nlohmann::json& json, std::string_view text) const {
  if (command_.json) {
    console_.out << json.dump() << '\n';
  } else {
    console_.out << text;
  }
  console_.out.flush();
  return kExitOk;
}

int Session::Fail(std::string_view code, std::string_view message) const {
  console_.err << "dvs admin: " << message << std::endl;
  if (command_.json) {
    console_.out << nlohmann::json{{"error", {{"code", code}, {"message", message}}}}.dump()
                 << std::endl;
  }
  return kExitFailure;
}

int Session::Fail(const grpc::Status& status, bool got_response) const {
  absl::Status as_absl = common::FromGrpcStatus(status);
  return Fail(absl::StatusCodeToString(as_absl.code()), Describe(status, got_response));
}

std::string Session::Describe(const grpc::Status& status, bool got_response) const {
  const std::string& server = command_.server;
  const std::string& message = status.error_message();
  std::string still_running =
      ChangesCluster(action_) && got_response
          ? "; the server carries on with it (see `dvs admin status " + server + "`)"
          : "";
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      // UNAVAILABLE from the server itself (a storage node is down) comes
      // over a working connection; only a broken one means "cannot reach".
      if (channel_->GetState(false) == GRPC_CHANNEL_READY) return message;
      if (got_response) return "lost the connection to " + server + ": " + message + still_running;
      return "cannot reach " + server + ": " + message;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return server + " did not answer within " + nlohmann::json(TimeoutSeconds()).dump() +
             " s (--timeout)" + still_running;
    case grpc::StatusCode::UNAUTHENTICATED:
      return server + " refused the call: " + message + " (pass --token or set DVS_ADMIN_TOKEN)";
    case grpc::StatusCode::UNIMPLEMENTED:
      return server + " does not serve this call; is it a dvs admin address? (" + message + ")";
    default:
      return message;
  }
}

// --- list ---

int PrintNodes(const Session& session, const std::vector<std::string>& nodes) {
  std::string text;
  for (const std::string& node : nodes) text += node + "\n";
  return session.Succeed({{"nodes", nodes}}, text);
}

// For servers that speak only the reference's API (TritonTube in Go).
int ListWithTritonTube(Session& session) {
  grpc::ClientContext context;
  session.Prepare(context);
  tritontube::ListNodesResponse response;
  grpc::Status status = session.tritontube().ListNodes(&context, {}, &response);
  if (!status.ok()) return session.Fail(status, false);
  return PrintNodes(session, {response.nodes().begin(), response.nodes().end()});
}

int RunList(Session& session) {
  grpc::ClientContext context;
  session.Prepare(context);
  v1::ListNodesResponse response;
  grpc::Status status = session.admin().ListNodes(&context, {}, &response);
  if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED) return ListWithTritonTube(session);
  if (!status.ok()) return session.Fail(status, false);
  return PrintNodes(session, {response.nodes().begin(), response.nodes().end()});
}

// --- add, remove, repair ---

struct StreamOutcome {
  grpc::Status status;
  bool got_response = false;
  v1::ChangeProgress result;  // the message with a result, if any came
};

StreamOutcome Follow(grpc::ClientReader<v1::ChangeProgress>& reader, ProgressDisplay& display) {
  StreamOutcome outcome;
  v1::ChangeProgress message;
  while (reader.Read(&message)) {
    outcome.got_response = true;
    if (message.result_case() == v1::ChangeProgress::RESULT_NOT_SET) {
      display.Update(message);
    } else {
      outcome.result = message;
    }
  }
  display.Finish();
  outcome.status = reader.Finish();
  return outcome;
}

int ReportNodeChange(const Session& session, bool add, uint64_t migrated) {
  const std::string& node = session.command().node;
  std::string text = (add ? "added " : "removed ") + node + ": " + std::to_string(migrated) +
                     (migrated == 1 ? " file" : " files") + " migrated\n";
  return session.Succeed(
      {{"action", add ? "add" : "remove"}, {"node", node}, {"migrated_file_count", migrated}},
      text);
}

int ChangeWithTritonTube(Session& session, bool add) {
  grpc::ClientContext context;
  session.Prepare(context);
  grpc::Status status;
  int32_t migrated = 0;
  if (add) {
    tritontube::AddNodeRequest request;
    request.set_node_address(session.command().node);
    tritontube::AddNodeResponse response;
    status = session.tritontube().AddNode(&context, request, &response);
    migrated = response.migrated_file_count();
  } else {
    tritontube::RemoveNodeRequest request;
    request.set_node_address(session.command().node);
    tritontube::RemoveNodeResponse response;
    status = session.tritontube().RemoveNode(&context, request, &response);
    migrated = response.migrated_file_count();
  }
  if (!status.ok()) return session.Fail(status, false);
  return ReportNodeChange(session, add, static_cast<uint64_t>(std::max(migrated, 0)));
}

int RunNodeChange(Session& session, bool add) {
  grpc::ClientContext context;
  session.Prepare(context);
  v1::NodeChangeRequest request;
  request.set_node_address(session.command().node);
  auto reader = add ? session.admin().AddNode(&context, request)
                    : session.admin().RemoveNode(&context, request);
  ProgressDisplay display(session.console().err, session.console().err_is_terminal,
                          (add ? "adding " : "removing ") + session.command().node);
  StreamOutcome outcome = Follow(*reader, display);
  if (outcome.status.error_code() == grpc::StatusCode::UNIMPLEMENTED && !outcome.got_response) {
    return ChangeWithTritonTube(session, add);
  }
  if (!outcome.status.ok()) return session.Fail(outcome.status, outcome.got_response);
  if (!outcome.result.has_node_change()) {
    return session.Fail("INTERNAL", "the server ended the change without a result");
  }
  return ReportNodeChange(session, add, outcome.result.node_change().migrated_file_count());
}

int RunRepair(Session& session) {
  grpc::ClientContext context;
  session.Prepare(context);
  auto reader = session.admin().Repair(&context, {});
  ProgressDisplay display(session.console().err, session.console().err_is_terminal, "repair");
  StreamOutcome outcome = Follow(*reader, display);
  if (!outcome.status.ok()) return session.Fail(outcome.status, outcome.got_response);
  if (!outcome.result.has_repair()) {
    return session.Fail("INTERNAL", "the server ended the repair without a report");
  }
  const v1::RepairResult& result = outcome.result.repair();
  std::string text = "repair: " + std::to_string(result.keys_checked()) + " files checked, " +
                     std::to_string(result.copies_made()) + " copies made, " +
                     std::to_string(result.copies_deleted()) + " stray copies deleted\n";
  for (const std::string& key : result.lost_keys()) text += "lost: " + key + "\n";
  session.Succeed(RepairToJson(result), text);
  if (result.lost_keys_size() == 0) return kExitOk;
  session.console().err << "dvs admin: " << result.lost_keys_size()
                        << " files have no healthy copy left" << std::endl;
  return kExitFailure;
}

// --- status ---

int RunStatus(Session& session) {
  grpc::ClientContext context;
  session.Prepare(context);
  v1::StatusResponse response;
  grpc::Status status = session.admin().Status(&context, {}, &response);
  if (!status.ok()) return session.Fail(status, false);
  std::ostringstream text;
  PrintStatus(response, text);
  return session.Succeed(StatusToJson(response), text.str());
}

int UsageError(const AdminCommand& command, const AdminConsole& console, std::string_view problem) {
  console.err << "dvs admin: " << problem << "\nRun `dvs admin --help` for usage." << std::endl;
  if (command.json) {
    console.out
        << nlohmann::json{{"error", {{"code", "INVALID_ARGUMENT"}, {"message", problem}}}}.dump()
        << std::endl;
  }
  return kExitUsage;
}

}  // namespace

int RunAdminCommand(const AdminCommand& command, const AdminConsole& console) {
  std::optional<Action> action = ParseAction(command.action);
  if (std::string problem = UsageProblem(command, action); !problem.empty()) {
    return UsageError(command, console, problem);
  }
  std::string ca_pem;
  if (!command.tls_ca_file.empty()) {
    absl::StatusOr<std::string> pem = common::ReadPemFile(command.tls_ca_file, "--tls-ca");
    if (!pem.ok()) return UsageError(command, console, common::AsStd(pem.status().message()));
    ca_pem = std::move(*pem);
  }
  Session session(command, console, *action, ca_pem);
  switch (*action) {
    case Action::kList:
      return RunList(session);
    case Action::kAdd:
      return RunNodeChange(session, true);
    case Action::kRemove:
      return RunNodeChange(session, false);
    case Action::kStatus:
      return RunStatus(session);
    case Action::kRepair:
      return RunRepair(session);
  }
  return kExitUsage;
}

int RunAdminCommand(const AdminCommand& command) {
  AdminConsole console{std::cout, std::cerr, isatty(STDERR_FILENO) == 1};
  return RunAdminCommand(command, console);
}

}  // namespace dvs::admin
