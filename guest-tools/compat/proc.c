/*
 * proc.c - processes, ids, limits, memory, time and the remaining small calls.
 */
#include "compat.h"

/* ---------- 32-bit ids -> 2.0's 16-bit ones ---------- */

/* -1 ("leave unchanged") stays -1; other ids must fit 16 bits */
static int id16(long id, long *out)
{
	if (id == -1) {
		*out = 0xffff;
		return 0;
	}
	if ((unsigned long)id > 0xfffe)
		return -EINVAL;
	*out = id;
	return 0;
}

static long id32(long r)
{
	return r; /* 2.0 returns the 16-bit value zero-extended */
}

#define NGROUPS_2_0 32

static long sys_getgroups32(long n, u32 *list)
{
	u16 g[NGROUPS_2_0];
	long r, i;

	if (n < 0)
		return -EINVAL;
	r = raw2(K_getgroups, n > NGROUPS_2_0 ? NGROUPS_2_0 : n, n ? g : NULL);
	if (r <= 0 || n == 0)
		return r;
	for (i = 0; i < r; i++)
		list[i] = g[i];
	return r;
}

static long sys_setgroups32(long n, const u32 *list)
{
	u16 g[NGROUPS_2_0];
	long i, v;

	if (n < 0 || n > NGROUPS_2_0)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (id16((long)list[i], &v) < 0)
			return -EINVAL;
		g[i] = (u16)v;
	}
	return raw2(K_setgroups, n, g);
}

/* setresuid: 2.0 has setreuid only; it sets the saved id to the new effective id when
 * the real id changes, which covers setresuid(x, x, x) and setresuid(-1, e, -1).
 * Other combinations of a distinct saved id cannot be expressed on 2.0. */
static long sys_setres(long nr_re, long r, long e, long s)
{
	long kr, ke, ks;

	if (id16(r, &kr) < 0 || id16(e, &ke) < 0 || id16(s, &ks) < 0)
		return -EINVAL;
	return raw2(nr_re, kr, ke);
}

static long sys_getres(long nr_r, long nr_e, u32 *r, u32 *e, u32 *s)
{
	long rr = raw0(nr_r), ee = raw0(nr_e);
	if (rr < 0)
		return rr;
	if (ee < 0)
		return ee;
	*r = (u32)rr;
	*e = (u32)ee;
	*s = (u32)ee; /* 2.0 does not expose the saved id */
	return 0;
}

static long chown16(long nr, long path_or_fd, long uid, long gid)
{
	long ku, kg;
	if (id16(uid, &ku) < 0 || id16(gid, &kg) < 0)
		return -EINVAL;
	return raw3(nr, path_or_fd, ku, kg);
}

/* ---------- rlimits: 2.0 uses LONG_MAX as RLIM_INFINITY and has 10 resources ---------- */

#define K_RLIM_INF 0x7fffffffUL
#define RLIM64_INF 0xffffffffffffffffULL

static u32 clamp_rlim(u64 v)
{
	return v >= K_RLIM_INF ? K_RLIM_INF : (u32)v;
}

static long sys_prlimit64(long pid, long res, const u64 *nv, u64 *ov)
{
	u32 k[2];
	long r;

	if (pid != 0 && pid != raw0(K_getpid))
		return -EPERM;
	if (ov) {
		if ((r = raw2(K_getrlimit, res, k)) < 0)
			return r;
		ov[0] = k[0] >= K_RLIM_INF ? RLIM64_INF : k[0];
		ov[1] = k[1] >= K_RLIM_INF ? RLIM64_INF : k[1];
	}
	if (nv) {
		u32 n[2];
		n[0] = clamp_rlim(nv[0]);
		n[1] = clamp_rlim(nv[1]);
		if ((r = raw2(K_setrlimit, res, n)) < 0)
			return r;
	}
	return 0;
}

