#include "CReinOpenSSLTLS.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

/* ---- keys and certificates ------------------------------------------- */

EVP_PKEY *CReinOpenSSL_ec_p256_generate(void) {
    return EVP_EC_gen("P-256");
}

/* Copies a memory BIO's contents into a fresh heap buffer. */
static int bio_to_buffer(BIO *bio, uint8_t **out, size_t *outlen) {
    char *data = NULL;
    long len = BIO_get_mem_data(bio, &data);
    if (len <= 0 || data == NULL) return 0;
    uint8_t *buf = OPENSSL_malloc((size_t)len);
    if (buf == NULL) return 0;
    memcpy(buf, data, (size_t)len);
    *out = buf;
    *outlen = (size_t)len;
    return 1;
}

int CReinOpenSSL_pkey_private_pem(EVP_PKEY *key, uint8_t **out, size_t *outlen) {
    /* A secure-memory BIO: its buffer is wiped when freed. */
    BIO *bio = BIO_new(BIO_s_secmem());
    if (bio == NULL) return 0;
    int ok = PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) == 1
        && bio_to_buffer(bio, out, outlen);
    BIO_free(bio);
    return ok;
}

int CReinOpenSSL_x509_pem(X509 *cert, uint8_t **out, size_t *outlen) {
    BIO *bio = BIO_new(BIO_s_mem());
    if (bio == NULL) return 0;
    int ok = PEM_write_bio_X509(bio, cert) == 1 && bio_to_buffer(bio, out, outlen);
    BIO_free(bio);
    return ok;
}

void CReinOpenSSL_buffer_free(uint8_t *buf, size_t len) {
    OPENSSL_clear_free(buf, len);
}

/* Refuse to prompt for a passphrase: Rein's keys are never encrypted. */
static int no_passphrase(char *buf, int size, int rwflag, void *u) {
    (void)buf; (void)size; (void)rwflag; (void)u;
    return 0;
}

EVP_PKEY *CReinOpenSSL_pkey_from_pem(const void *pem, size_t len) {
    if (len > INT_MAX) return NULL;
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    if (bio == NULL) return NULL;
    EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    BIO_free(bio);
    return key;
}

X509 *CReinOpenSSL_x509_from_pem(const void *pem, size_t len) {
    if (len > INT_MAX) return NULL;
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    if (bio == NULL) return NULL;
    X509 *cert = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL);
    BIO_free(bio);
    return cert;
}

static int asn1_time_to_epoch(const ASN1_TIME *t, int64_t *out) {
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
    *out = (int64_t)timegm(&tm);
    return 1;
}

int CReinOpenSSL_x509_validity(X509 *cert, int64_t *not_before, int64_t *not_after) {
    return asn1_time_to_epoch(X509_get0_notBefore(cert), not_before)
        && asn1_time_to_epoch(X509_get0_notAfter(cert), not_after);
}

int CReinOpenSSL_x509_is_ca_for_key(X509 *cert, EVP_PKEY *key) {
    return X509_check_ca(cert) >= 1 && X509_check_private_key(cert, key) == 1;
}

/* A positive 128-bit random serial with its top byte non-zero (fixed length). */
static int set_random_serial(X509 *cert) {
    unsigned char bytes[16];
    if (RAND_bytes(bytes, sizeof bytes) != 1) return 0;
    bytes[0] = (unsigned char)((bytes[0] & 0x7f) | 0x40);
    BIGNUM *bn = BN_bin2bn(bytes, sizeof bytes, NULL);
    if (bn == NULL) return 0;
    int ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != NULL;
    BN_free(bn);
    return ok;
}

static int add_ext(X509 *cert, X509V3_CTX *ctx, int nid, const char *value) {
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    if (ext == NULL) return 0;
    int ok = X509_add_ext(cert, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok;
}

/* Version, serial, validity and public key: what every certificate needs. */
static X509 *new_cert(EVP_PKEY *subject_key, int64_t not_before, int64_t not_after) {
    X509 *cert = X509_new();
    if (cert == NULL) return NULL;
    if (X509_set_version(cert, X509_VERSION_3) != 1
        || !set_random_serial(cert)
        || ASN1_TIME_set(X509_getm_notBefore(cert), (time_t)not_before) == NULL
        || ASN1_TIME_set(X509_getm_notAfter(cert), (time_t)not_after) == NULL
        || X509_set_pubkey(cert, subject_key) != 1) {
        X509_free(cert);
        return NULL;
    }
    return cert;
}

static int set_common_name(X509_NAME *name, const char *cn) {
    return X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                                      (const unsigned char *)cn, -1, -1, 0) == 1;
}

