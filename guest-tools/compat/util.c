/* util.c - freestanding helpers of the compatibility layer (no libc calls). */
#include "compat.h"

int compat_debug;

void *compat_memcpy(void *d, const void *s, size_t n)
{
	char *dp = d;
	const char *sp = s;
	while (n--)
		*dp++ = *sp++;
	return d;
}

void *compat_memset(void *d, int c, size_t n)
{
	char *dp = d;
	while (n--)
		*dp++ = (char)c;
	return d;
}

size_t compat_strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

int compat_streq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

static char *put_uint(char *p, unsigned long v)
{
	char tmp[12];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

long compat_at_path(int dirfd, const char *path, char *buf, size_t size, const char **out)
{
	static const char pfx[] = "/proc/self/fd/";
	size_t len;
	char *p;

	if (!path)
		return -EFAULT;
	if (path[0] == '/' || dirfd == AT_FDCWD) {
		*out = path;
		return 0;
	}
	if (dirfd < 0)
		return -EBADF;
	len = compat_strlen(path);
	if (len + sizeof pfx + 12 > size)
		return -ENAMETOOLONG;
	p = buf;
	compat_memcpy(p, pfx, sizeof pfx - 1);
	p = put_uint(p + sizeof pfx - 1, (unsigned long)dirfd);
	if (len) {
		*p++ = '/';
		compat_memcpy(p, path, len);
		p += len;
	}
	*p = 0;
	*out = buf;
	return 0;
}

long compat_set_cloexec(int fd)
{
	return raw3(K_fcntl, fd, F_SETFD, FD_CLOEXEC);
}

long compat_set_nonblock(int fd)
{
	long fl = raw2(K_fcntl, fd, F_GETFL);
	if (fl < 0)
		return fl;
	return raw3(K_fcntl, fd, F_SETFL, fl | O_NONBLOCK);
}

void compat_log_unsupported(long nr)
{
	char msg[64] = "compat: unsupported syscall ";
	char *p = msg + compat_strlen(msg);
	p = put_uint(p, (unsigned long)nr);
	*p++ = '\n';
	raw3(K_write, 2, msg, p - msg);
}