static long sys_getrlimit32(long res, u32 *out)
{
	long r = raw2(K_getrlimit, res, out);
	if (r < 0)
		return r;
	if (out[0] >= K_RLIM_INF)
		out[0] = 0xffffffffu;
	if (out[1] >= K_RLIM_INF)
		out[1] = 0xffffffffu;
	return 0;
}

static long sys_setrlimit32(long res, const u32 *in)
{
	u32 n[2];
	n[0] = in[0] >= K_RLIM_INF ? K_RLIM_INF : in[0];
	n[1] = in[1] >= K_RLIM_INF ? K_RLIM_INF : in[1];
	return raw2(K_setrlimit, res, n);
}

/* ---------- memory ---------- */

static long sys_mmap2(long addr, long len, long prot, long flags, long fd, long pgoff)
{
	long blk[6];
	if ((unsigned long)pgoff > 0xfffffUL)
		return -EINVAL; /* byte offset would not fit old_mmap's 32 bits */
	blk[0] = addr, blk[1] = len, blk[2] = prot, blk[3] = flags, blk[4] = fd;
	blk[5] = pgoff << 12;
	return raw1(K_mmap, blk);
}

/* ---------- time ---------- */

#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1
#define CLOCK_PROCESS_CPUTIME_ID 2
#define CLOCK_THREAD_CPUTIME_ID 3
#define CLOCK_MONOTONIC_RAW 4
#define CLOCK_REALTIME_COARSE 5
#define CLOCK_MONOTONIC_COARSE 6
#define CLOCK_BOOTTIME 7
#define HZ_2_0 100

/* 2.0 has one clock, gettimeofday; every wall/monotonic clock reads it (so
 * CLOCK_MONOTONIC follows settimeofday: documented).  CPU clocks read times(). */
static long read_clock(long clk, s64 *sec, long *nsec)
{
	struct k_timeval tv;
	long r;

	switch (clk) {
	case CLOCK_REALTIME:
	case CLOCK_MONOTONIC:
	case CLOCK_MONOTONIC_RAW:
	case CLOCK_REALTIME_COARSE:
	case CLOCK_MONOTONIC_COARSE:
	case CLOCK_BOOTTIME:
		if ((r = raw2(K_gettimeofday, &tv, NULL)) < 0)
			return r;
		*sec = tv.tv_sec;
		*nsec = tv.tv_usec * 1000L;
		return 0;
	case CLOCK_PROCESS_CPUTIME_ID:
	case CLOCK_THREAD_CPUTIME_ID: {
		long t[4];
		unsigned long ticks;
		if ((r = raw1(K_times, t)) < 0 && r > -4096)
			return r;
		ticks = (unsigned long)t[0] + (unsigned long)t[1];
		*sec = ticks / HZ_2_0;
		*nsec = (long)(ticks % HZ_2_0) * (1000000000L / HZ_2_0);
		return 0;
	}
	default:
		return -EINVAL;
	}
}

static long sys_clock_gettime(long clk, void *ts, int wide)
{
	s64 s;
	long ns, r = read_clock(clk, &s, &ns);
	if (r < 0)
		return r;
	if (wide) {
		((s64 *)ts)[0] = s;
		((s64 *)ts)[1] = ns;
	} else {
		((s32 *)ts)[0] = (s32)s;
		((s32 *)ts)[1] = (s32)ns;
	}
	return 0;
}

static long sys_clock_getres(long clk, void *ts, int wide)
{
	s64 s;
	long ns, r = read_clock(clk, &s, &ns);
	if (r < 0)
		return r;
	ns = (clk == CLOCK_PROCESS_CPUTIME_ID || clk == CLOCK_THREAD_CPUTIME_ID)
		     ? 1000000000L / HZ_2_0
		     : 1000L;
	if (!ts)
		return 0;
	if (wide) {
		((s64 *)ts)[0] = 0;
		((s64 *)ts)[1] = ns;
	} else {
		((s32 *)ts)[0] = 0;
		((s32 *)ts)[1] = (s32)ns;
	}
	return 0;
}

