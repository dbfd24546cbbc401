/*
 * jwt: RS256 JSON Web Tokens over libcrypto (see jwt.h).
 *
 * The header and payload of a presented token are decoded into bounded
 * stack buffers and parsed with jx_parse (depth-limited, strict), so a
 * hostile token costs at most JWT_MAX bytes of work before its signature
 * is checked.
 */
#include "jwt.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "jx.h"

#define JWT_HEADER_MAX 512      /* decoded header bytes */
#define JWT_DEPTH 4             /* claims nest no deeper */

static const char b64url_alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t
jwt_b64url_len(size_t n)
{
	return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

int
jwt_b64url_add(struct mk_buf *out, const void *vp, size_t n)
{
	const unsigned char *p = vp;
	char q[4];
	size_t i;
	uint32_t v;

	for (i = 0; i + 3 <= n; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		q[0] = b64url_alpha[v >> 18 & 63];
		q[1] = b64url_alpha[v >> 12 & 63];
		q[2] = b64url_alpha[v >> 6 & 63];
		q[3] = b64url_alpha[v & 63];
		buf_add(out, q, 4);
	}
	if (n - i == 1) {
		v = (uint32_t)p[i] << 16;
		q[0] = b64url_alpha[v >> 18 & 63];
		q[1] = b64url_alpha[v >> 12 & 63];
		buf_add(out, q, 2);
	} else if (n - i == 2) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		q[0] = b64url_alpha[v >> 18 & 63];
		q[1] = b64url_alpha[v >> 12 & 63];
		q[2] = b64url_alpha[v >> 6 & 63];
		buf_add(out, q, 3);
	}
	return out->failed ? -1 : 0;
}

/* The value of a base64url character, or -1. */
static int
b64url_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

ssize_t
jwt_b64url_decode(const char *in, size_t n, unsigned char *out, size_t outmax)
{
	size_t i, o = 0;
	uint32_t acc = 0;
	int bits = 0, v;

	if (n % 4 == 1)
		return -1;
	for (i = 0; i < n; i++) {
		if ((v = b64url_val((unsigned char)in[i])) < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= outmax)
				return -1;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* Leftover bits must be zero: one text per byte string. */
	if (acc != 0)
		return -1;
	return (ssize_t)o;
}

EVP_PKEY *
jwt_key_new(void)
{
	return EVP_RSA_gen(JWT_RSA_BITS);
}

int
jwt_key_pem(EVP_PKEY *k, struct mk_buf *out)
{
	BIO *b = NULL;
	char *p;
	long n;
	int rc = -1;

	if ((b = BIO_new(BIO_s_mem())) == NULL)
		return -1;
	if (PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) != 1)
		goto out;
	n = BIO_get_mem_data(b, &p);
	if (n <= 0 || buf_add(out, p, (size_t)n) != 0)
		goto out;
	rc = 0;
out:
	BIO_free(b);
	return rc;
}

EVP_PKEY *
jwt_key_from_pem(const char *p, size_t n)
{
	BIO *b;
	EVP_PKEY *k;

	if (n > INT32_MAX || (b = BIO_new_mem_buf(p, (int)n)) == NULL)
		return NULL;
	k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	if (k != NULL && EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA) {
		EVP_PKEY_free(k);
		k = NULL;
	}
	return k;
}

/* Add the base64url text of a big number's bytes as member key of o. */
static int
jwk_bn(struct json_object *o, const char *key, EVP_PKEY *k, const char *param)
{
	BIGNUM *bn = NULL;
	unsigned char bytes[JWT_SIG_MAX];
	struct mk_buf b = { 0 };
	int n, rc = -1;

	if (EVP_PKEY_get_bn_param(k, param, &bn) != 1)
		return -1;
	n = BN_num_bytes(bn);
	if (n <= 0 || (size_t)n > sizeof(bytes) || BN_bn2bin(bn, bytes) != n)
		goto out;
	if (jwt_b64url_add(&b, bytes, (size_t)n) != 0 || buf_addc(&b, '\0') != 0)
		goto out;
	if (json_object_object_add(o, key, json_object_new_string(b.p)) != 0)
		goto out;
	rc = 0;
out:
	buf_free(&b);
	BN_free(bn);
	return rc;
}

