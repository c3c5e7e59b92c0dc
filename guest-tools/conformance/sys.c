/* sys.c -- the system-call layer of sys.h (int $0x80) and a tiny libc */
#include "sys.h"

long sys0(long n)
{
	long r;
	__asm__ __volatile__("int $0x80" : "=a"(r) : "0"(n) : "memory");
	return r;
}

long sys1(long n, long a)
{
	long r;
	__asm__ __volatile__("int $0x80" : "=a"(r) : "0"(n), "b"(a) : "memory");
	return r;
}

long sys2(long n, long a, long b)
{
	long r;
	__asm__ __volatile__("int $0x80" : "=a"(r) : "0"(n), "b"(a), "c"(b) : "memory");
	return r;
}

long sys3(long n, long a, long b, long c)
{
	long r;
	__asm__ __volatile__("int $0x80" : "=a"(r) : "0"(n), "b"(a), "c"(b), "d"(c) : "memory");
	return r;
}

long sys5(long n, long a, long b, long c, long d, long e)
{
	long r;
	long args[2];
	long *p = args;

	args[0] = a;
	args[1] = e;
	__asm__ __volatile__("push %%edi; mov 4(%%ebx),%%edi; mov 0(%%ebx),%%ebx; int $0x80; pop %%edi"
		: "=a"(r), "+b"(p) : "0"(n), "c"(b), "d"(c), "S"(d) : "memory");
	return r;
}

long s_mmap(void *addr, unsigned long len, long prot, long flags, long fd, unsigned long off)
{
	unsigned long a[6];
	a[0] = (unsigned long) addr; a[1] = len; a[2] = prot;
	a[3] = flags; a[4] = fd; a[5] = off;
	return sys1(NR_mmap, (long) a);
}

long s_socket(long domain, long type, long proto)
{
	unsigned long a[3];
	a[0] = domain; a[1] = type; a[2] = proto;
	return sys2(NR_socketcall, 1, (long) a);	/* SYS_SOCKET */
}

int is_err(long r)
{
	return (unsigned long) r >= (unsigned long) -4095;
}

void *memset(void *d, int c, size_t n)
{
	unsigned char *p = d;
	while (n--)
		*p++ = c;
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	unsigned char *p = d;
	const unsigned char *q = s;
	while (n--)
		*p++ = *q++;
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *p = a, *q = b;
	for (; n; n--, p++, q++)
		if (*p != *q)
			return *p - *q;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return (unsigned char) *a - (unsigned char) *b;
}

static char obuf[512];
static int olen;

void out_flush(void)
{
	int off = 0;
	while (off < olen) {
		long r = s_write(1, obuf + off, olen - off);
		if (r <= 0) {
			if (r == -EINTR || r == -EAGAIN)
				continue;
			break;
		}
		off += r;
	}
	olen = 0;
}

void out_c(char c)
{
	if (olen == sizeof(obuf))
		out_flush();
	obuf[olen++] = c;
	if (c == '\n')
		out_flush();
}

void out_s(const char *s)
{
	while (*s)
		out_c(*s++);
}

void out_u(unsigned long v)
{
	char b[12];
	int i = 0;
	do {
		b[i++] = '0' + v % 10;
		v /= 10;
	} while (v);
	while (i)
		out_c(b[--i]);
}

void out_d(long v)
{
	if (v < 0) {
		out_c('-');
		v = -v;
	}
	out_u(v);
}

void out_x(unsigned long v)
{
	int i;
	out_s("0x");
	for (i = 28; i >= 0; i -= 4)
		out_c("0123456789abcdef"[(v >> i) & 15]);
}

void msleep(long ms)
{
	struct timespec t;
	t.tv_sec = ms / 1000;
	t.tv_nsec = (ms % 1000) * 1000000;
	while (s_nanosleep(&t, &t) == -EINTR)
		;
}

long now_ms(void)
{
	struct timeval tv;
	s_gettimeofday(&tv);
	return tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

void set_handler(int sig, void (*h)(int), unsigned long flags)
{
	struct old_sigaction sa;
	sa.handler = h;
	sa.mask = 0;
	sa.flags = flags;
	sa.restorer = 0;
	s_sigaction(sig, &sa, 0);
}

/*
 * Free memory in bytes, from /proc/meminfo (2.0: "Mem:  total used free shared
 * buffers cached" on line 2), or -1: how the init programs check for leaks.
 */
long memfree(void)
{
	return meminfo(3);
}

/* field 1..6 of /proc/meminfo's "Mem:" line (bytes), or -1 */
long meminfo(int want)
{
	static char b[1024];
	long fd = s_open("/proc/meminfo", O_RDONLY, 0), n, v = -1;
	int i;
	if (fd < 0)
		return -1;
	n = s_read(fd, b, sizeof(b) - 1);
	s_close(fd);
	if (n <= 0)
		return -1;
	b[n] = 0;
	/* 2.0: "Mem:  total used free shared buffers cached" on line 2 */
	for (i = 0; b[i] && b[i] != '\n'; i++)
		;
	if (!b[i])
		return -1;
	i++;
	{
		int field = 0;
		while (b[i] && b[i] != '\n') {
			while (b[i] == ' ' || b[i] == ':' || (b[i] >= 'A' && b[i] <= 'z'))
				i++;
			v = 0;
			while (b[i] >= '0' && b[i] <= '9')
				v = v * 10 + (b[i++] - '0');
			if (++field == want)
				return v;
		}
	}
	return -1;
}

/*
 * For a program running as init: 2.0 starts init with no open files, so take
 * the serial port (else the console) as stdin, stdout and stderr.
 */
void init_console(void)
{
	long fd = s_open("/dev/ttyS0", O_RDWR | O_NOCTTY, 0);

	if (fd < 0)
		fd = s_open("/dev/console", O_RDWR | O_NOCTTY, 0);
	s_dup2(fd, 0);
	s_dup2(fd, 1);
	s_dup2(fd, 2);
	if (fd > 2)
		s_close(fd);
}
