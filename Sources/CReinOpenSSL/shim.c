#include "CReinOpenSSL.h"

#include <pthread.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/rand.h>

static EVP_MD *sha256_md = NULL;
static EVP_MAC *hmac_mac = NULL;
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;

static void fetch_algorithms(void) {
    sha256_md = EVP_MD_fetch(NULL, "SHA2-256", NULL);
    hmac_mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

static int ensure_fetched(void) {
    pthread_once(&fetch_once, fetch_algorithms);
    return sha256_md != NULL && hmac_mac != NULL;
}

int CReinOpenSSL_sha256(const void *data, size_t len, uint8_t out[CREIN_SHA256_LEN]) {
    if (!ensure_fetched()) return 0;
    unsigned int outlen = 0;
    return EVP_Digest(data, len, out, &outlen, sha256_md, NULL) == 1 && outlen == CREIN_SHA256_LEN;
}

int CReinOpenSSL_sha1(const void *data, size_t len, uint8_t out[CREIN_SHA1_LEN]) {
    EVP_MD *md = EVP_MD_fetch(NULL, "SHA1", NULL);
    if (md == NULL) return 0;
    unsigned int outlen = 0;
    int ok = EVP_Digest(data, len, out, &outlen, md, NULL) == 1 && outlen == CREIN_SHA1_LEN;
    EVP_MD_free(md);
    return ok;
}

EVP_MD_CTX *CReinOpenSSL_sha256_new(void) {
    if (!ensure_fetched()) return NULL;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL) return NULL;
    if (EVP_DigestInit_ex2(ctx, sha256_md, NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

int CReinOpenSSL_sha256_update(EVP_MD_CTX *ctx, const void *data, size_t len) {
    return EVP_DigestUpdate(ctx, data, len);
}

int CReinOpenSSL_sha256_final(EVP_MD_CTX *ctx, uint8_t out[CREIN_SHA256_LEN]) {
    unsigned int outlen = 0;
    if (EVP_DigestFinal_ex(ctx, out, &outlen) != 1) return 0;
    return EVP_DigestInit_ex2(ctx, sha256_md, NULL) == 1 && outlen == CREIN_SHA256_LEN;
}

void CReinOpenSSL_sha256_free(EVP_MD_CTX *ctx) { EVP_MD_CTX_free(ctx); }

EVP_MAC_CTX *CReinOpenSSL_hmac_template_new(const void *key, size_t keylen) {
    if (!ensure_fetched()) return NULL;
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(hmac_mac);
    if (ctx == NULL) return NULL;
    OSSL_PARAM params[2];
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA2-256", 0);
    params[1] = OSSL_PARAM_construct_end();
    /* OpenSSL rejects a NULL key pointer even with length 0. */
    static const unsigned char empty = 0;
    if (EVP_MAC_init(ctx, keylen ? key : &empty, keylen, params) != 1) {
        EVP_MAC_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

int CReinOpenSSL_hmac_template_mac2(EVP_MAC_CTX *tmpl,
                                    const void *a, size_t alen,
                                    const void *b, size_t blen,
                                    uint8_t out[CREIN_SHA256_LEN]) {
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_dup(tmpl);
    if (ctx == NULL) return 0;
    size_t outlen = 0;
    int ok = (alen == 0 || EVP_MAC_update(ctx, a, alen) == 1)
        && (blen == 0 || EVP_MAC_update(ctx, b, blen) == 1)
        && EVP_MAC_final(ctx, out, &outlen, CREIN_SHA256_LEN) == 1
        && outlen == CREIN_SHA256_LEN;
    EVP_MAC_CTX_free(ctx);
    return ok;
}

int CReinOpenSSL_hmac_template_mac(EVP_MAC_CTX *tmpl, const void *data, size_t len,
                                   uint8_t out[CREIN_SHA256_LEN]) {
    return CReinOpenSSL_hmac_template_mac2(tmpl, data, len, NULL, 0, out);
}

void CReinOpenSSL_hmac_template_free(EVP_MAC_CTX *tmpl) { EVP_MAC_CTX_free(tmpl); }

int CReinOpenSSL_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
                             uint8_t out[CREIN_SHA256_LEN]) {
    EVP_MAC_CTX *ctx = CReinOpenSSL_hmac_template_new(key, keylen);
    if (ctx == NULL) return 0;
    size_t outlen = 0;
    int ok = (len == 0 || EVP_MAC_update(ctx, data, len) == 1)
        && EVP_MAC_final(ctx, out, &outlen, CREIN_SHA256_LEN) == 1
        && outlen == CREIN_SHA256_LEN;
    EVP_MAC_CTX_free(ctx);
    return ok;
}

int CReinOpenSSL_equal(const void *a, const void *b, size_t len) {
    return CRYPTO_memcmp(a, b, len) == 0;
}

int CReinOpenSSL_random(void *out, size_t len) {
    return RAND_bytes((unsigned char *)out, (int)len) == 1;
}

const char *CReinOpenSSL_version_text(void) { return OpenSSL_version(OPENSSL_VERSION); }

unsigned long CReinOpenSSL_version_number(void) { return OpenSSL_version_num(); }

int CReinOpenSSL_fips_available(void) { return OSSL_PROVIDER_available(NULL, "fips"); }
