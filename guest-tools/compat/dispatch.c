/*
 * dispatch.c - the one function every musl system call goes through.
 *
 * Order: calls that need translation (signal, fs, net, proc/time areas, execve) are
 * tried first; what remains is passed to the kernel only if 2.0.36 implements that
 * number with today's meaning (the table below).  Everything else gets -ENOSYS
 * without entering the kernel, which is exactly the answer musl's fallbacks expect
 * (statx -> stat64, prlimit64 -> ugetrlimit, socket -> socketcall, clock_gettime64
 * -> clock_gettime, ...).  Set COMPAT_DEBUG=1 in the environment to have unknown
 * numbers reported on stderr.
 */
#include "compat.h"

/*
 * Calls 0..166 that 2.0.36 implements with the same meaning as today.  Excluded:
 * the ENOSYS stubs (17 break, 31 stty, 32 gtty, 35 ftime, 44 prof, 52 phys (today
 * umount2, translated), 53 lock, 56 mpx, 58 ulimit, 137 afs_syscall), the empty
 * slots 164-165, and 0 setup / 112 idle, which no program may call.
 */
static int native(long nr)
{
	if (nr < 1 || nr > K_LAST)
		return 0;
	switch (nr) {
	case 17: case 31: case 32: case 35: case 44: case 52: case 53: case 56: case 58:
	case 112: case 137: case 164: case 165:
		return 0;
	default:
		return 1;
	}
}

long compat_dispatch(long nr, long a, long b, long c, long d, long e, long f)
{
	int handled;
	long r;

	if (nr == 11)
		return compat_sys_execve(a, b, c);
	if ((nr >= 173 && nr <= 179) || nr == 186)
		return compat_signal_call(nr, a, b, c, d);
	r = compat_fs_call(nr, a, b, c, d, e, f, &handled);
	if (handled)
		return r;
	r = compat_proc_call(nr, a, b, c, d, e, f, &handled);
	if (handled)
		return r;
	r = compat_net_call(nr, a, b, c, d, e, f, &handled);
	if (handled)
		return r;
	if (native(nr))
		return compat_raw(nr, a, b, c, d, e, f);
	if (compat_debug)
		compat_log_unsupported(nr);
	return -ENOSYS;
}