X509 *CReinOpenSSL_x509_make_ca(EVP_PKEY *key, const char *common_name,
                                int64_t not_before, int64_t not_after) {
    X509 *cert = new_cert(key, not_before, not_after);
    if (cert == NULL) return NULL;
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, cert, cert, NULL, NULL, 0);
    int ok = set_common_name(X509_get_subject_name(cert), common_name)
        && X509_set_issuer_name(cert, X509_get_subject_name(cert)) == 1
        && add_ext(cert, &v3, NID_basic_constraints, "critical,CA:TRUE,pathlen:0")
        && add_ext(cert, &v3, NID_key_usage, "critical,keyCertSign,cRLSign")
        && add_ext(cert, &v3, NID_subject_key_identifier, "hash")
        && X509_sign(cert, key, EVP_sha256()) > 0;
    if (!ok) {
        X509_free(cert);
        return NULL;
    }
    return cert;
}

/* subjectAltName with one dNSName, built directly (no config-string parsing of the name). */
static int add_dns_san(X509 *cert, const char *dns_name) {
    GENERAL_NAMES *names = GENERAL_NAMES_new();
    GENERAL_NAME *gn = GENERAL_NAME_new();
    ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();
    int ok = names != NULL && gn != NULL && ia5 != NULL
        && ASN1_STRING_set(ia5, dns_name, -1) == 1;
    if (ok) {
        GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);
        ia5 = NULL;
        ok = sk_GENERAL_NAME_push(names, gn) > 0;
        if (ok) gn = NULL;
    }
    ok = ok && X509_add1_ext_i2d(cert, NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT) == 1;
    ASN1_IA5STRING_free(ia5);
    GENERAL_NAME_free(gn);
    GENERAL_NAMES_free(names);
    return ok;
}

X509 *CReinOpenSSL_x509_make_leaf(X509 *ca, EVP_PKEY *ca_key, EVP_PKEY *leaf_key,
                                  const char *dns_name,
                                  int64_t not_before, int64_t not_after) {
    X509 *cert = new_cert(leaf_key, not_before, not_after);
    if (cert == NULL) return NULL;
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, ca, cert, NULL, NULL, 0);
    /* The subject CN is informational (clients match the SAN); CN is at most 64 characters. */
    int ok = X509_set_issuer_name(cert, X509_get_subject_name(ca)) == 1
        && (strlen(dns_name) > 64 || set_common_name(X509_get_subject_name(cert), dns_name))
        && add_ext(cert, &v3, NID_basic_constraints, "critical,CA:FALSE")
        && add_ext(cert, &v3, NID_key_usage, "critical,digitalSignature")
        && add_ext(cert, &v3, NID_ext_key_usage, "serverAuth")
        && add_ext(cert, &v3, NID_subject_key_identifier, "hash")
        && add_ext(cert, &v3, NID_authority_key_identifier, "keyid:always")
        && add_dns_san(cert, dns_name)
        && X509_sign(cert, ca_key, EVP_sha256()) > 0;
    if (!ok) {
        X509_free(cert);
        return NULL;
    }
    return cert;
}

/* ---- TLS server --------------------------------------------------------- */

/* The SNI handler lives in SSL_CTX ex data so that SSL_CTX_free releases it. */
struct sni_box {
    CReinOpenSSL_sni_handler handler;
};

static int sni_box_index = -1;
static pthread_once_t sni_box_once = PTHREAD_ONCE_INIT;

static void sni_box_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp) {
    (void)parent; (void)ad; (void)idx; (void)argl; (void)argp;
    OPENSSL_free(ptr);
}

static void sni_box_index_init(void) {
    sni_box_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, sni_box_free);
}

