#define _GNU_SOURCE
#include "CReinPosix.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>

int CReinPosix_fileIdentity(const char *path, uint64_t *device, uint64_t *inode) {
    struct statx info;
    if (statx(AT_FDCWD, path, 0, STATX_INO, &info) != 0) return -1;
    if ((info.stx_mask & STATX_INO) == 0) {
        errno = ENOTSUP;
        return -1;
    }
    *device = makedev(info.stx_dev_major, info.stx_dev_minor);
    *inode = info.stx_ino;
    return 0;
}

int CReinPosix_lockExclusive(int fd) {
    int result;
    do {
        result = flock(fd, LOCK_EX | LOCK_NB);
    } while (result != 0 && errno == EINTR);
    return result;
}

int CReinPosix_fileSystemType(const char *path, int64_t *type) {
    struct statfs info;
    if (statfs(path, &info) != 0) return -1;
    *type = (int64_t)(uint32_t)info.f_type;
    return 0;
}
