#include "CReinOpenSSL.h"

#include <openssl/evp.h>

/*
 * Ed25519 over EVP_PKEY raw keys. One-shot EVP_DigestSign is the only way
 * OpenSSL signs with Ed25519 (no separate digest), so each call builds and
 * frees its key; checkpoints are signed every few seconds, not per request.
 */

int CReinOpenSSL_ed25519_generate(uint8_t private_key[32], uint8_t public_key[32]) {
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    if (key == NULL) return 0;
    size_t plen = 32, qlen = 32;
    int ok = EVP_PKEY_get_raw_private_key(key, private_key, &plen) == 1 && plen == 32
        && EVP_PKEY_get_raw_public_key(key, public_key, &qlen) == 1 && qlen == 32;
    EVP_PKEY_free(key);
    return ok;
}

int CReinOpenSSL_ed25519_public_from_private(const uint8_t private_key[32], uint8_t public_key[32]) {
    EVP_PKEY *key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, private_key, 32);
    if (key == NULL) return 0;
    size_t qlen = 32;
    int ok = EVP_PKEY_get_raw_public_key(key, public_key, &qlen) == 1 && qlen == 32;
    EVP_PKEY_free(key);
    return ok;
}

int CReinOpenSSL_ed25519_sign(const uint8_t private_key[32], const void *msg, size_t len, uint8_t signature[64]) {
    EVP_PKEY *key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, private_key, 32);
    if (key == NULL) return 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t slen = 64;
    int ok = ctx != NULL
        && EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) == 1
        && EVP_DigestSign(ctx, signature, &slen, msg, len) == 1 && slen == 64;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    return ok;
}

int CReinOpenSSL_ed25519_verify(const uint8_t public_key[32], const void *msg, size_t len, const uint8_t signature[64]) {
    EVP_PKEY *key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, public_key, 32);
    if (key == NULL) return 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx != NULL
        && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) == 1
        && EVP_DigestVerify(ctx, signature, 64, msg, len) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    return ok;
}
