/*
 * Stand-in for <rpc/rpc.h>, on the include path of the lmbench build only.
 *
 * Why: lmbench's bench.h includes <rpc/rpc.h> and <rpc/types.h> for its RPC
 * latency benchmark, and lib_tcp.h / lib_udp.h declare pmap_set() and
 * friends returning bool_t.  musl ships no Sun RPC.  The benchmarks this
 * lab builds (pipes, system calls, context switches, memory, files, page
 * faults) call no RPC function; they need only the type to parse those
 * declarations.  Providing it here leaves every lmbench file untouched
 * (its COPYING-2 forbids publishing results of modified benchmarks).
 */
#ifndef PIPEMAP_LMBENCH_RPC_H
#define PIPEMAP_LMBENCH_RPC_H
#include <sys/types.h>
typedef int bool_t;
#endif
