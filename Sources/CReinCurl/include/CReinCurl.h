#ifndef CREIN_CURL_H
#define CREIN_CURL_H

/*
 * A small shim over the system's libcurl (OpenSSL flavour). curl_easy_setopt
 * and curl_easy_getinfo are variadic, which Swift cannot call, so typed
 * wrappers live here. Every outbound HTTP call Rein makes goes through it.
 */

#include <curl/curl.h>

/* Initialise libcurl once per process. Returns CURLE_OK on success. */
CURLcode CReinCurl_global_init(void);

/* Version text of libcurl and of the TLS library it was built against. */
const char *CReinCurl_version_text(void);
const char *CReinCurl_ssl_version_text(void);

CURLcode CReinCurl_setopt_long(CURL *h, CURLoption opt, long value);
CURLcode CReinCurl_setopt_string(CURL *h, CURLoption opt, const char *value);
CURLcode CReinCurl_setopt_pointer(CURL *h, CURLoption opt, void *value);
CURLcode CReinCurl_getinfo_long(CURL *h, CURLINFO info, long *value);

/* Typed callback setters: Swift passes @convention(c) functions here. */
typedef size_t (*CReinCurl_data_callback)(char *ptr, size_t size, size_t nmemb, void *userdata);
CURLcode CReinCurl_setopt_write_function(CURL *h, CReinCurl_data_callback fn);
CURLcode CReinCurl_setopt_header_function(CURL *h, CReinCurl_data_callback fn);
CURLcode CReinCurl_setopt_read_function(CURL *h, CReinCurl_data_callback fn);
CURLcode CReinCurl_setopt_off_t(CURL *h, CURLoption opt, curl_off_t value);

/*
 * For the streaming engine (UpstreamEngine): multi-handle options, typed
 * getinfo for curl_off_t values, and the pause constants, which are macros
 * (some of them compound expressions) that Swift does not import reliably.
 */
CURLMcode CReinCurl_multi_setopt_long(CURLM *m, CURLMoption opt, long value);
CURLcode CReinCurl_getinfo_off_t(CURL *h, CURLINFO info, curl_off_t *value);
size_t CReinCurl_write_pause_code(void);
size_t CReinCurl_read_pause_code(void);
size_t CReinCurl_read_abort_code(void);
int CReinCurl_pause_recv_bit(void);
int CReinCurl_pause_send_bit(void);
long CReinCurl_http_version_1_1(void);

#endif
