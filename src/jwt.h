/*
 * jwt: JSON Web Tokens signed RS256 (RFC 7515, 7519), with OpenSSL's
 * libcrypto: base64url, signing, splitting and verifying a compact token,
 * RSA key pairs as PEM, and the public half as a JWK (RFC 7517).  Nothing
 * of the service: which keys exist and which claims a token must carry are
 * keys.c's and oauth.c's.
 *
 * Only RS256 is ever signed or verified: the algorithm is pinned by the
 * verifier, never taken from the token's header ("alg":"none" and HS256
 * keyed with the public key are refused before any key is used).
 */
#ifndef MK_JWT_H
#define MK_JWT_H

#include <stddef.h>
#include <sys/types.h>

#include <json-c/json.h>
#include <openssl/types.h>

#include "buf.h"
#include "err.h"

#define JWT_KID_MAX 64          /* bytes of a key id */
#define JWT_MAX 4096            /* longest compact token we look at */
#define JWT_SIG_MAX 512         /* RSA up to 4096 bits */
#define JWT_RSA_BITS 2048

/* Characters of the base64url text (no padding) of n bytes. */
size_t jwt_b64url_len(size_t n);
/* Append the base64url text (no padding) of p[0..n-1] to out.  0, or -1 (memory). */
int jwt_b64url_add(struct mk_buf *out, const void *p, size_t n);
/*
 * Decode base64url text in[0..n-1] (no padding, no other characters) into
 * out (outmax bytes).  Returns the bytes written, or -1 when the text is
 * not base64url or does not fit.
 */
ssize_t jwt_b64url_decode(const char *in, size_t n, unsigned char *out, size_t outmax);

/* A new RSA key pair of JWT_RSA_BITS bits (owned: EVP_PKEY_free), or NULL. */
EVP_PKEY *jwt_key_new(void);
/* Append the private key as PKCS#8 PEM to out.  0, or -1. */
int jwt_key_pem(EVP_PKEY *k, struct mk_buf *out);
/* The key of PEM text p[0..n-1] (owned), or NULL. */
EVP_PKEY *jwt_key_from_pem(const char *p, size_t n);
/*
 * The public half of k as a JWK object {"kty":"RSA","use":"sig","alg":
 * "RS256","kid":kid,"n":...,"e":...} (owned), or NULL.
 */
struct json_object *jwt_jwk(EVP_PKEY *k, const char *kid);

/*
 * Sign payload (the JSON text of the claims) with k: appends the compact
 * token, header {"alg":"RS256","typ":"JWT","kid":kid}, to out.  Errors:
 * MK_ERR_NOMEM, MK_ERR_INTERNAL (err->msg says which).  Six parameters:
 * payload and n are one byte range.
 */
enum mk_code jwt_sign(EVP_PKEY *k, const char *kid, const char *payload, size_t n,
    struct mk_buf *out, struct mk_err *err);

/*
 * A compact token taken apart, not yet trusted: what was signed (the
 * first two parts, pointing into the token), the header's kid, the
 * payload parsed (owned: json_object_put) and the signature's bytes.
 */
struct jwt_parts {
	struct mk_slice signed_part;
	char kid[JWT_KID_MAX + 1];
	struct json_object *payload;
	unsigned char sig[JWT_SIG_MAX];
	size_t siglen;
};

/*
 * Split and decode tok; the header must be a JSON object whose "alg" is
 * "RS256" and which names a "kid".  Errors: MK_ERR_UNAUTH with err->msg
 * saying what is wrong (never echoing the token).
 */
enum mk_code jwt_decode(struct mk_slice tok, struct jwt_parts *out, struct mk_err *err);

/* Release what jwt_decode allocated (p may be zeroed, never decoded). */
void jwt_parts_free(struct jwt_parts *p);

/* 1 when p's signature is k's RS256 signature of p's signed part, else 0. */
int jwt_verify(EVP_PKEY *k, const struct jwt_parts *p);

#endif
