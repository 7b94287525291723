#ifndef CREIN_OPENSSL_TLS_H
#define CREIN_OPENSSL_TLS_H

/*
 * Certificate minting and TLS termination on the system's OpenSSL 3.
 *
 * The sidecar's forward-proxy mode terminates the agent's TLS itself with a
 * leaf certificate minted per server name by a per-sidecar CA. These
 * functions wrap what Swift cannot import (macros such as
 * SSL_CTX_set_tlsext_servername_callback, variadic key generation) and keep
 * multi-step X.509 construction in one place so that every early return
 * frees what it allocated.
 *
 * Conventions: functions returning int return 1 on success and 0 on failure;
 * pointer-returning functions return NULL on failure. On failure the reason
 * is left on OpenSSL's thread-local error queue for the caller to report.
 */

#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/err.h>
#include <openssl/bio.h>

/* ---- keys and certificates ------------------------------------------- */

/* A fresh ECDSA P-256 key pair. */
EVP_PKEY *CReinOpenSSL_ec_p256_generate(void);

/*
 * PEM encodings into a heap buffer. Free with CReinOpenSSL_buffer_free, which
 * wipes the buffer first (it may hold a private key).
 */
int CReinOpenSSL_pkey_private_pem(EVP_PKEY *key, uint8_t **out, size_t *outlen);
int CReinOpenSSL_x509_pem(X509 *cert, uint8_t **out, size_t *outlen);
void CReinOpenSSL_buffer_free(uint8_t *buf, size_t len);

/* Parse one PEM private key / certificate from memory (no passphrase prompts). */
EVP_PKEY *CReinOpenSSL_pkey_from_pem(const void *pem, size_t len);
X509 *CReinOpenSSL_x509_from_pem(const void *pem, size_t len);

/* Validity bounds as seconds since the epoch. */
int CReinOpenSSL_x509_validity(X509 *cert, int64_t *not_before, int64_t *not_after);

/* 1 when the certificate is a CA (basicConstraints CA:TRUE) and `key` is its key. */
int CReinOpenSSL_x509_is_ca_for_key(X509 *cert, EVP_PKEY *key);

/*
 * A self-signed CA certificate: random positive 128-bit serial, subject and
 * issuer CN=`common_name`, basicConstraints critical CA:TRUE pathlen:0,
 * keyUsage critical keyCertSign+cRLSign, subjectKeyIdentifier, SHA-256.
 */
X509 *CReinOpenSSL_x509_make_ca(EVP_PKEY *key, const char *common_name,
                                int64_t not_before, int64_t not_after);

/*
 * A leaf server certificate for one DNS name issued by `ca`: SAN dNSName,
 * basicConstraints critical CA:FALSE, keyUsage critical digitalSignature,
 * extendedKeyUsage serverAuth, subject/authority key identifiers, random
 * serial, SHA-256. The caller validates `dns_name` first.
 */
X509 *CReinOpenSSL_x509_make_leaf(X509 *ca, EVP_PKEY *ca_key, EVP_PKEY *leaf_key,
                                  const char *dns_name,
                                  int64_t not_before, int64_t not_after);

/* ---- TLS server --------------------------------------------------------- */

/*
 * Called during the handshake with the client's SNI host name and the SSL's
 * app data (see CReinOpenSSL_ssl_set_app_data). It installs a certificate on
 * `ssl` and returns CREIN_SNI_ACCEPT, or refuses with CREIN_SNI_REFUSE
 * (alert unrecognized_name) or CREIN_SNI_ERROR (alert internal_error).
 * For a ClientHello without SNI the handler is called with server_name NULL
 * (so it can record why) and the handshake is refused whatever it returns:
 * without a name there is no certificate to choose.
 */
#define CREIN_SNI_ACCEPT 1
#define CREIN_SNI_REFUSE 0
#define CREIN_SNI_ERROR (-1)
typedef int (*CReinOpenSSL_sni_handler)(SSL *ssl, const char *server_name, void *app_data);

/*
 * A server SSL_CTX: TLS 1.2 to 1.3, no renegotiation, no compression, server
 * cipher preference, no session resumption (every handshake runs the SNI
 * handler), ALPN "http/1.1" only, and `handler` for SNI.
 */
SSL_CTX *CReinOpenSSL_tls_server_ctx_new(CReinOpenSSL_sni_handler handler);

/*
 * A TLS server context with one fixed identity loaded from PEM files (a
 * chain, leaf first, and its private key), for a service with its own
 * certificate such as the collector: TLS 1.2-1.3, ECDHE AEAD suites for ECDSA
 * and RSA keys, no renegotiation, compression or resumption, ALPN http/1.1.
 * Clients without SNI are served. NULL on failure (the reason is on the queue).
 */
SSL_CTX *CReinOpenSSL_tls_server_ctx_new_fixed(const char *chain_file, const char *key_file);

/* Install a certificate and its key on one connection (from the SNI handler). */
int CReinOpenSSL_ssl_use_identity(SSL *ssl, X509 *cert, EVP_PKEY *key);

/* A connection in accept state over two fresh memory BIOs (no sockets). */
SSL *CReinOpenSSL_ssl_new_server(SSL_CTX *ctx);

/* A connection in connect state over two fresh memory BIOs. Used by tests. */
SSL *CReinOpenSSL_ssl_new_client(SSL_CTX *ctx, const char *server_name);

void CReinOpenSSL_ssl_set_app_data(SSL *ssl, void *data);

/* The SNI host name the client sent, or NULL. */
const char *CReinOpenSSL_ssl_server_name(const SSL *ssl);

/* Write `len` ciphertext bytes into the connection's read BIO. */
int CReinOpenSSL_ssl_feed(SSL *ssl, const void *data, size_t len);
/* Bytes waiting in the connection's write BIO; read them with ..._drain. */
size_t CReinOpenSSL_ssl_pending_out(SSL *ssl);
size_t CReinOpenSSL_ssl_drain(SSL *ssl, void *out, size_t cap);

/* Copy the thread's OpenSSL error queue into `buf` ("; "-separated) and clear it. */
size_t CReinOpenSSL_errors_text(char *buf, size_t cap);

/* ---- test support -------------------------------------------------------- */

/*
 * A client SSL_CTX for in-process tests: verifies the peer against the CA in
 * `ca_pem` (NULL: no verification), speaks `min_version`..`max_version`
 * (0: library default), offers ALPN in wire format `alpn` (NULL: none).
 * With max_version below TLS 1.2 the security level is lowered so that the
 * client can offer the old version at all.
 */
SSL_CTX *CReinOpenSSL_tls_test_client_ctx_new(const void *ca_pem, size_t ca_len,
                                              int min_version, int max_version,
                                              const uint8_t *alpn, size_t alpn_len);

/* Ask for a TLS 1.2 renegotiation on a client connection. */
int CReinOpenSSL_ssl_renegotiate(SSL *ssl);

#endif
