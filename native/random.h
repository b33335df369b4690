// The counter-based hash shared with src/util/random.ts (hash32), so that both engines draw the
// same dropout mask from the same seed.
#pragma once
#include <cstdint>

namespace pyo {

inline uint32_t hash32(uint32_t seed, uint32_t index) {
  uint32_t x = ((seed ^ 0x9e3779b9u) * 0x85ebca6bu) ^ index;
  for (int round = 0; round < 2; ++round) {
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    x ^= x >> 16;
  }
  return x;
}

inline double hash_uniform(uint32_t seed, uint32_t index) { return hash32(seed, index) / 4294967296.0; }

// JS's ToUint32 for the integral seeds the TS side passes.
inline uint32_t to_uint32(double value) { return static_cast<uint32_t>(static_cast<int64_t>(value)); }

}  // namespace pyo
