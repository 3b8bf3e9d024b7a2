/*
 * Counter-based random numbers.  A draw is a pure function of
 * (seed, stream, index): no hidden state, so the value an entity gets does not
 * depend on how many ranks there are or in what order entities draw.  Each
 * entity uses its id as the stream and counts its own draws.
 */
#ifndef CX_RNG_H
#define CX_RNG_H

#include <math.h>
#include <stdint.h>

/* moremur-style 64-bit finalizer: full avalanche, bijective. */
static inline uint64_t cx_mix64(uint64_t x)
{
    x ^= x >> 27;
    x *= 0x3C79AC492BA7B653ULL;
    x ^= x >> 33;
    x *= 0x1C69B3F74AC4AE35ULL;
    x ^= x >> 27;
    return x;
}

/* The draw `index` of stream `stream` under `seed`. */
static inline uint64_t cx_rng_u64(uint64_t seed, uint64_t stream, uint64_t index)
{
    uint64_t x = cx_mix64(seed + 0x9E3779B97F4A7C15ULL);
    x = cx_mix64(x ^ (stream * 0xD1B54A32D192ED03ULL + 0x8CB92BA72F3D8DD7ULL));
    x = cx_mix64(x ^ (index * 0xAEF17502108EF2D9ULL + 0x61C8864680B583EBULL));
    return x;
}

/* A stream: (seed, stream id) plus the next draw index.  16 bytes + counter. */
typedef struct cx_rng {
    uint64_t seed;
    uint64_t stream;
    uint64_t next;
} cx_rng_t;

static inline void cx_rng_init(cx_rng_t *r, uint64_t seed, uint64_t stream)
{
    r->seed   = seed;
    r->stream = stream;
    r->next   = 0;
}

static inline uint64_t cx_rng_next(cx_rng_t *r)
{
    return cx_rng_u64(r->seed, r->stream, r->next++);
}

/* Uniform in [0, 1) with 53 bits. */
static inline double cx_rng_uniform(cx_rng_t *r)
{
    return (double)(cx_rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform in (0, 1]: safe for log(). */
static inline double cx_rng_uniform_pos(cx_rng_t *r)
{
    return ((double)(cx_rng_next(r) >> 11) + 1.0) * 0x1.0p-53;
}

/* Exponential with the given mean. */
static inline double cx_rng_exp(cx_rng_t *r, double mean)
{
    return -mean * log(cx_rng_uniform_pos(r));
}

/* Uniform integer in [0, n), n > 0, unbiased (Lemire's method; the rejection
 * loop draws more numbers only from this stream, so it stays deterministic). */
static inline uint64_t cx_rng_below(cx_rng_t *r, uint64_t n)
{
    uint64_t          x = cx_rng_next(r);
    unsigned __int128 m = (unsigned __int128)x * n;
    uint64_t          l = (uint64_t)m;
    if (l < n) {
        uint64_t t = (0 - n) % n;
        while (l < t) {
            x = cx_rng_next(r);
            m = (unsigned __int128)x * n;
            l = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

#endif
