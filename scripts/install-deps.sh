#!/usr/bin/env bash
# Installs everything dvs needs to build, run and test on Debian 12: compilers
# and libraries from apt, front-end packages from npm. Idempotent and
# non-interactive; run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git curl ca-certificates
  libboost1.81-dev libabsl-dev libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev
  protobuf-compiler libsqlite3-dev nlohmann-json3-dev libcli11-dev libspdlog-dev libssl-dev
  libgtest-dev libgmock-dev ffmpeg chromium fonts-dejavu-core etcd-server etcd-client openssl
  clang libclang-rt-14-dev libsodium-dev prometheus libcurl4-openssl-dev python3-swift
)

missing=()
for package in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
# Node.js may come from elsewhere than Debian (with its own npm): only fall
# back to Debian's when there is none.
command -v npm >/dev/null || missing+=(nodejs npm)
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -d web/node_modules/dashjs ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
  echo "install-deps: installing npm packages"
  (cd web && npm ci --no-audit --no-fund --loglevel=error)
fi
