#ifndef SWITCHMAN_CSHIMS_H
#define SWITCHMAN_CSHIMS_H
// What Swift's Glibc module leaves out: epoll, eventfd, timerfd, and the _GNU_SOURCE calls (splice,
// pipe2, accept4, F_SETPIPE_SZ). _GNU_SOURCE is defined only in the .c file: defining it in a header
// Swift imports clashes with the Glibc module (a module conflict on fd_set.fds_bits), and passing
// -D_GNU_SOURCE globally turns connect/bind/accept4's address into a transparent union Swift cannot pass.
#include <stdint.h>
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

int switchman_splice(int fd_in, int fd_out, size_t len, unsigned int flags, ssize_t *result);
int switchman_pipe2(int fds[2], int flags);
int switchman_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);
/// fcntl(F_SETPIPE_SZ); returns the new size or -1 with errno.
int switchman_set_pipe_size(int fd, int size);
/// fcntl(F_GETPIPE_SZ)
int switchman_get_pipe_size(int fd);
/// FIONREAD: bytes waiting in a pipe or socket.
int switchman_bytes_readable(int fd, int *count);

/// SPLICE_F_MOVE | SPLICE_F_NONBLOCK (| SPLICE_F_MORE when more is non-zero)
unsigned int switchman_splice_flags(int more);

/// pthread_setname_np on the calling thread (name truncated to 15 bytes).
void switchman_set_thread_name(const char *name);

/// malloc_trim(0): hands free heap pages of every arena back to the kernel.
void switchman_release_free_memory(void);

/// The CPUs this thread may run on (sched_getaffinity), or -1.
int switchman_affinity_cpu_count(void);
#endif
