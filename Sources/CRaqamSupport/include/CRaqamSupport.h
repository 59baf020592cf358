#ifndef CRAQAM_SUPPORT_H
#define CRAQAM_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

/// CRC-32C (Castagnoli, the iSCSI polynomial 0x1EDC6F41, reflected), continuing from `crc`
/// (pass 0 to start). Uses the SSE4.2 `crc32` instruction when the CPU has it, a
/// slicing-by-8 table otherwise; both give the same value.
uint32_t raqam_crc32c(uint32_t crc, const void *data, size_t length);

/// 1 when `raqam_crc32c` runs on the hardware instruction, 0 when it uses the table.
int raqam_crc32c_is_hardware(void);

/// flock(fd, LOCK_EX | LOCK_NB): 0 on success, -1 with errno set (EWOULDBLOCK when held).
/// In C because Swift's Glibc overlay sees `flock` as the struct of the same name.
int raqam_flock_exclusive_nonblocking(int fd);

/// fallocate(fd, 0, 0, length): 0 on success, -1 with errno set. Reserves the blocks so that
/// writes inside the range cannot fail with ENOSPC. Needs _GNU_SOURCE, hence C.
int raqam_fallocate(int fd, int64_t length);

/// epoll_create1(EPOLL_CLOEXEC): the descriptor, or -1 with errno set.
int raqam_epoll_create(void);

/// epoll_ctl(ep, EPOLL_CTL_ADD, fd, {EPOLLIN, .data.fd = fd}): 0, or -1 with errno set.
int raqam_epoll_add(int ep, int fd);

/// epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL): 0, or -1 with errno set.
int raqam_epoll_remove(int ep, int fd);

/// epoll_wait(ep, …, max, timeout_ms), writing the ready descriptors to `fds`: their count,
/// or -1 with errno set. In C because `struct epoll_event` is packed and Swift's Glibc module
/// has no <sys/epoll.h>.
int raqam_epoll_wait(int ep, int *fds, int max, int timeout_ms);

#endif