struct json_object *
jwt_jwk(EVP_PKEY *k, const char *kid)
{
	struct json_object *o;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	if (json_object_object_add(o, "kty", json_object_new_string("RSA")) != 0 ||
	    json_object_object_add(o, "use", json_object_new_string("sig")) != 0 ||
	    json_object_object_add(o, "alg", json_object_new_string("RS256")) != 0 ||
	    json_object_object_add(o, "kid", json_object_new_string(kid)) != 0 ||
	    jwk_bn(o, "n", k, OSSL_PKEY_PARAM_RSA_N) != 0 ||
	    jwk_bn(o, "e", k, OSSL_PKEY_PARAM_RSA_E) != 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

enum mk_code
jwt_sign(EVP_PKEY *k, const char *kid, const char *payload, size_t n, struct mk_buf *out,
    struct mk_err *err)
{
	struct mk_buf hdr = { 0 };
	EVP_MD_CTX *md = NULL;
	unsigned char sig[JWT_SIG_MAX];
	size_t start = out->n, siglen = sizeof(sig);
	enum mk_code rc = MK_ERR_NOMEM;

	buf_printf(&hdr, "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", kid);
	if (hdr.failed || jwt_b64url_add(out, hdr.p, hdr.n) != 0 || buf_addc(out, '.') != 0 ||
	    jwt_b64url_add(out, payload, n) != 0) {
		mk_fail(err, rc, "out of memory");
		goto out;
	}
	rc = MK_ERR_INTERNAL;
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k) != 1 ||
	    EVP_DigestSign(md, sig, &siglen, (const unsigned char *)out->p + start,
	    out->n - start) != 1) {
		mk_fail(err, rc, "RS256 signing failed");
		goto out;
	}
	if (buf_addc(out, '.') != 0 || jwt_b64url_add(out, sig, siglen) != 0) {
		rc = mk_fail(err, MK_ERR_NOMEM, "out of memory");
		goto out;
	}
	rc = MK_OK;
out:
	EVP_MD_CTX_free(md);
	buf_free(&hdr);
	return rc;
}

/* Decode and parse one JSON object part; NULL when it is not one. */
static struct json_object *
part_json(const char *p, size_t n, unsigned char *tmp, size_t tmpmax)
{
	struct json_object *o = NULL;
	struct mk_err e;
	ssize_t len;

	if ((len = jwt_b64url_decode(p, n, tmp, tmpmax)) <= 0)
		return NULL;
	if (jx_parse((const char *)tmp, (size_t)len, JWT_DEPTH, &o, &e) != MK_OK)
		return NULL;
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

enum mk_code
jwt_decode(struct mk_slice tok, struct jwt_parts *out, struct mk_err *err)
{
	unsigned char tmp[JWT_MAX];
	struct json_object *h = NULL;
	const char *d1, *d2, *end = tok.p + tok.n, *s;
	ssize_t n;
	enum mk_code rc = MK_ERR_UNAUTH;

	memset(out, 0, sizeof(*out));
	if (tok.n > JWT_MAX)
		return mk_fail(err, rc, "Invalid token");
	if ((d1 = memchr(tok.p, '.', tok.n)) == NULL ||
	    (d2 = memchr(d1 + 1, '.', (size_t)(end - d1 - 1))) == NULL ||
	    memchr(d2 + 1, '.', (size_t)(end - d2 - 1)) != NULL)
		return mk_fail(err, rc, "Invalid token");
	if ((h = part_json(tok.p, (size_t)(d1 - tok.p), tmp, JWT_HEADER_MAX)) == NULL) {
		mk_fail(err, rc, "Invalid token");
		goto fail;
	}
	/* The algorithm is pinned: anything but RS256 (none, HS256...) is refused. */
	if ((s = jx_get_str(h, "alg")) == NULL || strcmp(s, "RS256") != 0) {
		mk_fail(err, rc, "Invalid token: the algorithm must be RS256");
		goto fail;
	}
	if ((s = jx_get_str(h, "kid")) == NULL || s[0] == '\0' || strlen(s) > JWT_KID_MAX) {
		mk_fail(err, rc, "Invalid token: no key id");
		goto fail;
	}
	memcpy(out->kid, s, strlen(s) + 1);
	if ((out->payload = part_json(d1 + 1, (size_t)(d2 - d1 - 1), tmp, sizeof(tmp))) == NULL) {
		mk_fail(err, rc, "Invalid token");
		goto fail;
	}
	n = jwt_b64url_decode(d2 + 1, (size_t)(end - d2 - 1), out->sig, sizeof(out->sig));
	if (n <= 0) {
		mk_fail(err, rc, "Invalid token");
		goto fail;
	}
	out->siglen = (size_t)n;
	out->signed_part.p = tok.p;
	out->signed_part.n = (size_t)(d2 - tok.p);
	json_object_put(h);
	return MK_OK;
fail:
	json_object_put(h);
	jwt_parts_free(out);
	return rc;
}

void
jwt_parts_free(struct jwt_parts *p)
{
	json_object_put(p->payload);
	p->payload = NULL;
}

int
jwt_verify(EVP_PKEY *k, const struct jwt_parts *p)
{
	EVP_MD_CTX *md;
	int ok;

	if (EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA || (md = EVP_MD_CTX_new()) == NULL)
		return 0;
	ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k) == 1 &&
	    EVP_DigestVerify(md, p->sig, p->siglen, (const unsigned char *)p->signed_part.p,
	    p->signed_part.n) == 1;
	EVP_MD_CTX_free(md);
	return ok;
}
