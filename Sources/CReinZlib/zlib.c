#include "CReinZlib.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

int CReinZlib_gzip(const void *in, size_t len, int level, uint8_t **out, size_t *outlen) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, level, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK) return 0;
    size_t cap = deflateBound(&zs, (uLong)len) + 32;
    uint8_t *buf = malloc(cap);
    if (buf == NULL) { deflateEnd(&zs); return 0; }
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)len;
    zs.next_out = buf;
    zs.avail_out = (uInt)cap;
    int rc = deflate(&zs, Z_FINISH);
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) { free(buf); return 0; }
    *out = buf;
    *outlen = cap - zs.avail_out;
    return 1;
}

int CReinZlib_gunzip(const void *in, size_t len, size_t limit, uint8_t **out, size_t *outlen) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 31) != Z_OK) return 0;
    size_t cap = len * 4 + 1024, used = 0;
    if (cap > limit + 1) cap = limit + 1;
    uint8_t *buf = malloc(cap);
    if (buf == NULL) { inflateEnd(&zs); return 0; }
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)len;
    for (;;) {
        if (used == cap) {
            if (cap > limit) { free(buf); inflateEnd(&zs); return 0; }
            size_t ncap = cap * 2;
            if (ncap > limit + 1) ncap = limit + 1;
            uint8_t *nbuf = realloc(buf, ncap);
            if (nbuf == NULL) { free(buf); inflateEnd(&zs); return 0; }
            buf = nbuf;
            cap = ncap;
        }
        zs.next_out = buf + used;
        zs.avail_out = (uInt)(cap - used);
        int rc = inflate(&zs, Z_NO_FLUSH);
        used = cap - zs.avail_out;
        if (rc == Z_STREAM_END) {
            if (zs.avail_in == 0) break;
            /* concatenated members */
            if (inflateReset(&zs) != Z_OK) { free(buf); inflateEnd(&zs); return 0; }
            continue;
        }
        if (rc != Z_OK && !(rc == Z_BUF_ERROR && zs.avail_out == 0)) { free(buf); inflateEnd(&zs); return 0; }
        if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) { free(buf); inflateEnd(&zs); return 0; }
    }
    inflateEnd(&zs);
    if (used > limit) { free(buf); return 0; }
    *out = buf;
    *outlen = used;
    return 1;
}
