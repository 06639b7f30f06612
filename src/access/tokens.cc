#include "access/tokens.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/sha256.h"
#include "common/status.h"
#include "nlohmann/json.hpp"

namespace dvs::access {
namespace {

constexpr size_t kSecretHexDigits = 64;
constexpr size_t kMaxCachedTokens = 10000;

bool IsLowerHex(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string TokenJson(const Token& token) {
  return nlohmann::json{{"user", token.user},
                        {"scopes", ScopeNames(token.scopes)},
                        {"kind", TokenKindName(token.kind)},
                        {"label", token.label},
                        {"created_at_ms", token.created_at_ms},
                        {"expires_at_ms", token.expires_at_ms}}
      .dump();
}

absl::StatusOr<Token> ParseToken(std::string id, const std::string& value) {
  nlohmann::json json = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object() || !json.contains("user") || !json["user"].is_string() ||
      !json.contains("scopes") || !json["scopes"].is_array()) {
    return absl::DataLossError("a token record is damaged");
  }
  Token token;
  token.id = std::move(id);
  token.user = json["user"].get<std::string>();
  std::vector<std::string> words;
  for (const nlohmann::json& word : json["scopes"]) {
    if (word.is_string()) words.push_back(word.get<std::string>());
  }
  ASSIGN_OR_RETURN(token.scopes, ParseScopes(words));
  token.kind = json.value("kind", "api") == "session" ? TokenKind::kSession : TokenKind::kApi;
  token.label = json.value("label", "");
  token.created_at_ms = json.value("created_at_ms", int64_t{0});
  token.expires_at_ms = json.value("expires_at_ms", int64_t{0});
  return token;
}

absl::Status NotAToken() { return absl::UnauthenticatedError("the token is not valid"); }

}  // namespace

const char* TokenKindName(TokenKind kind) {
  return kind == TokenKind::kSession ? "session" : "api";
}

TokenStore::TokenStore(metadata::SmallRecordStore& store, std::function<int64_t()> now_ms)
    : store_(store), now_ms_(std::move(now_ms)) {}

std::string TokenStore::IdOf(std::string_view secret) { return common::Sha256Hex(secret); }

absl::StatusOr<IssuedToken> TokenStore::Issue(std::string_view user, Scopes scopes, TokenKind kind,
                                              int64_t ttl_s, std::string_view label) {
  if (ttl_s < 1 || ttl_s > kMaxTtlS) {
    return absl::InvalidArgumentError(
        absl::StrCat("ttl_s must be from 1 to ", kMaxTtlS, " seconds"));
  }
  if (label.size() > kMaxLabelLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("a label has at most ", kMaxLabelLength, " characters"));
  }
  IssuedToken issued;
  issued.secret = absl::StrCat(kPrefix, common::RandomHex(kSecretHexDigits / 2));
  Token& token = issued.token;
  token.id = IdOf(issued.secret);
  token.user = std::string(user);
  token.scopes = scopes;
  token.kind = kind;
  token.label = std::string(label);
  token.created_at_ms = now_ms_();
  token.expires_at_ms = token.created_at_ms + ttl_s * 1000;
  RETURN_IF_ERROR(store_.WriteSmall(kKind, token.id, TokenJson(token), 0).status());
  return issued;
}

