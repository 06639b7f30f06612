// TokenStore: API tokens and browser sessions, one kind of record (kind
// "token") in the metadata backend, so that every web server accepts them
// and a revoke or logout anywhere is seen everywhere.
//
// A token is "dvs_" and 64 hex digits (32 random bytes), shown once when
// issued. Only its SHA-256 is stored, as the record's key, which is also the
// token's id: a leaked record cannot be used as a credential. The record
// holds {user, scopes, kind: "api" | "session", label, created_at_ms,
// expires_at_ms}.
//
// Verify keeps what it verified in memory for kCacheFor, so that a page with
// many requests costs one backend read; a Revoke on this server drops it at
// once, while other servers notice within kCacheFor.
//
// Thread-safe: mutex_ guards the cache.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "access/policy.h"
#include "metadata/small_record_store.h"

namespace dvs::access {

enum class TokenKind { kApi, kSession };

struct Token {
  std::string id;  // the SHA-256 of the secret, hex
  std::string user;
  Scopes scopes = 0;
  TokenKind kind = TokenKind::kApi;
  std::string label;
  int64_t created_at_ms = 0;
  int64_t expires_at_ms = 0;
};

struct IssuedToken {
  std::string secret;  // shown once
  Token token;
};

class TokenStore {
 public:
  static constexpr char kKind[] = "token";
  static constexpr char kPrefix[] = "dvs_";
  static constexpr int64_t kCacheForMs = 5000;
  static constexpr int64_t kMaxTtlS = 365LL * 24 * 3600;
  static constexpr size_t kMaxLabelLength = 100;

  TokenStore(metadata::SmallRecordStore& store, std::function<int64_t()> now_ms);

  // InvalidArgument for a ttl outside 1 s .. kMaxTtlS or a label too long.
  [[nodiscard]] absl::StatusOr<IssuedToken> Issue(std::string_view user, Scopes scopes,
                                                  TokenKind kind, int64_t ttl_s,
                                                  std::string_view label = {});
  // The token for a secret; Unauthenticated when it is malformed, unknown,
  // revoked or expired (an expired one is deleted).
  [[nodiscard]] absl::StatusOr<Token> Verify(std::string_view secret);
  // Deletes the token with this id, when it belongs to `user` (empty: any
  // user's). NotFound otherwise, also for another user's token.
  [[nodiscard]] absl::Status Revoke(std::string_view id, std::string_view user = {});
  // Deletes every expired token and session (they are otherwise removed
  // only when presented); returns how many. For start-up.
  [[nodiscard]] absl::StatusOr<size_t> DropExpired();
  // The user's live tokens (no secrets), oldest first.
  [[nodiscard]] absl::StatusOr<std::vector<Token>> ListFor(std::string_view user);
  // Revokes each of the user's tokens and sessions for which `which` holds;
  // returns how many.
  [[nodiscard]] absl::StatusOr<size_t> RevokeWhere(
      std::string_view user, const std::function<bool(const Token& token)>& which);

  static std::string IdOf(std::string_view secret);

 private:
  struct Cached {
    Token token;
    int64_t verified_at_ms = 0;
  };
  absl::StatusOr<Token> ReadToken(const std::string& id);
  void Forget(const std::string& id);

  metadata::SmallRecordStore& store_;
  const std::function<int64_t()> now_ms_;
  std::mutex mutex_;
  // State below is protected by mutex_.
  std::unordered_map<std::string, Cached> cache_;  // by id
  uint64_t forgets_ = 0;                           // counts Forget calls
};

const char* TokenKindName(TokenKind kind);

}  // namespace dvs::access
