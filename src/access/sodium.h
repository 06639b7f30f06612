// libsodium, made ready once for the whole process. Every caller of a
// libsodium function in src/access calls EnsureSodium() first.
// Thread-safe: the first call initializes, the others wait for it.
#pragma once

namespace dvs::access {

// Aborts when libsodium cannot initialize (no source of randomness): no
// password could be hashed and no secret made.
void EnsureSodium();

}  // namespace dvs::access
