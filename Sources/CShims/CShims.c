#define _GNU_SOURCE
#include "CShims.h"
#include <fcntl.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <pthread.h>
#include <string.h>
#include <malloc.h>

int switchman_splice(int fd_in, int fd_out, size_t len, unsigned int flags, ssize_t *result) {
    ssize_t n = splice(fd_in, NULL, fd_out, NULL, len, flags);
    *result = n;
    return n < 0 ? -1 : 0;
}

int switchman_pipe2(int fds[2], int flags) { return pipe2(fds, flags); }

int switchman_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) {
    return accept4(fd, addr, len, flags);
}

int switchman_set_pipe_size(int fd, int size) { return fcntl(fd, F_SETPIPE_SZ, size); }
int switchman_get_pipe_size(int fd) { return fcntl(fd, F_GETPIPE_SZ); }
int switchman_bytes_readable(int fd, int *count) { return ioctl(fd, FIONREAD, count); }

unsigned int switchman_splice_flags(int more) {
    return SPLICE_F_MOVE | SPLICE_F_NONBLOCK | (more ? SPLICE_F_MORE : 0);
}

int switchman_affinity_cpu_count(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) != 0) return -1;
    return CPU_COUNT(&set);
}

void switchman_set_thread_name(const char *name) {
    char buffer[16];
    strncpy(buffer, name, 15);
    buffer[15] = 0;
    pthread_setname_np(pthread_self(), buffer);
}

void switchman_release_free_memory(void) { malloc_trim(0); }
