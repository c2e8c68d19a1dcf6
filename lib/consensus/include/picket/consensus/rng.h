#pragma once
// A small seeded PRNG (splitmix64) for election jitter. Injected so that a simulation
// replays bit for bit from its seed; pure modules may not use <random>.

#include <cstdint>

namespace picket::consensus {

/// splitmix64 (Steele, Lea, Flood 2014): 64-bit state, passes BigCrush, trivially
/// seedable. Not for cryptography. Value type: copy it to fork a stream.
class SplitMix64 {
  public:
    explicit SplitMix64(std::uint64_t seed) : state_(seed) {}

    /// The next 64 random bits.
    std::uint64_t next() {
        std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }

    /// Uniform in [lo, hi] (inclusive); lo when hi <= lo. The modulo bias is below 2^-40
    /// for the ranges used here (milliseconds to nanoseconds of jitter).
    std::uint64_t uniform(std::uint64_t lo, std::uint64_t hi) {
        if (hi <= lo) {
            return lo;
        }
        const std::uint64_t span = hi - lo + 1;
        return span == 0 ? next() : lo + next() % span;
    }

    /// True with probability num/den.
    bool chance(std::uint64_t num, std::uint64_t den) { return next() % den < num; }

  private:
    std::uint64_t state_;
};

}  // namespace picket::consensus
