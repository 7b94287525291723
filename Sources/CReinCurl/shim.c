#include "CReinCurl.h"

#include <pthread.h>

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static CURLcode init_result = CURLE_FAILED_INIT;

static void do_init(void) { init_result = curl_global_init(CURL_GLOBAL_DEFAULT); }

CURLcode CReinCurl_global_init(void) {
    pthread_once(&init_once, do_init);
    return init_result;
}

const char *CReinCurl_version_text(void) {
    return curl_version_info(CURLVERSION_NOW)->version;
}

const char *CReinCurl_ssl_version_text(void) {
    const char *v = curl_version_info(CURLVERSION_NOW)->ssl_version;
    return v ? v : "none";
}

CURLcode CReinCurl_setopt_long(CURL *h, CURLoption opt, long value) {
    return curl_easy_setopt(h, opt, value);
}

CURLcode CReinCurl_setopt_string(CURL *h, CURLoption opt, const char *value) {
    return curl_easy_setopt(h, opt, value);
}

CURLcode CReinCurl_setopt_pointer(CURL *h, CURLoption opt, void *value) {
    return curl_easy_setopt(h, opt, value);
}

CURLcode CReinCurl_getinfo_long(CURL *h, CURLINFO info, long *value) {
    return curl_easy_getinfo(h, info, value);
}
