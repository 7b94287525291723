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

CURLcode CReinCurl_setopt_write_function(CURL *h, CReinCurl_data_callback fn) {
    return curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, fn);
}

CURLcode CReinCurl_setopt_header_function(CURL *h, CReinCurl_data_callback fn) {
    return curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, fn);
}

CURLcode CReinCurl_setopt_read_function(CURL *h, CReinCurl_data_callback fn) {
    return curl_easy_setopt(h, CURLOPT_READFUNCTION, fn);
}

CURLcode CReinCurl_setopt_off_t(CURL *h, CURLoption opt, curl_off_t value) {
    return curl_easy_setopt(h, opt, value);
}

CURLMcode CReinCurl_multi_setopt_long(CURLM *m, CURLMoption opt, long value) {
    return curl_multi_setopt(m, opt, value);
}

CURLcode CReinCurl_getinfo_off_t(CURL *h, CURLINFO info, curl_off_t *value) {
    return curl_easy_getinfo(h, info, value);
}

size_t CReinCurl_write_pause_code(void) { return CURL_WRITEFUNC_PAUSE; }
size_t CReinCurl_read_pause_code(void) { return CURL_READFUNC_PAUSE; }
size_t CReinCurl_read_abort_code(void) { return CURL_READFUNC_ABORT; }
int CReinCurl_pause_recv_bit(void) { return CURLPAUSE_RECV; }
int CReinCurl_pause_send_bit(void) { return CURLPAUSE_SEND; }
long CReinCurl_http_version_1_1(void) { return CURL_HTTP_VERSION_1_1; }
