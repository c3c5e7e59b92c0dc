/*
 * net.c - sockets and polling.
 *
 * Sockets: musl 1.2.3 first tries today's direct socket calls (359-373) and falls back
 * to socketcall(102) on ENOSYS.  We translate them straight to socketcall, which saves
 * the failed round trip, and emulate what 2.0 lacks: SOCK_CLOEXEC / SOCK_NONBLOCK in
 * socket()/socketpair()/accept4() (done with fcntl afterwards), MSG_NOSIGNAL (SIGPIPE
 * set to SIG_IGN around the call) and MSG_DONTWAIT (O_NONBLOCK around the call).
 *
 * poll/ppoll/pselect6: 2.0 has only select (_newselect 142).  poll becomes select on
 * fd sets; POLLNVAL is found by probing each fd with fcntl when select says EBADF.
 * POLLHUP/POLLERR are not reported separately (a hung-up socket reads as POLLIN and
 * the read returns 0, which is what every caller handles anyway).
 */
#include "compat.h"

#define MSG_DONTWAIT 0x40
#define MSG_NOSIGNAL 0x4000
#define MSG_K_MASK 0x3f /* OOB PEEK DONTROUTE CTRUNC PROXY TRUNC: what 2.0's inet accepts */

static long sc(int call, long a, long b, long c, long d, long e, long f)
{
	long args[6];
	args[0] = a, args[1] = b, args[2] = c, args[3] = d, args[4] = e, args[5] = f;
	return raw2(K_socketcall, call, args);
}

static void apply_sock_flags(long fd, long flags)
{
	if (flags & SOCK_CLOEXEC)
		compat_set_cloexec((int)fd);
	if (flags & SOCK_NONBLOCK)
		compat_set_nonblock((int)fd);
}

/* send/recv with flags 2.0 does not know */
static long sc_io(int call, long fd, long b, long c, long flags, long e, long f)
{
	struct k_oldsigaction ign, old;
	long r, fl = 0;
	int nosig = (flags & MSG_NOSIGNAL) != 0, dontwait = (flags & MSG_DONTWAIT) != 0;

	if (nosig) {
		compat_memset(&ign, 0, sizeof ign);
		ign.handler = (void *)1; /* SIG_IGN */
		raw3(K_sigaction, SIGPIPE, &ign, &old);
	}
	if (dontwait) {
		fl = raw2(K_fcntl, fd, F_GETFL);
		if (fl >= 0 && !(fl & O_NONBLOCK))
			raw3(K_fcntl, fd, F_SETFL, fl | O_NONBLOCK);
		else
			dontwait = 0;
	}
	if (call == SC_SENDMSG || call == SC_RECVMSG)
		r = sc(call, fd, b, c & MSG_K_MASK, 0, 0, 0);
	else
		r = sc(call, fd, b, c, flags & MSG_K_MASK, e, f);
	if (dontwait)
		raw3(K_fcntl, fd, F_SETFL, fl);
	if (nosig)
		raw3(K_sigaction, SIGPIPE, &old, NULL);
	return r;
}

/* ---------- poll via select ---------- */

struct k_pollfd {
	int fd;
	short events, revents;
};
#define POLLIN 0x001
#define POLLPRI 0x002
#define POLLOUT 0x004
#define POLLNVAL 0x020
#define POLLRDNORM 0x040
#define POLLRDBAND 0x080
#define POLLWRNORM 0x100
#define POLLWRBAND 0x200
#define MAXFD 1024

#define BITS_PER_WORD 32
#define SET(s, fd) ((s)[(fd) / BITS_PER_WORD] |= 1u << ((fd) % BITS_PER_WORD))
#define ISSET(s, fd) (((s)[(fd) / BITS_PER_WORD] >> ((fd) % BITS_PER_WORD)) & 1u)

long compat_poll(void *vfds, unsigned long n, const struct k_timeval *tv)
{
	struct k_pollfd *fds = vfds;
	u32 rs[MAXFD / 32], ws[MAXFD / 32], es[MAXFD / 32];
	struct k_timeval t, *tp = NULL;
	unsigned long i;
	int maxfd = -1, any = 0;
	long r, count = 0;

	compat_memset(rs, 0, sizeof rs);
	compat_memset(ws, 0, sizeof ws);
	compat_memset(es, 0, sizeof es);
	for (i = 0; i < n; i++) {
		int fd = fds[i].fd;
		short ev = fds[i].events;
		fds[i].revents = 0;
		if (fd < 0)
			continue;
		if (fd >= MAXFD)
			return -EINVAL;
		if (ev & (POLLIN | POLLRDNORM | POLLRDBAND))
			SET(rs, fd);
		if (ev & (POLLOUT | POLLWRNORM | POLLWRBAND))
			SET(ws, fd);
		if (ev & POLLPRI)
			SET(es, fd);
		if (fd > maxfd)
			maxfd = fd;
		any = 1;
	}
	if (tv) {
		t = *tv; /* select may modify it */
		tp = &t;
	}
	r = raw5(K_newselect, maxfd + 1, any ? rs : NULL, any ? ws : NULL, any ? es : NULL, tp);
	if (r == -EBADF) {
		for (i = 0; i < n; i++)
			if (fds[i].fd >= 0 && raw2(K_fcntl, fds[i].fd, F_GETFD) < 0) {
				fds[i].revents = POLLNVAL;
				count++;
			}
		return count ? count : r;
	}
	if (r <= 0)
		return r;
	for (i = 0; i < n; i++) {
		int fd = fds[i].fd;
		short ev = fds[i].events, re = 0;
		if (fd < 0)
			continue;
		if (ISSET(rs, fd))
			re |= ev & (POLLIN | POLLRDNORM | POLLRDBAND);
		if (ISSET(ws, fd))
			re |= ev & (POLLOUT | POLLWRNORM | POLLWRBAND);
		if (ISSET(es, fd))
			re |= POLLPRI;
		fds[i].revents = re;
		if (re)
			count++;
	}
	return count;
}