static long sys_clock_settime(long clk, const void *ts, int wide)
{
	struct k_timeval tv;
	s64 s;
	long ns;

	if (clk != CLOCK_REALTIME)
		return -EINVAL;
	if (wide)
		s = ((const s64 *)ts)[0], ns = (long)((const s64 *)ts)[1];
	else
		s = ((const s32 *)ts)[0], ns = ((const s32 *)ts)[1];
	if (s > 0x7fffffffLL || s < 0)
		return -EOVERFLOW;
	tv.tv_sec = (s32)s;
	tv.tv_usec = (s32)(ns / 1000);
	return raw2(K_settimeofday, &tv, NULL);
}

#define TIMER_ABSTIME 1

static long sys_clock_nanosleep(long clk, long flags, const void *req, void *rem, int wide)
{
	struct k_timespec t, left;
	s64 s;
	long ns, r;

	if (wide)
		s = ((const s64 *)req)[0], ns = (long)((const s64 *)req)[1];
	else
		s = ((const s32 *)req)[0], ns = ((const s32 *)req)[1];
	if (clk == CLOCK_PROCESS_CPUTIME_ID || clk == CLOCK_THREAD_CPUTIME_ID)
		return -EINVAL;
	if (flags & TIMER_ABSTIME) {
		s64 now_s;
		long now_ns;
		if ((r = read_clock(clk, &now_s, &now_ns)) < 0)
			return r;
		s -= now_s;
		ns -= now_ns;
		if (ns < 0)
			ns += 1000000000L, s--;
		if (s < 0)
			return 0;
		rem = NULL;
	}
	t.tv_sec = s > 0x7fffffffLL ? 0x7fffffff : (s32)s;
	t.tv_nsec = (s32)ns;
	r = raw2(K_nanosleep, &t, rem ? &left : NULL);
	if (r == -EINTR && rem) {
		if (wide) {
			((s64 *)rem)[0] = left.tv_sec;
			((s64 *)rem)[1] = left.tv_nsec;
		} else {
			((s32 *)rem)[0] = left.tv_sec;
			((s32 *)rem)[1] = left.tv_nsec;
		}
	}
	return r;
}

/* ---------- the rest ---------- */

static long sys_pipe2(int *fds, long flags)
{
	long r;
	if (flags & ~(O_CLOEXEC | O_NONBLOCK))
		return -EINVAL;
	r = raw1(K_pipe, fds);
	if (r < 0)
		return r;
	if (flags & O_CLOEXEC)
		compat_set_cloexec(fds[0]), compat_set_cloexec(fds[1]);
	if (flags & O_NONBLOCK)
		compat_set_nonblock(fds[0]), compat_set_nonblock(fds[1]);
	return 0;
}

static long sys_dup3(long oldfd, long newfd, long flags)
{
	long r;
	if (oldfd == newfd || (flags & ~O_CLOEXEC))
		return -EINVAL;
	r = raw2(63 /* dup2 */, oldfd, newfd);
	if (r >= 0 && (flags & O_CLOEXEC))
		compat_set_cloexec((int)r);
	return r;
}

#define LINUX_REBOOT_CMD_HALT ((long)0xCDEF0123u)
#define LINUX_REBOOT_CMD_POWER_OFF ((long)0x4321FEDCu)

