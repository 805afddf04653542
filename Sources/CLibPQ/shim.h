#ifndef SWITCHMAN_CLIBPQ_SHIM_H
#define SWITCHMAN_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