/* timespec (32- or 64-bit words) -> timeval; NULL stays NULL */
static const struct k_timeval *ts_to_tv(const void *ts, int wide, struct k_timeval *tv)
{
	s64 sec, nsec;
	if (!ts)
		return NULL;
	if (wide) {
		sec = ((const s64 *)ts)[0];
		nsec = ((const s64 *)ts)[1];
	} else {
		sec = ((const s32 *)ts)[0];
		nsec = ((const s32 *)ts)[1];
	}
	if (sec > 0x7fffffffLL)
		sec = 0x7fffffffLL;
	tv->tv_sec = (s32)sec;
	tv->tv_usec = (s32)((nsec + 999) / 1000);
	if (tv->tv_usec >= 1000000)
		tv->tv_sec++, tv->tv_usec -= 1000000;
	return tv;
}

/* ppoll/pselect6 signal mask: set it around the wait (not atomic on 2.0) */
static long mask_swap(const u32 *mask, u32 *old)
{
	if (!mask)
		return 0;
	return raw3(K_sigprocmask, SIG_SETMASK, mask, old);
}

static long sys_ppoll(void *fds, unsigned long n, const void *ts, const u32 *mask, int wide)
{
	struct k_timeval tv;
	u32 old;
	long r;

	if ((r = mask_swap(mask, &old)) < 0)
		return r;
	r = compat_poll(fds, n, ts_to_tv(ts, wide, &tv));
	if (mask)
		raw3(K_sigprocmask, SIG_SETMASK, &old, NULL);
	return r;
}

static long sys_pselect6(long n, long r, long w, long x, const void *ts, const long *sm, int wide)
{
	struct k_timeval tv;
	const u32 *mask = sm ? (const u32 *)sm[0] : NULL;
	u32 old;
	long ret;

	if ((ret = mask_swap(mask, &old)) < 0)
		return ret;
	ret = raw5(K_newselect, n, r, w, x, ts_to_tv(ts, wide, &tv));
	if (mask)
		raw3(K_sigprocmask, SIG_SETMASK, &old, NULL);
	return ret;
}

long compat_net_call(long nr, long a, long b, long c, long d, long e, long f, int *handled)
{
	long r, flags;

	*handled = 1;
	switch (nr) {
	case 359: /* socket */
		flags = b & (SOCK_CLOEXEC | SOCK_NONBLOCK);
		r = sc(SC_SOCKET, a, b & ~flags, c, 0, 0, 0);
		if (r >= 0)
			apply_sock_flags(r, flags);
		return r;
	case 360: /* socketpair */
		flags = b & (SOCK_CLOEXEC | SOCK_NONBLOCK);
		r = sc(SC_SOCKETPAIR, a, b & ~flags, c, d, 0, 0);
		if (r >= 0) {
			apply_sock_flags(((int *)d)[0], flags);
			apply_sock_flags(((int *)d)[1], flags);
		}
		return r;
	case 361:
		return sc(SC_BIND, a, b, c, 0, 0, 0);
	case 362:
		return sc(SC_CONNECT, a, b, c, 0, 0, 0);
	case 363:
		return sc(SC_LISTEN, a, b, 0, 0, 0, 0);
	case 364: /* accept4 */
		r = sc(SC_ACCEPT, a, b, c, 0, 0, 0);
		if (r >= 0)
			apply_sock_flags(r, d);
		return r;
	case 365:
		return sc(SC_GETSOCKOPT, a, b, c, d, e, 0);
	case 366:
		return sc(SC_SETSOCKOPT, a, b, c, d, e, 0);
	case 367:
		return sc(SC_GETSOCKNAME, a, b, c, 0, 0, 0);
	case 368:
		return sc(SC_GETPEERNAME, a, b, c, 0, 0, 0);
	case 369: /* sendto */
		return sc_io(SC_SENDTO, a, b, c, d, e, f);
	case 370: /* sendmsg(fd, msg, flags) */
		return sc_io(SC_SENDMSG, a, b, c & MSG_K_MASK, c, 0, 0);
	case 371: /* recvfrom */
		return sc_io(SC_RECVFROM, a, b, c, d, e, f);
	case 372: /* recvmsg */
		return sc_io(SC_RECVMSG, a, b, c & MSG_K_MASK, c, 0, 0);
	case 373:
		return sc(SC_SHUTDOWN, a, b, 0, 0, 0, 0);
	case 168: { /* poll(fds, n, timeout_ms) */
		struct k_timeval tv;
		if ((int)c < 0)
			return compat_poll((void *)a, (unsigned long)b, NULL);
		tv.tv_sec = (s32)(c / 1000);
		tv.tv_usec = (s32)(c % 1000) * 1000;
		return compat_poll((void *)a, (unsigned long)b, &tv);
	}
	case 309: /* ppoll(fds, n, ts, sigmask, size) */
		return sys_ppoll((void *)a, (unsigned long)b, (const void *)c, (const u32 *)d, 0);
	case 414: /* ppoll_time64 */
		return sys_ppoll((void *)a, (unsigned long)b, (const void *)c, (const u32 *)d, 1);
	case 308: /* pselect6(n, r, w, x, ts, {mask, size}) */
		return sys_pselect6(a, b, c, d, (const void *)e, (const long *)f, 0);
	case 413: /* pselect6_time64 */
		return sys_pselect6(a, b, c, d, (const void *)e, (const long *)f, 1);
	default:
		*handled = 0;
		return -ENOSYS;
	}
}
