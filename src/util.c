/* util: randomness, hashing, time (see util.h). */
#include "util.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>
#include <time.h>

int
mk_random_chars(char *out, size_t n, const char *alphabet)
{
	unsigned char rnd[64];
	size_t alen = strlen(alphabet), i = 0, j = sizeof(rnd);
	/* Largest multiple of alen that fits in a byte: reject above it. */
	unsigned limit = 256 - 256 % (unsigned)alen;

	while (i < n) {
		if (j == sizeof(rnd)) {
			if (RAND_bytes(rnd, (int)sizeof(rnd)) != 1)
				return -1;
			j = 0;
		}
		if (rnd[j] < limit)
			out[i++] = alphabet[rnd[j] % alen];
		j++;
	}
	out[n] = '\0';
	return 0;
}

void
mk_sha256_hex(const void *p, size_t n, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	/* Fetched once per process: an implicit fetch on every call (what
	 * EVP_sha256() with EVP_Digest does) cost as much as the hashing. */
	static EVP_MD *sha256;
	static EVP_MD_CTX *ctx;
	unsigned char md[32];
	unsigned int mdlen = 0;
	size_t i;

	if (sha256 == NULL)
		sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (ctx == NULL)
		ctx = EVP_MD_CTX_new();
	if (sha256 == NULL || ctx == NULL || EVP_DigestInit_ex(ctx, sha256, NULL) != 1 ||
	    EVP_DigestUpdate(ctx, p, n) != 1 || EVP_DigestFinal_ex(ctx, md, &mdlen) != 1)
		EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL);
	for (i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
}

int64_t
mk_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
mk_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
mk_iso8601(int64_t ms, char out[MK_ISO_LEN + 1])
{
	/* Floor division, so times before 1970 still print a valid millisecond. */
	int64_t msec = ((ms % 1000) + 1000) % 1000;
	time_t secs = (time_t)((ms - msec) / 1000);
	struct tm tm;

	gmtime_r(&secs, &tm);
	strftime(out, 21, "%Y-%m-%dT%H:%M:%S", &tm);
	/* strftime wrote 19 chars; add the milliseconds and the zone. */
	snprintf(out + 19, 6, ".%03uZ", (unsigned)msec);
}

int
mk_ct_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

const char *
mk_human_bytes(char *buf, size_t cap, double bytes)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int i = 0;

	while (bytes >= 1024 && i < 4) {
		bytes /= 1024;
		i++;
	}
	snprintf(buf, cap, i == 0 ? "%.0f %s" : "%.1f %s", bytes, unit[i]);
	return buf;
}

uint64_t
mk_fnv1a(const void *p, size_t n, uint64_t h)
{
	const unsigned char *s = p;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= s[i];
		h *= UINT64_C(1099511628211);
	}
	return h;
}
