#ifndef SWITCHMAN_CZOOKEEPER_SHIM_H
#define SWITCHMAN_CZOOKEEPER_SHIM_H
// THREADED exposes the multi-threaded client's API (zoo_awget & co. run on the client's own threads).
#define THREADED 1
#include <zookeeper/zookeeper.h>

// Swift 6 refuses `&ZOO_OPEN_ACL_UNSAFE` (a mutable global); hand out a pointer instead.
static inline struct ACL_vector *switchman_zoo_open_acl_unsafe(void) { return &ZOO_OPEN_ACL_UNSAFE; }
#endif