absl::StatusOr<Token> TokenStore::Verify(std::string_view secret) {
  std::string_view prefix = kPrefix;
  if (secret.size() != prefix.size() + kSecretHexDigits || !secret.starts_with(prefix) ||
      !IsLowerHex(secret.substr(prefix.size()))) {
    return NotAToken();
  }
  const std::string id = IdOf(secret);
  const int64_t now = now_ms_();
  uint64_t forgets_before;
  {
    std::lock_guard lock(mutex_);
    forgets_before = forgets_;
    auto found = cache_.find(id);
    if (found != cache_.end() && now - found->second.verified_at_ms < kCacheForMs &&
        now < found->second.token.expires_at_ms) {
      return found->second.token;
    }
  }
  absl::StatusOr<Token> token = ReadToken(id);
  if (token.status().code() == absl::StatusCode::kNotFound) return NotAToken();
  RETURN_IF_ERROR(token.status());
  if (now >= token->expires_at_ms) {
    Forget(id);
    (void)store_.DeleteSmall(kKind, id);  // gone already is as good
    return absl::UnauthenticatedError("the token has expired");
  }
  std::lock_guard lock(mutex_);
  // A token revoked while it was being read is not kept.
  if (forgets_ != forgets_before) return token;
  if (cache_.size() >= kMaxCachedTokens) cache_.clear();
  cache_[id] = Cached{*token, now};
  return token;
}

absl::StatusOr<Token> TokenStore::ReadToken(const std::string& id) {
  ASSIGN_OR_RETURN(metadata::SmallRecord record, store_.ReadSmall(kKind, id));
  return ParseToken(id, record.value);
}

void TokenStore::Forget(const std::string& id) {
  std::lock_guard lock(mutex_);
  cache_.erase(id);
  ++forgets_;
}

absl::Status TokenStore::Revoke(std::string_view id, std::string_view user) {
  const std::string key(id);
  if (key.size() != kSecretHexDigits || !IsLowerHex(key)) {
    return absl::NotFoundError("no such token");
  }
  absl::StatusOr<Token> token = ReadToken(key);
  if (token.status().code() == absl::StatusCode::kNotFound ||
      (token.ok() && !user.empty() && token->user != user)) {
    return absl::NotFoundError("no such token");
  }
  RETURN_IF_ERROR(token.status());
  absl::Status deleted = store_.DeleteSmall(kKind, key);
  Forget(key);
  return deleted;
}

absl::StatusOr<size_t> TokenStore::DropExpired() {
  const int64_t now = now_ms_();
  size_t dropped = 0;
  std::string after;
  while (true) {
    ASSIGN_OR_RETURN(metadata::SmallRecordPage page, store_.ListSmall(kKind, after, 200));
    for (const metadata::SmallRecord& record : page.records) {
      after = record.key;
      absl::StatusOr<Token> token = ParseToken(record.key, record.value);
      if (!token.ok() || now < token->expires_at_ms) continue;
      absl::Status deleted = store_.DeleteSmall(kKind, record.key);
      if (!deleted.ok() && deleted.code() != absl::StatusCode::kNotFound) return deleted;
      Forget(record.key);
      ++dropped;
    }
    if (!page.more || page.records.empty()) return dropped;
  }
}

absl::StatusOr<std::vector<Token>> TokenStore::ListFor(std::string_view user) {
  std::vector<Token> tokens;
  const int64_t now = now_ms_();
  std::string after;
  while (true) {
    ASSIGN_OR_RETURN(metadata::SmallRecordPage page, store_.ListSmall(kKind, after, 200));
    for (metadata::SmallRecord& record : page.records) {
      after = record.key;
      absl::StatusOr<Token> token = ParseToken(record.key, record.value);
      if (token.ok() && token->user == user && now < token->expires_at_ms) {
        tokens.push_back(std::move(*token));
      }
    }
    if (!page.more || page.records.empty()) break;
  }
  std::sort(tokens.begin(), tokens.end(),
            [](const Token& a, const Token& b) { return a.created_at_ms < b.created_at_ms; });
  return tokens;
}

absl::StatusOr<size_t> TokenStore::RevokeWhere(
    std::string_view user, const std::function<bool(const Token& token)>& which) {
  ASSIGN_OR_RETURN(std::vector<Token> tokens, ListFor(user));
  size_t revoked = 0;
  for (const Token& token : tokens) {
    if (!which(token)) continue;
    absl::Status status = Revoke(token.id, user);
    if (absl::IsNotFound(status)) continue;  // gone meanwhile
    RETURN_IF_ERROR(status);
    ++revoked;
  }
  return revoked;
}

}  // namespace dvs::access
