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

#endif
