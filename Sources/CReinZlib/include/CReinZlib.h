#ifndef CREIN_ZLIB_H
#define CREIN_ZLIB_H

/*
 * gzip in and out of memory on the system's zlib: audit batches travel
 * compressed from the sidecar's shipper to the collector. deflateInit2 with
 * window bits 31 (gzip framing) is a macro-wrapped call Swift cannot make
 * comfortably, so the two whole-buffer operations live here.
 */

#include <stddef.h>
#include <stdint.h>

/* Compresses `len` bytes into a malloc'd gzip member; free with free(). 1 on success. */
int CReinZlib_gzip(const void *in, size_t len, int level, uint8_t **out, size_t *outlen);

/*
 * Decompresses one or more gzip members. Fails (returns 0) when the output
 * would exceed `limit` bytes, so that a small bomb cannot exhaust memory.
 */
int CReinZlib_gunzip(const void *in, size_t len, size_t limit, uint8_t **out, size_t *outlen);

#endif
