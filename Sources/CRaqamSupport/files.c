// File calls that Swift's Glibc overlay does not expose cleanly.
#define _GNU_SOURCE
#include "CRaqamSupport.h"
#include <fcntl.h>
#include <sys/file.h>

int raqam_flock_exclusive_nonblocking(int fd) { return flock(fd, LOCK_EX | LOCK_NB); }

int raqam_fallocate(int fd, int64_t length) { return fallocate(fd, 0, 0, (off_t)length); }
