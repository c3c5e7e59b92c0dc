/* Stand-in for <rpc/types.h>: see rpc.h beside it (bool_t only). */
#include <rpc/rpc.h>
