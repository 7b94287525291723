#ifndef CREIN_POSIX_H
#define CREIN_POSIX_H

/*
 * Linux calls the Swift Glibc module does not import (statx needs
 * _GNU_SOURCE). Kept to what the stores need.
 */

#include <stdint.h>

/*
 * The identity (device and inode) of the file at `path`, asking the kernel
 * for the inode number only. Why not stat(): a stat asks for the
 * timestamps, and on file systems with multigrain timestamps (ext4, XFS,
 * btrfs since Linux 6.13) that makes the next write stamp a fine-grained
 * mtime, so every write dirties the inode and the next fdatasync writes the
 * inode table too: one more synchronous disk write per sync.
 * Returns 0, or -1 with errno set.
 */
int CReinPosix_fileIdentity(const char *path, uint64_t *device, uint64_t *inode);

/*
 * Takes an exclusive flock(2) on `fd` without waiting. Why flock and not
 * fcntl: a flock belongs to the open file description, so closing some
 * other descriptor of the same file elsewhere in the process (which drops
 * every fcntl lock the process holds on it) cannot release it.
 * Returns 0, or -1 with errno set (EWOULDBLOCK: another holds it).
 */
int CReinPosix_lockExclusive(int fd);

/*
 * The file system type (statfs(2)'s f_type magic number) of the file at
 * `path`: the stores warn when theirs is a network file system.
 * Returns 0, or -1 with errno set.
 */
int CReinPosix_fileSystemType(const char *path, int64_t *type);

#endif