long compat_proc_call(long nr, long a, long b, long c, long d, long e, long f, int *handled)
{
	long v, w;

	*handled = 1;
	switch (nr) {
	case 252: /* exit_group */
		return raw1(K_exit, a);
	case 190: /* vfork (only if called by number; the vfork symbol is ours) */
		return raw0(K_fork);
	case 224: /* gettid */
	case 258: /* set_tid_address */
		return raw0(K_getpid);
	case 238: /* tkill(tid, sig): one thread per process, tid == pid */
		return raw2(K_kill, raw0(K_getpid), b);
	case 270: /* tgkill(tgid, tid, sig) */
		return raw2(K_kill, a, c);
	case 243: /* set_thread_area */
	case 240: /* futex: no threads */
	case 311: /* set_robust_list */
	case 312: /* get_robust_list */
		return -ENOSYS;
	/* ids */
	case 199: return id32(raw0(K_getuid));
	case 200: return id32(raw0(K_getgid));
	case 201: return id32(raw0(K_geteuid));
	case 202: return id32(raw0(K_getegid));
	case 203: /* setreuid32 */
	case 204: /* setregid32 */
		if (id16(a, &v) < 0 || id16(b, &w) < 0)
			return -EINVAL;
		return raw2(nr == 203 ? K_setreuid : K_setregid, v, w);
	case 205: return sys_getgroups32(a, (u32 *)b);
	case 206: return sys_setgroups32(a, (const u32 *)b);
	case 207: return chown16(K_fchown, a, b, c);
	case 208: return sys_setres(K_setreuid, a, b, c);
	case 209: return sys_getres(K_getuid, K_geteuid, (u32 *)a, (u32 *)b, (u32 *)c);
	case 210: return sys_setres(K_setregid, a, b, c);
	case 211: return sys_getres(K_getgid, K_getegid, (u32 *)a, (u32 *)b, (u32 *)c);
	case 182: /* chown (16-bit ABI, follows links today; 2.0's chown does not) */
	case 198: /* lchown32 */
	case 212: /* chown32 */
		return chown16(K_chown, a, b, c);
	case 213: /* setuid32 */
	case 214: /* setgid32 */
	case 215: /* setfsuid32 */
	case 216: /* setfsgid32 */
		if (id16(a, &v) < 0)
			return -EINVAL;
		return raw1(nr == 213 ? K_setuid : nr == 214 ? K_setgid : nr == 215 ? K_setfsuid : K_setfsgid, v);
	/* limits */
	case 191: /* ugetrlimit */
	case 76:  /* getrlimit */
		return sys_getrlimit32(a, (u32 *)b);
	case 75: /* setrlimit */
		return sys_setrlimit32(a, (const u32 *)b);
	case 340: /* prlimit64 */
		return sys_prlimit64(a, b, (const u64 *)c, (u64 *)d);
	/* memory */
	case 192: return sys_mmap2(a, b, c, d, e, f);
	case 219: /* madvise: pure advice is accepted; advice with semantics (DONTNEED
		   zero-fill, REMOVE, DONTFORK, ...) cannot be given on 2.0 */
		return (c == 0 || c == 1 || c == 2 || c == 3 || c == 8) ? 0 : -EINVAL;
	/* time */
	case 265: return sys_clock_gettime(a, (void *)b, 0);
	case 403: return sys_clock_gettime(a, (void *)b, 1);
	case 266: return sys_clock_getres(a, (void *)b, 0);
	case 406: return sys_clock_getres(a, (void *)b, 1);
	case 264: return sys_clock_settime(a, (const void *)b, 0);
	case 404: return sys_clock_settime(a, (const void *)b, 1);
	case 267: return sys_clock_nanosleep(a, b, (const void *)c, (void *)d, 0);
	case 407: return sys_clock_nanosleep(a, b, (const void *)c, (void *)d, 1);
	/* descriptors */
	case 331: return sys_pipe2((int *)a, b);
	case 330: return sys_dup3(a, b, c);
	/* system */
	case 88: /* reboot: 2.0 knows RESTART, HALT and the C-A-D switches, not POWER_OFF */
		return raw4(K_reboot, a, b, c == LINUX_REBOOT_CMD_POWER_OFF ? LINUX_REBOOT_CMD_HALT : c, d);
	case 116: { /* sysinfo: 2.0 leaves mem_unit 0; units are bytes */
		long r = raw1(K_sysinfo, a);
		if (r >= 0 && ((u32 *)a)[13] == 0)
			((u32 *)a)[13] = 1;
		return r;
	}
	default:
		*handled = 0;
		return -ENOSYS;
	}
}