static int servername_callback(SSL *ssl, int *alert, void *arg) {
    struct sni_box *box = arg;
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (box == NULL || box->handler == NULL) {
        *alert = SSL_AD_INTERNAL_ERROR;
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    /* No SNI: the handler is told (name NULL) so it can record why; it must refuse. */
    if (name != NULL && name[0] == '\0') name = NULL;
    int verdict = box->handler(ssl, name, SSL_get_ex_data(ssl, 0));
    if (name == NULL && verdict == CREIN_SNI_ACCEPT) verdict = CREIN_SNI_REFUSE;
    if (verdict == CREIN_SNI_ACCEPT) return SSL_TLSEXT_ERR_OK;
    *alert = verdict == CREIN_SNI_REFUSE ? SSL_AD_UNRECOGNIZED_NAME : SSL_AD_INTERNAL_ERROR;
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

/* Select "http/1.1" if offered; otherwise alert no_application_protocol (RFC 7301). */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg) {
    (void)ssl; (void)arg;
    static const char want[] = "http/1.1";
    const size_t want_len = sizeof want - 1;
    unsigned int i = 0;
    while (i < inlen) {
        unsigned int len = in[i];
        if (len == 0 || len > inlen - i - 1) break;
        if (len == want_len && memcmp(in + i + 1, want, want_len) == 0) {
            *out = in + i + 1;
            *outlen = (unsigned char)len;
            return SSL_TLSEXT_ERR_OK;
        }
        i += len + 1;
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

SSL_CTX *CReinOpenSSL_tls_server_ctx_new(CReinOpenSSL_sni_handler handler) {
    pthread_once(&sni_box_once, sni_box_index_init);
    if (sni_box_index < 0) return NULL;
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) return NULL;
    struct sni_box *box = OPENSSL_zalloc(sizeof *box);
    if (box == NULL || SSL_CTX_set_ex_data(ctx, sni_box_index, box) != 1) {
        OPENSSL_free(box);
        SSL_CTX_free(ctx);
        return NULL;
    }
    box->handler = handler;
    /*
     * Every certificate this server presents is ECDSA P-256, so for TLS 1.2
     * only ECDHE-ECDSA AEAD suites can apply; TLS 1.3 keeps the defaults.
     */
    int ok = SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1
        && SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) == 1
        && SSL_CTX_set_cipher_list(ctx, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
                                        "ECDHE-ECDSA-CHACHA20-POLY1305") == 1;
    if (!ok) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION
                                 | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
    /* No resumption: every connection runs the SNI handler, so a changed allowlist applies at once. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
    SSL_CTX_set_tlsext_servername_callback(ctx, servername_callback);
    SSL_CTX_set_tlsext_servername_arg(ctx, box);
    return ctx;
}

SSL_CTX *CReinOpenSSL_tls_server_ctx_new_fixed(const char *chain_file, const char *key_file) {
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) return NULL;
    SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
    int ok = SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1
        && SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) == 1
        && SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20") == 1
        && SSL_CTX_use_certificate_chain_file(ctx, chain_file) == 1
        && SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) == 1
        && SSL_CTX_check_private_key(ctx) == 1;
    if (!ok) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION
                                 | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
    return ctx;
}

int CReinOpenSSL_ssl_use_identity(SSL *ssl, X509 *cert, EVP_PKEY *key) {
    return SSL_use_certificate(ssl, cert) == 1
        && SSL_use_PrivateKey(ssl, key) == 1
        && SSL_check_private_key(ssl) == 1;
}

/* Two memory BIOs that report "retry" (not EOF) when empty. */
static SSL *ssl_new_memory(SSL_CTX *ctx) {
    SSL *ssl = SSL_new(ctx);
    if (ssl == NULL) return NULL;
    BIO *rbio = BIO_new(BIO_s_mem());
    BIO *wbio = BIO_new(BIO_s_mem());
    if (rbio == NULL || wbio == NULL) {
        BIO_free(rbio);
        BIO_free(wbio);
        SSL_free(ssl);
        return NULL;
    }
    BIO_set_mem_eof_return(rbio, -1);
    BIO_set_mem_eof_return(wbio, -1);
    SSL_set_bio(ssl, rbio, wbio);
    return ssl;
}

SSL *CReinOpenSSL_ssl_new_server(SSL_CTX *ctx) {
    SSL *ssl = ssl_new_memory(ctx);
    if (ssl != NULL) SSL_set_accept_state(ssl);
    return ssl;
}

SSL *CReinOpenSSL_ssl_new_client(SSL_CTX *ctx, const char *server_name) {
    SSL *ssl = ssl_new_memory(ctx);
    if (ssl == NULL) return NULL;
    SSL_set_connect_state(ssl);
    if (server_name != NULL
        && (SSL_set_tlsext_host_name(ssl, server_name) != 1 || SSL_set1_host(ssl, server_name) != 1)) {
        SSL_free(ssl);
        return NULL;
    }
    return ssl;
}

void CReinOpenSSL_ssl_set_app_data(SSL *ssl, void *data) {
    SSL_set_ex_data(ssl, 0, data);
}

const char *CReinOpenSSL_ssl_server_name(const SSL *ssl) {
    return SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
}

int CReinOpenSSL_ssl_feed(SSL *ssl, const void *data, size_t len) {
    BIO *rbio = SSL_get_rbio(ssl);
    const unsigned char *p = data;
    while (len > 0) {
        int chunk = len > INT_MAX ? INT_MAX : (int)len;
        int n = BIO_write(rbio, p, chunk);
        if (n <= 0) return 0;
        p += n;
        len -= (size_t)n;
    }
    return 1;
}

size_t CReinOpenSSL_ssl_pending_out(SSL *ssl) {
    return BIO_ctrl_pending(SSL_get_wbio(ssl));
}

size_t CReinOpenSSL_ssl_drain(SSL *ssl, void *out, size_t cap) {
    int chunk = cap > INT_MAX ? INT_MAX : (int)cap;
    int n = BIO_read(SSL_get_wbio(ssl), out, chunk);
    return n > 0 ? (size_t)n : 0;
}

size_t CReinOpenSSL_errors_text(char *buf, size_t cap) {
    if (cap == 0) return 0;
    size_t used = 0;
    buf[0] = '\0';
    const char *data = NULL;
    int flags = 0;
    unsigned long code;
    while ((code = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
        char line[256];
        ERR_error_string_n(code, line, sizeof line);
        int n = snprintf(buf + used, cap - used, "%s%s%s%s", used ? "; " : "", line,
                         (flags & ERR_TXT_STRING) && data && *data ? ": " : "",
                         (flags & ERR_TXT_STRING) && data ? data : "");
        if (n < 0) break;
        used += (size_t)n < cap - used ? (size_t)n : cap - used - 1;
    }
    ERR_clear_error();
    return used;
}

/* ---- test support -------------------------------------------------------- */

SSL_CTX *CReinOpenSSL_tls_test_client_ctx_new(const void *ca_pem, size_t ca_len,
                                              int min_version, int max_version,
                                              const uint8_t *alpn, size_t alpn_len) {
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) return NULL;
    int ok = 1;
    if (max_version != 0 && max_version < TLS1_2_VERSION) {
        SSL_CTX_set_security_level(ctx, 0);
        ok = SSL_CTX_set_cipher_list(ctx, "ALL:@SECLEVEL=0") == 1;
    }
    if (ok && min_version != 0) ok = SSL_CTX_set_min_proto_version(ctx, min_version) == 1;
    if (ok && max_version != 0) ok = SSL_CTX_set_max_proto_version(ctx, max_version) == 1;
    if (ok && ca_pem != NULL) {
        X509 *ca = CReinOpenSSL_x509_from_pem(ca_pem, ca_len);
        ok = ca != NULL && X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), ca) == 1;
        X509_free(ca);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    }
    /* SSL_CTX_set_alpn_protos returns 0 on success. */
    if (ok && alpn != NULL && alpn_len <= UINT_MAX) ok = SSL_CTX_set_alpn_protos(ctx, alpn, (unsigned int)alpn_len) == 0;
    if (!ok) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

int CReinOpenSSL_ssl_renegotiate(SSL *ssl) {
    return SSL_renegotiate(ssl);
}
