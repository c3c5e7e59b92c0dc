/*
 * pty.c - pseudo-terminals the 2.0 way (libc-level overrides, not system calls).
 *
 * 2.0 has only BSD ptys: masters /dev/ptyXY (major 2), slaves /dev/ttyXY (major 3),
 * X in "pqrs...", Y a hex digit.  musl's openpty() opens /dev/ptmx and its ttyname_r()
 * reads /proc/self/fd/N, whose link text on 2.0 is "[dev]:inode", not a path; so
 * dropbear's pty sessions would fail.  Defining both here keeps musl's openpty.lo and
 * ttyname_r.lo out of the link.
 */
#include "compat.h"

#define TCGETS 0x5401
#define TCSETS 0x5402
#define TIOCSWINSZ 0x5414
#define S_IFCHR 0020000
#define ENOTTY 25

static const char pty_letters[] = "pqrstuvwxyzabcde";
static const char hex[] = "0123456789abcdef";

int openpty(int *master, int *slave, char *name, const void *tio, const void *ws)
{
	char mpath[] = "/dev/ptyXY", spath[] = "/dev/ttyXY";
	int i, j;

	for (i = 0; pty_letters[i]; i++) {
		for (j = 0; j < 16; j++) {
			long m, s;
			mpath[8] = spath[8] = pty_letters[i];
			mpath[9] = spath[9] = hex[j];
			m = raw3(K_open, mpath, 2 | O_NOCTTY, 0);
			if (m == -ENOENT && j == 0)
				goto none; /* no such series: stop searching */
			if (m < 0)
				continue;
			s = raw3(K_open, spath, 2 | O_NOCTTY, 0);
			if (s < 0) {
				raw1(K_close, m);
				continue;
			}
			compat_set_cloexec((int)m);
			if (tio)
				raw3(K_ioctl, s, TCSETS, tio);
			if (ws)
				raw3(K_ioctl, s, TIOCSWINSZ, ws);
			if (name)
				compat_memcpy(name, spath, sizeof spath);
			*master = (int)m;
			*slave = (int)s;
			return 0;
		}
	}
none:
	{
		extern int *__errno_location(void);
		*__errno_location() = ENOENT;
	}
	return -1;
}

/* the device name 2.0's conventions give a character device */
static int dev_name(unsigned major, unsigned minor, char *p)
{
	static const char dev[] = "/dev/";
	compat_memcpy(p, dev, 5);
	p += 5;
	switch (major) {
	case 2:
	case 3:
		if (minor >= 256)
			return -1;
		compat_memcpy(p, major == 2 ? "pty" : "tty", 3);
		p[3] = pty_letters[minor / 16];
		p[4] = hex[minor % 16];
		p[5] = 0;
		return 0;
	case 4:
		if (minor >= 64) {
			compat_memcpy(p, "ttyS", 4);
			minor -= 64, p += 4;
		} else {
			compat_memcpy(p, "tty", 3);
			p += 3;
		}
		if (minor >= 10)
			*p++ = (char)('0' + minor / 10);
		*p++ = (char)('0' + minor % 10);
		*p = 0;
		return 0;
	case 5:
		if (minor > 1)
			return -1;
		compat_memcpy(p, minor ? "console" : "tty", minor ? 8 : 4);
		return 0;
	default:
		return -1;
	}
}

int ttyname_r(int fd, char *buf, size_t len)
{
	struct k_stat st, st2;
	char name[32];
	long r;

	if ((r = raw2(K_fstat, fd, &st)) < 0)
		return (int)-r;
	if ((st.st_mode & S_IFMT) != S_IFCHR)
		return ENOTTY;
	{
		char termios[64]; /* struct termios is 60 bytes on i386 */
		if (raw3(K_ioctl, fd, TCGETS, termios) < 0)
			return ENOTTY;
	}
	if (dev_name(st.st_rdev >> 8, st.st_rdev & 0xff, name) < 0) {
		/* a modern kernel (tests): ask /proc like musl does, then verify */
		char proc[32];
		const char *p;
		if (compat_at_path(fd, "", proc, sizeof proc, &p) < 0)
			return ENOTTY;
		r = raw3(K_readlink, p, name, sizeof name - 1);
		if (r <= 0)
			return ENOENT;
		name[r] = 0;
	}
	if (raw2(K_stat, name, &st2) < 0 || st2.st_rdev != st.st_rdev ||
	    (st2.st_mode & S_IFMT) != S_IFCHR)
		return ENOENT;
	if (compat_strlen(name) + 1 > len)
		return ERANGE;
	compat_memcpy(buf, name, compat_strlen(name) + 1);
	return 0;
}
