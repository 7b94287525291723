#ifndef CREIN_OPENSSL_H
#define CREIN_OPENSSL_H

/*
 * A small shim over the system's OpenSSL 3 (libcrypto/libssl).
 *
 * Why a shim: OpenSSL 3 wants algorithms fetched once and reused; doing that
 * in C keeps the per-call cost of SHA-256 and HMAC low on the request path,
 * and it wraps the macros and variadic calls that Swift cannot import.
 * Everything here goes through EVP, so a FIPS provider configured by the
 * distribution applies unchanged.
 */

#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>
#include <openssl/crypto.h>

#define CREIN_SHA256_LEN 32

/* One-shot SHA-256. Returns 1 on success. */
int CReinOpenSSL_sha256(const void *data, size_t len, uint8_t out[CREIN_SHA256_LEN]);

/* One-shot SHA-1: only for name-based (version 5) UUIDs, never for security. */
#define CREIN_SHA1_LEN 20
int CReinOpenSSL_sha1(const void *data, size_t len, uint8_t out[CREIN_SHA1_LEN]);

/* Incremental SHA-256 over an EVP_MD_CTX. */
EVP_MD_CTX *CReinOpenSSL_sha256_new(void);
int CReinOpenSSL_sha256_update(EVP_MD_CTX *ctx, const void *data, size_t len);
/* Writes the digest and re-initialises the context for reuse. */
int CReinOpenSSL_sha256_final(EVP_MD_CTX *ctx, uint8_t out[CREIN_SHA256_LEN]);
void CReinOpenSSL_sha256_free(EVP_MD_CTX *ctx);

/* One-shot HMAC-SHA256. Returns 1 on success. */
int CReinOpenSSL_hmac_sha256(const void *key, size_t keylen,
                             const void *data, size_t len,
                             uint8_t out[CREIN_SHA256_LEN]);

/*
 * A keyed HMAC-SHA256 template: the key schedule is done once, and each MAC
 * duplicates the template. Concurrent use of one template is read-only.
 */
EVP_MAC_CTX *CReinOpenSSL_hmac_template_new(const void *key, size_t keylen);
int CReinOpenSSL_hmac_template_mac(EVP_MAC_CTX *tmpl,
                                   const void *data, size_t len,
                                   uint8_t out[CREIN_SHA256_LEN]);
/* Two-part message, to avoid concatenation on the hot path. */
int CReinOpenSSL_hmac_template_mac2(EVP_MAC_CTX *tmpl,
                                    const void *a, size_t alen,
                                    const void *b, size_t blen,
                                    uint8_t out[CREIN_SHA256_LEN]);
void CReinOpenSSL_hmac_template_free(EVP_MAC_CTX *tmpl);

/* Constant-time comparison: returns 1 when equal. */
int CReinOpenSSL_equal(const void *a, const void *b, size_t len);

/* Cryptographically secure random bytes. Returns 1 on success. */
int CReinOpenSSL_random(void *out, size_t len);

/* Library identification, for `rein version` and start-up logs. */
const char *CReinOpenSSL_version_text(void);
unsigned long CReinOpenSSL_version_number(void);
/* 1 when a FIPS provider can be loaded on this system. */
int CReinOpenSSL_fips_available(void);

/*
 * Ed25519 (audit checkpoints). Keys are raw 32-byte values, as RFC 8032
 * writes them; signatures are 64 bytes. Return 1 on success.
 */
int CReinOpenSSL_ed25519_generate(uint8_t private_key[32], uint8_t public_key[32]);
int CReinOpenSSL_ed25519_public_from_private(const uint8_t private_key[32], uint8_t public_key[32]);
int CReinOpenSSL_ed25519_sign(const uint8_t private_key[32], const void *msg, size_t len, uint8_t signature[64]);
/* Returns 1 when the signature is valid, 0 when not (or on error). */
int CReinOpenSSL_ed25519_verify(const uint8_t public_key[32], const void *msg, size_t len, const uint8_t signature[64]);

#include "CReinOpenSSLTLS.h"

#endif
