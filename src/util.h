/*
 * util: small helpers over libc and OpenSSL's libcrypto: random ids and
 * secrets, SHA-256, time stamps in the API's format, and FNV-1a hashing.
 */
#ifndef MK_UTIL_H
#define MK_UTIL_H

#include <stddef.h>
#include <stdint.h>

/*
 * Fill out[0..n-1] with characters drawn uniformly from alphabet (no modulo
 * bias), from the OS CSPRNG via RAND_bytes, and NUL-terminate out[n].
 * out must hold n + 1 bytes.  Returns 0, or -1 when no randomness is to be had.
 */
int mk_random_chars(char *out, size_t n, const char *alphabet);

#define MK_ALPHA_HEX "0123456789abcdef"
#define MK_ALPHA_ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
#define MK_ALPHA_URLSAFE MK_ALPHA_ALNUM "-_"

/* SHA-256 of p[0..n-1] as 64 lower-case hex digits plus NUL in out[65]. */
void mk_sha256_hex(const void *p, size_t n, char out[65]);

/* Milliseconds since the epoch, from CLOCK_REALTIME. */
int64_t mk_now_ms(void);

/* Milliseconds of CLOCK_MONOTONIC: for durations and deadlines. */
int64_t mk_mono_ms(void);

/* "2026-11-26T18:31:48.123Z" (24 chars plus NUL) for a time in ms. */
#define MK_ISO_LEN 24
void mk_iso8601(int64_t ms, char out[MK_ISO_LEN + 1]);

/*
 * A byte count for people: "512 B", "1.5 GiB".  Writes at most cap bytes
 * (NUL included) into buf and returns buf.
 */
const char *mk_human_bytes(char *buf, size_t cap, double bytes);

/*
 * Constant-time comparison of two equal-length byte strings.
 * Returns 1 when equal, 0 otherwise.
 */
int mk_ct_equal(const void *a, const void *b, size_t n);

/* FNV-1a: the offset basis, to start a hash. */
#define MK_FNV1A_INIT UINT64_C(14695981039346656037)

/*
 * FNV-1a of p[0..n-1], continuing from h (MK_FNV1A_INIT to start).  Term
 * keys of the search index are made with it: its values must never change.
 */
uint64_t mk_fnv1a(const void *p, size_t n, uint64_t h);

#endif
