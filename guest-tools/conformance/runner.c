/*
 * runner.c -- conformance suite for the extended mmap() of pipes
 * (docs/model.md; kernel variant "xmmap").  Freestanding: only sys.c.
 *
 * One line per case:  PASS|FAIL|REFUSED <case-id> <rule-id> <message>
 * then a summary line.  Every case runs in its own child process with a
 * time limit.  "classic" cases check 2.0.36 pipe behaviour and must pass
 * on both kernels; "mmap" cases report REFUSED on a kernel without xmmap
 * when pipes refuse mmap() the way plain 2.0.36 does (read end ENODEV,
 * write end EACCES, xmmap ioctls EINVAL).
 *
 * Run as /sbin/init (pid 1) it opens /dev/ttyS0, mounts /proc when it can,
 * runs the suite (twice: the second round checks that free memory comes
 * back), then the throughput measurement if the kernel command line says
 * conformance_bench=1 (2.0 hands it to init as an environment variable),
 * syncs and reboots.  Arguments otherwise: [bench] [case-id ...].
 */
#include "sys.h"
#include "../include/xmmap.h"

#define PAGE 4096UL
#define PIPE_BUF 4096

static int xmm;			/* kernel has xmmap */
static const char *fifo_path = "/tmp/xmmap-fifo";
static char note_buf[200];
static int note_len;

static void note_s(const char *s)
{
	while (*s && note_len < (int) sizeof(note_buf) - 1)
		note_buf[note_len++] = *s++;
	note_buf[note_len] = 0;
}

static void note_n(long v)
{
	char b[16];
	int i = 0, neg = v < 0;
	unsigned long u = neg ? -v : v;
	do {
		b[i++] = '0' + u % 10;
		u /= 10;
	} while (u);
	if (neg)
		note_s("-");
	while (i) {
		char c[2];
		c[0] = b[--i];
		c[1] = 0;
		note_s(c);
	}
}

static int fail_at(const char *what, long v, int line)
{
	note_len = 0;
	note_s(what);
	note_s(" (got ");
	note_n(v);
	note_s(", line ");
	note_n(line);
	note_s(")");
	return 1;
}

#define CHECK(c, what, v) do { if (!(c)) return fail_at(what, (long) (v), __LINE__); } while (0)
#define OK(what) do { note_len = 0; note_s(what); return 0; } while (0)

/* ---- stream pattern: the byte at stream position p ---- */
static unsigned char pat(unsigned long p)
{
	return (unsigned char) (p * 131 + (p >> 9) * 7 + 3);
}

static long wpat(int fd, unsigned long pos, unsigned long n)
{
	static unsigned char b[8192];
	unsigned long done = 0;

	while (done < n) {
		unsigned long k = n - done, i;
		long r;
		if (k > sizeof(b))
			k = sizeof(b);
		for (i = 0; i < k; i++)
			b[i] = pat(pos + done + i);
		r = s_write(fd, b, k);
		if (r < 0)
			return done ? (long) done : r;
		done += r;
	}
	return done;
}

/* read exactly n bytes and check them; returns n, or <0, or the short count */
static long rpat(int fd, unsigned long pos, unsigned long n)
{
	static unsigned char b[8192];
	unsigned long done = 0, i;

	while (done < n) {
		unsigned long k = n - done;
		long r;
		if (k > sizeof(b))
			k = sizeof(b);
		r = s_read(fd, b, k);
		if (r <= 0)
			return r < 0 ? r : (long) done;
		for (i = 0; i < (unsigned long) r; i++)
			if (b[i] != pat(pos + done + i))
				return -1000 - (long) (done + i);
		done += r;
	}
	return done;
}

static int cpat(const volatile unsigned char *p, unsigned long pos, unsigned long n)
{
	unsigned long i;
	for (i = 0; i < n; i++)
		if (p[i] != pat(pos + i))
			return 0;
	return 1;
}

static void fill(volatile unsigned char *p, unsigned long pos, unsigned long n)
{
	unsigned long i;
	for (i = 0; i < n; i++)
		p[i] = pat(pos + i);
}

/* ---- processes ---- */
static long spawn(int (*fn)(long), long arg)
{
	long pid = s_fork();
	if (pid == 0)
		s_exit(fn(arg));
	return pid;
}

static long wait_st(long pid)
{
	int st = 0;
	long r;
	do
		r = s_waitpid(pid, &st, 0);
	while (r == -EINTR);
	return r < 0 ? -1 : st;
}

static int alive(long pid)
{
	int st = 0;
	return s_waitpid(pid, &st, WNOHANG) == 0;
}

static int EXITED(long st, int code)
{
	return st >= 0 && (st & 0x7f) == 0 && ((st >> 8) & 0xff) == code;
}

static int KILLED(long st, int sig)
{
	return st >= 0 && (st & 0x7f) == sig;
}

static unsigned char *mapr(int fd, unsigned long off, unsigned long len)
{
	long r = s_mmap(0, len, PROT_READ, MAP_SHARED, fd, off);
	return is_err(r) ? 0 : (unsigned char *) r;
}

static unsigned char *mapw(int fd, unsigned long off, unsigned long len)
{
	long r = s_mmap(0, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);
	return is_err(r) ? 0 : (unsigned char *) r;
}

/* a new pipe in fds, its write end mapped at position 0 for len bytes (0: failed) */
static unsigned char *pipe_wmap(int fds[2], unsigned long len)
{
	s_pipe(fds);
	return mapw(fds[1], 0, len);
}

/* a new pipe in fds, both ends mapped at position 0 for len bytes: 1, or 0 if a step failed */
static int pipe_maps(int fds[2], unsigned long len, unsigned char **r, unsigned char **w)
{
	s_pipe(fds);
	*r = mapr(fds[0], 0, len);
	*w = mapw(fds[1], 0, len);
	return *r && *w;
}

static long unmap(void *p, unsigned long len)
{
	unsigned long a = (unsigned long) p;
	return s_munmap(a & ~(PAGE - 1), len + (a & (PAGE - 1)));
}

static int getpos(int fd, struct xmmap_pos *p)
{
	return s_ioctl(fd, XMMAP_GETPOS, p);
}

static long fionread(int fd)
{
	int n = -1;
	long r = s_ioctl(fd, FIONREAD, &n);
	return r < 0 ? r : n;
}

static int readable(int fd)
{
	fd_set256 r;
	struct timeval t = { 0, 0 };
	memset(&r, 0, sizeof(r));
	r.bits[fd / 32] |= 1UL << (fd % 32);
	return s_select(fd + 1, &r, 0, 0, &t);
}

static int writable(int fd)
{
	fd_set256 w;
	struct timeval t = { 0, 0 };
	memset(&w, 0, sizeof(w));
	w.bits[fd / 32] |= 1UL << (fd % 32);
	return s_select(fd + 1, 0, &w, 0, &t);
}

static void nonblock(int fd)
{
	s_fcntl(fd, F_SETFL, s_fcntl(fd, F_GETFL, 0) | O_NONBLOCK);
}

static volatile int sigcount;
static void count_sig(int s)
{
	sigcount++;
}

/* what a kernel without xmmap must answer */
static int refusal(void)
{
	int fds[2];
	struct xmmap_pos p;
	long r1, r2, r3;

	s_pipe(fds);
	r1 = s_mmap(0, PAGE, PROT_READ, MAP_SHARED, fds[0], 0);
	r2 = s_mmap(0, PAGE, PROT_WRITE, MAP_SHARED, fds[1], 0);
	r3 = s_ioctl(fds[0], XMMAP_GETPOS, &p);
	note_len = 0;
	if (r1 == -ENODEV && r2 == -EACCES && (r3 == -EINVAL || r3 == -ENOTTY)) {
		note_s("mmap of a pipe refused as on 2.0.36 (read end ENODEV, write end EACCES, ioctl EINVAL)");
		return 2;
	}
	note_s("unexpected answer of a kernel without xmmap: mmap rd ");
	note_n(r1);
	note_s(" wr ");
	note_n(r2);
	note_s(" ioctl ");
	note_n(r3);
	return 1;
}

#define NEED_XMMAP() do { if (!xmm) return refusal(); } while (0)

/* ================= classic cases (both kernels) ================= */

static int atomic_writer(long arg)
{
	int fd = arg & 0xffff, i;
	char b[PIPE_BUF];
	memset(b, 'A' + (arg >> 16), sizeof(b));
	for (i = 0; i < 8; i++)
		if (s_write(fd, b, sizeof(b)) != sizeof(b))
			return 1;
	return 0;
}

static int check_atomic(int mapped)
{
	int fds[2], i;
	long p1, p2, total = 0;
	static unsigned char all[2 * 8 * PIPE_BUF];

	s_pipe(fds);
	if (mapped) {
		CHECK(mapr(fds[0], 0, 65536) != 0, "mmap read end", 0);
	}
	p1 = spawn(atomic_writer, fds[1]);
	p2 = spawn(atomic_writer, fds[1] | (1 << 16));
	s_close(fds[1]);
	for (;;) {
		long r = s_read(fds[0], all + total, sizeof(all) - total);
		if (r <= 0)
			break;
		total += r;
	}
	CHECK(EXITED(wait_st(p1), 0) && EXITED(wait_st(p2), 0), "writers failed", 0);
	CHECK(total == sizeof(all), "byte count", total);
	for (i = 0; i < (int) sizeof(all); i += PIPE_BUF) {
		CHECK(all[i] == 'A' || all[i] == 'B', "bad byte", all[i]);
		CHECK(memcmp(all + i, all + i + 1, PIPE_BUF - 1) == 0, "PIPE_BUF write interleaved at", i);
	}
	OK("two writers x 8 writes of PIPE_BUF bytes arrive unmixed");
}

static int c_atomic(long a) { return check_atomic(0); }

static int c_eof(long a)
{
	int fds[2];
	char b[64];
	s_pipe(fds);
	CHECK(wpat(fds[1], 0, 10) == 10, "write", 0);
	s_close(fds[1]);
	CHECK(s_read(fds[0], b, 64) == 10, "first read", 0);
	CHECK(s_read(fds[0], b, 64) == 0, "read at EOF", 0);
	OK("read returns the 10 bytes, then 0 once the writer is gone");
}

static int c_epipe(long a)
{
	int fds[2];
	long r;
	s_pipe(fds);
	set_handler(SIGPIPE, count_sig, 0);
	s_close(fds[0]);
	r = s_write(fds[1], "x", 1);
	CHECK(r == -EPIPE, "write without reader", r);
	CHECK(sigcount == 1, "SIGPIPE count", sigcount);
	OK("write without readers: EPIPE and one SIGPIPE");
}

static int sigpipe_child(long fd)
{
	s_write(fd, "x", 1);
	return 0;
}

static int c_sigpipe_default(long a)
{
	int fds[2];
	long pid, st;
	s_pipe(fds);
	s_close(fds[0]);
	pid = spawn(sigpipe_child, fds[1]);
	st = wait_st(pid);
	CHECK(KILLED(st, SIGPIPE), "status of writer", st);
	OK("default SIGPIPE kills a writer without readers");
}

static int c_nb_read(long a)
{
	int fds[2];
	char b[4];
	long r;
	s_pipe(fds);
	nonblock(fds[0]);
	r = s_read(fds[0], b, 4);
	CHECK(r == -EAGAIN, "O_NONBLOCK read of empty pipe", r);
	s_close(fds[1]);
	r = s_read(fds[0], b, 4);
	CHECK(r == 0, "O_NONBLOCK read at EOF", r);
	OK("O_NONBLOCK read: EAGAIN while writers exist, 0 at EOF");
}

static int c_nb_write(long a)
{
	int fds[2];
	long r;
	s_pipe(fds);
	nonblock(fds[1]);
	r = wpat(fds[1], 0, PIPE_BUF);
	CHECK(r == PIPE_BUF, "first PIPE_BUF bytes", r);
	r = s_write(fds[1], "x", 1);
	CHECK(r == -EAGAIN, "write to a full classic pipe", r);
	CHECK(rpat(fds[0], 0, PIPE_BUF) == PIPE_BUF, "read back", 0);
	OK("classic pipe holds PIPE_BUF bytes; then O_NONBLOCK write gives EAGAIN");
}

static int c_sel_read(long a)
{
	int fds[2];
	s_pipe(fds);
	CHECK(readable(fds[0]) == 0, "empty pipe readable", 1);
	wpat(fds[1], 0, 1);
	CHECK(readable(fds[0]) == 1, "pipe with data not readable", 0);
	rpat(fds[0], 0, 1);
	s_close(fds[1]);
	CHECK(readable(fds[0]) == 1, "EOF not readable", 0);
	OK("select: readable with data or at EOF, not when empty");
}

static int c_sel_write(long a)
{
	int fds[2];
	s_pipe(fds);
	CHECK(writable(fds[1]) == 1, "empty pipe not writable", 0);
	wpat(fds[1], 0, 1);
	CHECK(writable(fds[1]) == 0, "classic 2.0 pipe with data writable", 1);
	s_close(fds[0]);
	CHECK(writable(fds[1]) == 1, "no readers: not writable", 0);
	OK("select: a classic pipe is writable only when empty or without readers");
}

static int c_fionread(long a)
{
	int fds[2];
	struct new_stat st;
	s_pipe(fds);
	wpat(fds[1], 0, 123);
	CHECK(fionread(fds[0]) == 123, "FIONREAD", fionread(fds[0]));
	rpat(fds[0], 0, 23);
	CHECK(fionread(fds[0]) == 100, "FIONREAD after read", fionread(fds[0]));
	CHECK(s_fstat(fds[0], &st) == 0, "fstat", 0);
	CHECK(st.st_size == 100, "st_size", st.st_size);
	OK("FIONREAD and fstat st_size give the buffered byte count");
}

static int c_lseek(long a)
{
	int fds[2];
	long r;
	s_pipe(fds);
	r = s_lseek(fds[0], 0, 0);
	CHECK(r == -ESPIPE, "lseek", r);
	OK("lseek on a pipe: ESPIPE");
}

static int delayed_writer(long fd)
{
	msleep(300);
	return wpat(fd, 0, 100) == 100 ? 0 : 1;
}

static int c_block_read(long a)
{
	int fds[2];
	long pid, r;
	s_pipe(fds);
	pid = spawn(delayed_writer, fds[1]);
	r = rpat(fds[0], 0, 100);
	CHECK(r == 100, "blocking read", r);
	CHECK(EXITED(wait_st(pid), 0), "writer", 0);
	OK("a blocked read wakes up with the writer's data");
}

static int c_read_eintr(long a)
{
	int fds[2];
	char b[4];
	long r;
	s_pipe(fds);
	set_handler(SIGALRM, count_sig, 0);
	s_alarm(1);
	r = s_read(fds[0], b, 4);
	CHECK(r == -EINTR, "interrupted read", r);
	CHECK(sigcount == 1, "handler ran", sigcount);
	OK("a signal interrupts a blocked read with EINTR");
}

static int big_writer(long fd)
{
	return wpat(fd, 0, 20000) == 20000 ? 0 : 1;
}

static int c_large_write(long a)
{
	int fds[2];
	long pid, r;
	s_pipe(fds);
	pid = spawn(big_writer, fds[1]);
	s_close(fds[1]);
	r = rpat(fds[0], 0, 20000);
	CHECK(r == 20000, "20000 bytes in order", r);
	CHECK(EXITED(wait_st(pid), 0), "writer", 0);
	OK("a write larger than PIPE_BUF arrives complete and in order");
}

/* ================= mmap cases ================= */

static int m_basic(long a)
{
	int fds[2];
	unsigned char *p;
	NEED_XMMAP();
	s_pipe(fds);
	wpat(fds[1], 0, 100);
	p = mapr(fds[0], 0, 100);
	CHECK(p != 0, "mmap read end", 0);
	CHECK(((unsigned long) p & (PAGE - 1)) == 0, "address of position 0", (long) p);
	CHECK(cpat(p, 0, 100), "mapped bytes", 0);
	CHECK(fionread(fds[0]) == 100, "mapping consumed bytes", fionread(fds[0]));
	OK("mmap(off 0) shows the 100 written bytes; nothing consumed");
}

static int m_phase(long a)
{
	int fds[2];
	unsigned char *p;
	s_pipe(fds);
	NEED_XMMAP();
	CHECK(s_ioctl(fds[0], XMMAP_CONSUME, 0) == 0, "switch", 0);
	wpat(fds[1], 0, 5000);
	rpat(fds[0], 0, 1000);
	p = mapr(fds[0], 1000, 3000);
	CHECK(p != 0, "mmap at 1000", 0);
	CHECK(((unsigned long) p & (PAGE - 1)) == 1000, "byte offset of address", (long) p & (PAGE - 1));
	CHECK(cpat(p, 1000, 3000), "bytes 1000..3999", 0);
	CHECK(unmap(p, 3000) == 0, "munmap of the page-rounded range", 0);
	OK("offset 1000: address has page offset 1000 and points at stream byte 1000");
}

static int m_unknown_len(long a)
{
	int fds[2];
	unsigned char *p;
	NEED_XMMAP();
	s_pipe(fds);
	wpat(fds[1], 0, 10);
	p = mapr(fds[0], 0, 1UL << 24);
	CHECK(p != 0, "16 MiB mapping of a 10-byte stream", 0);
	CHECK(cpat(p, 0, 10), "bytes", 0);
	OK("a length far beyond the written bytes is accepted");
}

static int touch0(long fd)
{
	unsigned char *p = mapr(fd, 0, PAGE);
	if (!p)
		return 3;
	return p[0] == pat(0) ? 0 : 1;
}

static int m_wait_fault(long a)
{
	int fds[2];
	long pid, st;
	NEED_XMMAP();
	s_pipe(fds);
	pid = spawn(touch0, fds[0]);
	msleep(400);
	CHECK(alive(pid), "toucher did not wait", 0);
	wpat(fds[1], 0, 1);
	st = wait_st(pid);
	CHECK(EXITED(st, 0), "toucher status", st);
	OK("touching an unwritten page waits until a byte of it is written");
}

static int m_partial(long a)
{
	int fds[2];
	unsigned char *p;
	int i;
	NEED_XMMAP();
	s_pipe(fds);
	wpat(fds[1], 0, 10);
	p = mapr(fds[0], 0, PAGE);
	CHECK(p && cpat(p, 0, 10), "first 10 bytes", 0);
	for (i = 10; i < (int) PAGE; i++)
		CHECK(p[i] == 0, "uncommitted byte not zero at", i);
	wpat(fds[1], 10, 5);
	CHECK(cpat(p + 10, 10, 5), "later write() not visible in the mapping", 0);
	OK("bytes not yet written read 0; later write()s appear in place");
}

static int touch_at(long arg)
{
	/* arg: fd | offset<<8 ; mapping of 3 pages at 0 */
	int fd = arg & 0xff;
	unsigned long off = arg >> 8;
	volatile unsigned char *p = mapr(fd, 0, 3 * PAGE);
	if (!p)
		return 3;
	return p[off] == 0x5a ? 4 : 0;
}

static int m_eof_sigbus(long a)
{
	int fds[2];
	long st;
	NEED_XMMAP();
	s_pipe(fds);
	wpat(fds[1], 0, 10);
	s_close(fds[1]);
	st = wait_st(spawn(touch_at, fds[0] | (PAGE << 8)));
	CHECK(KILLED(st, SIGBUS), "touch past EOF", st);
	st = wait_st(spawn(touch_at, fds[0] | (5 << 8)));
	CHECK(EXITED(st, 0), "touch before EOF", st);
	OK("after the writers are gone, a page past the end gives SIGBUS");
}

static int m_eof_tail(long a)
{
	int fds[2];
	unsigned char *p;
	int i;
	NEED_XMMAP();
	s_pipe(fds);
	wpat(fds[1], 0, 10);
	s_close(fds[1]);
	p = mapr(fds[0], 0, PAGE);
	CHECK(p && cpat(p, 0, 10), "data", 0);
	for (i = 10; i < (int) PAGE; i++)
		CHECK(p[i] == 0, "tail byte not zero", i);
	OK("the last page reads 0 past the end of the stream");
}

static int m_getpos(long a)
{
	int fds[2];
	struct xmmap_pos p;
	NEED_XMMAP();
	s_pipe(fds);
	wpat(fds[1], 0, 300);
	rpat(fds[0], 0, 100);
	CHECK(getpos(fds[0], &p) == 0, "GETPOS", 0);
	CHECK(p.rpos == 100 && p.wpos == 300, "rpos/wpos", p.rpos * 100000 + p.wpos);
	CHECK(!(p.flags & XMMAP_F_MAPPED), "unmapped pipe flagged mapped", p.flags);
	CHECK(mapr(fds[0], 100, 200) != 0, "mmap", 0);
	CHECK(getpos(fds[1], &p) == 0, "GETPOS on write end", 0);
	CHECK(p.rpos == 100 && p.wpos == 300, "positions survive the switch", p.wpos);
	CHECK(p.flags & XMMAP_F_MAPPED, "mapped flag", p.flags);
	CHECK(p.limit == XMMAP_SIZE, "limit", p.limit);
	OK("GETPOS reports rpos 100, wpos 300, limit, mapped flag");
}

static int late_writer(long fd)
{
	msleep(300);
	return wpat(fd, 10, 40) == 40 ? 0 : 1;
}

static int m_waitdata(long a)
{
	int fds[2];
	unsigned long t = 50;
	long r, pid;
	NEED_XMMAP();
	s_pipe(fds);
	wpat(fds[1], 0, 10);
	pid = spawn(late_writer, fds[1]);
	r = s_ioctl(fds[0], XMMAP_WAITDATA, &t);
	CHECK(r == 0, "WAITDATA", r);
	CHECK(t >= 50, "wpos after wait", t);
	CHECK(EXITED(wait_st(pid), 0), "writer", 0);
	OK("XMMAP_WAITDATA waits until the target position is committed");
}

static int m_waitdata_eof(long a)
{
	int fds[2];
	unsigned long t = 1000;
	long r;
	NEED_XMMAP();
	s_pipe(fds);
	wpat(fds[1], 0, 10);
	s_close(fds[1]);
	r = s_ioctl(fds[0], XMMAP_WAITDATA, &t);
	CHECK(r == XMMAP_EOF, "WAITDATA at EOF", r);
	CHECK(t == 10, "wpos", t);
	OK("XMMAP_WAITDATA returns XMMAP_EOF and wpos when the writers are gone");
}

static int m_waitdata_full(long a)
{
	int fds[2];
	unsigned long t = XMMAP_SIZE + 10;
	long r;
	NEED_XMMAP();
	s_pipe(fds);
	CHECK(mapr(fds[0], 0, PAGE) != 0, "mmap", 0);
	CHECK(wpat(fds[1], 0, XMMAP_SIZE) == XMMAP_SIZE, "fill", 0);
	r = s_ioctl(fds[0], XMMAP_WAITDATA, &t);
	CHECK(r == XMMAP_FULL, "WAITDATA on a full pipe", r);
	OK("XMMAP_WAITDATA returns XMMAP_FULL when nothing more fits");
}

static int m_fionread(long a)
{
	int fds[2];
	struct new_stat st;
	NEED_XMMAP();
	s_pipe(fds);
	CHECK(mapr(fds[0], 0, PAGE) != 0, "mmap", 0);
	wpat(fds[1], 0, 9000);
	CHECK(fionread(fds[0]) == 9000, "FIONREAD", fionread(fds[0]));
	s_ioctl(fds[0], XMMAP_CONSUME, 1000);
	CHECK(fionread(fds[0]) == 8000, "FIONREAD after consume", fionread(fds[0]));
	s_fstat(fds[0], &st);
	CHECK(st.st_size == 8000, "st_size", st.st_size);
	OK("mapped mode: FIONREAD and st_size = wpos - rpos (beyond PIPE_BUF)");
}

static int m_consume(long a)
{
	int fds[2];
	long r;
	NEED_XMMAP();
	s_pipe(fds);
	wpat(fds[1], 0, 100);
	CHECK(mapr(fds[0], 0, 100) != 0, "mmap", 0);
	r = s_ioctl(fds[0], XMMAP_CONSUME, 40);
	CHECK(r == 0, "CONSUME 40", r);
	CHECK(rpat(fds[0], 40, 10) == 10, "read() continues at position 40", 0);
	r = s_ioctl(fds[0], XMMAP_CONSUME, 51);
	CHECK(r == -EINVAL, "CONSUME beyond wpos", r);
	r = s_ioctl(fds[0], XMMAP_CONSUME, 50);
	CHECK(r == 0, "CONSUME the rest", r);
	CHECK(fionread(fds[0]) == 0, "empty", 0);
	OK("XMMAP_CONSUME advances rpos; read() continues there; too many: EINVAL");
}

static volatile unsigned char *g_zap;

static int touch_inherited(long off)
{
	return g_zap[off] == 0x5a ? 4 : 0;
}

static int m_consume_zap(long a)
{
	int fds[2];
	long st;
	unsigned char *p;
	NEED_XMMAP();
	s_pipe(fds);
	s_ioctl(fds[0], XMMAP_CONSUME, 0);	/* mapped mode: room for 64 KiB */
	wpat(fds[1], 0, 3 * PAGE);
	p = mapr(fds[0], 0, 3 * PAGE);
	CHECK(p && cpat(p, 0, 3 * PAGE), "data", 0);
	CHECK(s_ioctl(fds[0], XMMAP_CONSUME, PAGE + 10) == 0, "consume", 0);
	st = wait_st(spawn(touch_at, fds[0] | (10 << 8)));
	CHECK(KILLED(st, SIGBUS), "touching a consumed page (child)", st);
	g_zap = p;		/* the page was present in this mapping: a child inherits it */
	st = wait_st(spawn(touch_inherited, 10));
	CHECK(KILLED(st, SIGBUS), "touching a consumed page of an inherited mapping (child)", st);
	CHECK(cpat(p + PAGE, PAGE, 2 * PAGE), "partly consumed and later pages", 0);
	st = wait_st(spawn(touch_at, fds[0] | (PAGE << 8)));
	CHECK(EXITED(st, 0), "page 1 in a new mapping", st);
	OK("a wholly consumed page leaves every mapping (SIGBUS); others stay");
}

static int m_consume_zap_own(long a)
{
	/* the page is withdrawn from a mapping that already had it present */
	int fds[2];
	volatile unsigned char *p;
	NEED_XMMAP();
	s_pipe(fds);
	s_ioctl(fds[0], XMMAP_CONSUME, 0);	/* mapped mode: room for 64 KiB */
	wpat(fds[1], 0, 2 * PAGE);
	p = mapr(fds[0], 0, 2 * PAGE);
	if (!p)
		return fail_at("mmap", 0, __LINE__);
	if (p[0] != pat(0))
		return fail_at("data", p[0], __LINE__);
	s_ioctl(fds[0], XMMAP_CONSUME, PAGE);
	(void) p[0];		/* must die of SIGBUS here */
	return fail_at("touching a consumed present page did not raise SIGBUS", p[0], __LINE__);
}

static int m_consume_zap_own_wrap(long a)
{
	long st;
	NEED_XMMAP();
	st = wait_st(spawn(m_consume_zap_own, 0));
	if (EXITED(st, 2))
		return 2;
	CHECK(KILLED(st, SIGBUS), "status", st);
	OK("consuming withdraws a page already present in the consumer's own mapping");
}

static int m_consume_space(long a)
{
	int fds[2];
	long r;
	NEED_XMMAP();
	s_pipe(fds);
	CHECK(mapr(fds[0], 0, PAGE) != 0, "mmap", 0);
	nonblock(fds[1]);
	r = wpat(fds[1], 0, XMMAP_SIZE + 100);
	CHECK(r == XMMAP_SIZE, "capacity of a mapped pipe", r);
	CHECK(writable(fds[1]) == 0, "full pipe writable", 1);
	CHECK(s_write(fds[1], "x", 1) == -EAGAIN, "write to full", 0);
	CHECK(s_ioctl(fds[0], XMMAP_CONSUME, 2 * PAGE) == 0, "consume", 0);
	CHECK(writable(fds[1]) == 1, "not writable after consume", 0);
	r = wpat(fds[1], XMMAP_SIZE, 2 * PAGE);
	CHECK(r == 2 * PAGE, "write after consume", r);
	CHECK(rpat(fds[0], 2 * PAGE, XMMAP_SIZE) == XMMAP_SIZE, "stream", 0);
	OK("consumption frees the writer's space (64 KiB window)");
}

static int m_munmap_keeps(long a)
{
	int fds[2];
	unsigned char *p;
	NEED_XMMAP();
	s_pipe(fds);
	wpat(fds[1], 0, 500);
	p = mapr(fds[0], 0, 500);
	CHECK(p && cpat(p, 0, 500), "data", 0);
	CHECK(unmap(p, 500) == 0, "munmap", 0);
	CHECK(fionread(fds[0]) == 500, "munmap consumed", fionread(fds[0]));
	CHECK(rpat(fds[0], 0, 500) == 500, "read after munmap", 0);
	OK("munmap consumes nothing; read() still gets every byte");
}

static int m_commit(long a)
{
	int fds[2];
	unsigned char *w;
	long r;
	NEED_XMMAP();
	s_pipe(fds);
	w = mapw(fds[1], 0, 3 * PAGE);
	CHECK(w != 0, "mmap write end", 0);
	fill(w, 0, 5000);
	CHECK(fionread(fds[0]) == 0, "stores visible before commit", fionread(fds[0]));
	r = s_ioctl(fds[1], XMMAP_COMMIT, 5000);
	CHECK(r == 0, "COMMIT", r);
	CHECK(fionread(fds[0]) == 5000, "FIONREAD after commit", fionread(fds[0]));
	CHECK(rpat(fds[0], 0, 5000) == 5000, "read() of committed bytes", 0);
	OK("stores through a write mapping become readable by XMMAP_COMMIT");
}

static int m_zero_copy(long a)
{
	int fds[2];
	volatile unsigned char *w, *r;
	NEED_XMMAP();
	s_pipe(fds);
	w = mapw(fds[1], 0, PAGE);
	CHECK(w != 0, "mmap write end", 0);
	fill(w, 0, 1);
	CHECK(s_ioctl(fds[1], XMMAP_COMMIT, 1) == 0, "commit", 0);
	r = mapr(fds[0], 0, PAGE);
	CHECK(r != 0 && r[0] == pat(0), "reader sees byte 0", 0);
	w[100] = 0xa5;
	CHECK(r[100] == 0xa5, "store not seen at once: not the same page", r[100]);
	w[100] = 0x3c;
	CHECK(r[100] == 0x3c, "second store", r[100]);
	OK("writer and reader map one physical page: a store shows at once, no copy");
}

static int m_commit_einval(long a)
{
	int fds[2];
	long r;
	NEED_XMMAP();
	s_pipe(fds);
	CHECK(mapw(fds[1], 0, PAGE) != 0, "mmap", 0);
	r = s_ioctl(fds[1], XMMAP_COMMIT, XMMAP_SIZE + 1);
	CHECK(r == -EINVAL, "COMMIT beyond limit", r);
	OK("XMMAP_COMMIT beyond the limit: EINVAL");
}

static int m_commit_epipe(long a)
{
	int fds[2];
	long r;
	NEED_XMMAP();
	s_pipe(fds);
	CHECK(mapw(fds[1], 0, PAGE) != 0, "mmap", 0);
	set_handler(SIGPIPE, count_sig, 0);
	s_close(fds[0]);
	r = s_ioctl(fds[1], XMMAP_COMMIT, 1);
	CHECK(r == -EPIPE, "COMMIT without readers", r);
	CHECK(sigcount == 1, "SIGPIPE", sigcount);
	OK("XMMAP_COMMIT without readers: EPIPE and SIGPIPE");
}

static int m_commit_zero(long a)
{
	int fds[2];
	unsigned char b[100], z[100];
	NEED_XMMAP();
	s_pipe(fds);
	CHECK(mapr(fds[0], 0, PAGE) != 0, "mmap", 0);
	CHECK(s_ioctl(fds[1], XMMAP_COMMIT, 100) == 0, "commit", 0);
	CHECK(s_read(fds[0], b, 100) == 100, "read", 0);
	memset(z, 0, 100);
	CHECK(memcmp(b, z, 100) == 0, "untouched committed bytes not zero", 0);
	OK("committed bytes never stored read as 0");
}

static int m_write_overwrites(long a)
{
	int fds[2];
	unsigned char *w;
	char b[3];
	NEED_XMMAP();
	w = pipe_wmap(fds, PAGE);
	CHECK(w != 0, "pipe and mmap of its write end", 0);
	w[0] = 'X';
	w[1] = 'Y';
	CHECK(s_write(fds[1], "abc", 3) == 3, "write", 0);
	CHECK(s_read(fds[0], b, 3) == 3 && memcmp(b, "abc", 3) == 0, "read", b[0]);
	OK("write() lands at wpos over uncommitted stores");
}

static int far_writer(long fd)
{
	volatile unsigned char *w = mapw(fd, 0, 2 * XMMAP_SIZE);
	if (!w)
		return 3;
	w[XMMAP_SIZE + 5] = 1;	/* beyond the window: waits */
	return 0;
}

static int m_write_wait(long a)
{
	int fds[2];
	long pid, st;
	NEED_XMMAP();
	s_pipe(fds);
	CHECK(mapr(fds[0], 0, PAGE) != 0, "mmap", 0);
	CHECK(s_ioctl(fds[1], XMMAP_COMMIT, 2 * PAGE) == 0, "commit", 0);
	pid = spawn(far_writer, fds[1]);
	msleep(400);
	CHECK(alive(pid), "writer did not wait for space", 0);
	CHECK(s_ioctl(fds[0], XMMAP_CONSUME, PAGE) == 0, "consume", 0);
	st = wait_st(pid);
	CHECK(EXITED(st, 0), "writer status", st);
	OK("a write-mapping access beyond the window waits for consumption");
}

static int m_write_noreaders(long a)
{
	int fds[2];
	long st, pid;
	NEED_XMMAP();
	s_pipe(fds);
	CHECK(mapw(fds[1], 0, PAGE) != 0, "mmap", 0);
	s_close(fds[0]);
	pid = spawn(far_writer, fds[1]);
	st = wait_st(pid);
	CHECK(KILLED(st, SIGBUS), "writer status", st);
	OK("no readers: an access beyond the window gives SIGBUS instead of waiting");
}

static int m_mix_write(long a)
{
	int fds[2];
	unsigned char *p;
	NEED_XMMAP();
	s_pipe(fds);
	wpat(fds[1], 0, 1);
	p = mapr(fds[0], 0, 2 * PAGE);
	CHECK(p && p[0] == pat(0), "byte 0", 0);
	wpat(fds[1], 1, 2 * PAGE - 1);
	CHECK(cpat(p, 0, 2 * PAGE), "write() data in the mapping", 0);
	CHECK(rpat(fds[0], 0, 2 * PAGE) == 2 * PAGE, "read() of the same bytes", 0);
	OK("write() in mapped mode is seen by mappings and by read()");
}

static int m_atomic(long a)
{
	NEED_XMMAP();
	return check_atomic(1);
}

static int m_multi(long a)
{
	int fds[2];
	volatile unsigned char *p, *q;
	NEED_XMMAP();
	s_pipe(fds);
	wpat(fds[1], 0, 10);
	p = mapr(fds[0], 0, PAGE);
	q = mapr(fds[0], 0, PAGE);
	CHECK(p && q && p != q, "two mappings", 0);
	CHECK(cpat(p, 0, 10) && cpat(q, 0, 10), "data", 0);
	wpat(fds[1], 10, 10);
	CHECK(cpat(p, 0, 20) && cpat(q, 0, 20), "new data in both", 0);
	OK("two mappings of the same positions show the same bytes");
}

static volatile unsigned char *g_map;

static int fork_child(long fd)
{
	if (!cpat(g_map, 0, 100))
		return 1;
	if (s_ioctl(fd, XMMAP_CONSUME, 100) != 0)
		return 2;
	return 0;
}

static int m_fork(long a)
{
	int fds[2];
	unsigned char *p;
	struct xmmap_pos pos;
	long st;
	NEED_XMMAP();
	s_pipe(fds);
	wpat(fds[1], 0, 200);
	p = mapr(fds[0], 0, PAGE);
	CHECK(p != 0, "mmap", 0);
	g_map = p;
	st = wait_st(spawn(fork_child, fds[0]));
	CHECK(EXITED(st, 0), "child", st);
	getpos(fds[0], &pos);
	CHECK(pos.rpos == 100, "child's consumption", pos.rpos);
	CHECK(cpat(p + 100, 100, 100), "parent mapping", 0);
	OK("a forked child inherits the mapping; its consumption is the pipe's");
}

static int m_life(long a)
{
	int fds[2];
	unsigned char *p;
	long st;
	NEED_XMMAP();
	s_pipe(fds);
	wpat(fds[1], 0, 300);
	p = mapr(fds[0], 0, 3 * PAGE);
	s_close(fds[0]);
	s_close(fds[1]);
	CHECK(p && cpat(p, 0, 300), "data after both ends closed", 0);
	/* a child touching past the end dies of SIGBUS (no writers) */
	st = s_fork();
	if (st == 0) {
		volatile unsigned char *q = p;
		(void) q[PAGE];
		s_exit(0);
	}
	st = wait_st(st);
	CHECK(KILLED(st, SIGBUS), "past the end", st);
	OK("a mapping outlives the descriptors; mappings are not writers");
}

static volatile int alarm_seen;
static void on_alarm(int s)
{
	alarm_seen++;
}

static int retry_child(long fd)
{
	volatile unsigned char *p = mapr(fd, 0, PAGE);
	unsigned char v;
	if (!p)
		return 3;
	set_handler(SIGALRM, on_alarm, 0);
	s_alarm(1);
	v = p[0];
	return (v == pat(0) && alarm_seen == 1) ? 0 : 1;
}

static int m_sig_retry(long a)
{
	int fds[2];
	long pid, st;
	NEED_XMMAP();
	s_pipe(fds);
	pid = spawn(retry_child, fds[0]);
	msleep(2000);
	CHECK(alive(pid), "child stopped waiting after the signal", 0);
	wpat(fds[1], 0, 1);
	st = wait_st(pid);
	CHECK(EXITED(st, 0), "child status", st);
	OK("a caught signal runs its handler and the access waits again");
}

static int m_sig_kill(long a)
{
	int fds[2];
	long pid, st;
	struct xmmap_pos pos;
	unsigned char *p;
	NEED_XMMAP();
	s_pipe(fds);
	pid = spawn(touch0, fds[0]);
	msleep(400);
	CHECK(alive(pid), "toucher did not wait", 0);
	s_kill(pid, SIGKILL);
	st = wait_st(pid);
	CHECK(KILLED(st, SIGKILL), "status", st);
	CHECK(wpat(fds[1], 0, 3000) == 3000, "write after the kill", 0);
	CHECK(getpos(fds[0], &pos) == 0 && pos.rpos == 0 && pos.wpos == 3000, "positions", pos.wpos);
	p = mapr(fds[0], 0, PAGE);
	CHECK(p && cpat(p, 0, 3000), "new mapping", 0);
	CHECK(rpat(fds[0], 0, 3000) == 3000, "read", 0);
	OK("SIGKILL ends a blocked access; the pipe keeps working");
}

static int kfault_child(long arg)
{
	int fd = arg & 0xff, out = (arg >> 8) & 0xff;
	unsigned char *p = mapr(fd, 0, PAGE);
	if (!p)
		return 3;
	set_handler(SIGALRM, on_alarm, 0);
	s_alarm(1);
	s_write(out, p, 10);	/* the kernel faults on p and waits */
	return 0;
}

static int m_kfault(long a)
{
	int fds[2], other[2];
	long pid, st;
	NEED_XMMAP();
	s_pipe(fds);
	s_pipe(other);
	pid = spawn(kfault_child, fds[0] | (other[1] << 8));
	st = wait_st(pid);
	CHECK(KILLED(st, SIGBUS), "status", st);
	CHECK(wpat(fds[1], 0, 10) == 10 && rpat(fds[0], 0, 10) == 10, "pipe afterwards", 0);
	OK("a signal during a kernel-mode wait (write() from a mapping) gives SIGBUS");
}

static int m_sel_mapped(long a)
{
	int fds[2];
	NEED_XMMAP();
	s_pipe(fds);
	CHECK(mapr(fds[0], 0, PAGE) != 0, "mmap", 0);
	wpat(fds[1], 0, 100);
	CHECK(writable(fds[1]) == 1, "mapped pipe with room not writable", 0);
	CHECK(readable(fds[0]) == 1, "readable", 0);
	OK("mapped mode: writable while PIPE_BUF bytes fit");
}

static int m_nonblock(long a)
{
	int fds[2];
	unsigned long t = 10;
	long r;
	NEED_XMMAP();
	s_pipe(fds);
	nonblock(fds[0]);
	nonblock(fds[1]);
	r = s_ioctl(fds[0], XMMAP_WAITDATA, &t);
	CHECK(r == -EAGAIN, "WAITDATA O_NONBLOCK", r);
	wpat(fds[1], 0, XMMAP_SIZE);
	t = XMMAP_SIZE + PAGE;
	r = s_ioctl(fds[1], XMMAP_WAITSPACE, &t);
	CHECK(r == -EAGAIN, "WAITSPACE O_NONBLOCK", r);
	OK("O_NONBLOCK: WAITDATA/WAITSPACE give EAGAIN instead of waiting");
}

static int m_waitspace(long a)
{
	int fds[2];
	unsigned long t;
	long r;
	NEED_XMMAP();
	s_pipe(fds);
	t = PAGE;
	r = s_ioctl(fds[1], XMMAP_WAITSPACE, &t);
	CHECK(r == 0 && t == XMMAP_SIZE, "WAITSPACE", t);
	t = XMMAP_SIZE + PAGE;
	r = s_ioctl(fds[1], XMMAP_WAITSPACE, &t);
	CHECK(r == -EINVAL, "unreachable target", r);
	s_close(fds[0]);
	set_handler(SIGPIPE, SIG_IGN, 0);
	t = PAGE;
	r = s_ioctl(fds[1], XMMAP_WAITSPACE, &t);
	CHECK(r == -EPIPE, "no readers", r);
	OK("XMMAP_WAITSPACE: limit; unreachable target EINVAL; no readers EPIPE");
}

static int m_prot_rd(long a)
{
	int fds[2];
	long r;
	unsigned char *p;
	s_pipe(fds);
	r = s_mmap(0, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0);
	CHECK(r == -EACCES, "PROT_WRITE on the read end", r);
	NEED_XMMAP();
	p = mapr(fds[0], 0, PAGE);
	CHECK(p != 0, "mmap", 0);
	r = s_mprotect(p, PAGE, PROT_READ | PROT_WRITE);
	CHECK(r == -EACCES, "mprotect to PROT_WRITE", r);
	OK("read end: PROT_WRITE and mprotect(PROT_WRITE) give EACCES");
}

static int m_prot_wr(long a)
{
	int fds[2];
	long r;
	s_pipe(fds);
	r = s_mmap(0, PAGE, PROT_READ, MAP_SHARED, fds[1], 0);
	CHECK(r == -EACCES, "PROT_READ on the write end", r);
	NEED_XMMAP();
	OK("write end without PROT_WRITE: EACCES");
}

static int m_prot_none(long a)
{
	int fds[2];
	long r;
	NEED_XMMAP();
	s_pipe(fds);
	r = s_mmap(0, PAGE, PROT_NONE, MAP_SHARED, fds[0], 0);
	CHECK(r == -EINVAL, "PROT_NONE on the read end", r);
	OK("read end without PROT_READ: EINVAL");
}

static int m_err_args(long a)
{
	int fds[2];
	long r;
	NEED_XMMAP();
	s_pipe(fds);
	r = s_mmap(0, 0, PROT_READ, MAP_SHARED, fds[0], 0);
	CHECK(r == -EINVAL, "zero length", r);
	r = s_mmap(0, PAGE, PROT_READ, MAP_PRIVATE, fds[0], 0);
	CHECK(r == -EINVAL, "MAP_PRIVATE", r);
	r = s_mmap(0, 2 * PAGE, PROT_READ, MAP_SHARED, fds[0], 0xfffff000UL);
	CHECK(r == -EINVAL, "offset overflow", r);
	r = s_mmap(0, 0xf0000000UL, PROT_READ, MAP_SHARED, fds[0], 0);
	CHECK(r == -EINVAL, "length beyond user space", r);
	OK("zero length, MAP_PRIVATE, overflowing offset, huge length: EINVAL");
}

static int m_fixed(long a)
{
	int fds[2];
	long r, hint;
	NEED_XMMAP();
	s_pipe(fds);
	wpat(fds[1], 0, 200);
	hint = s_mmap(0, 2 * PAGE, PROT_READ, MAP_SHARED, fds[0], 0);
	CHECK(!is_err(hint), "placeholder", hint);
	r = s_mmap((void *) (hint + 5), 100, PROT_READ, MAP_SHARED | MAP_FIXED, fds[0], 100);
	CHECK(r == -EINVAL, "MAP_FIXED with another page offset", r);
	r = s_mmap((void *) (hint + 100), 100, PROT_READ, MAP_SHARED | MAP_FIXED, fds[0], 100);
	CHECK(r == hint + 100, "MAP_FIXED at the matching offset", r);
	CHECK(cpat((unsigned char *) r, 100, 100), "data", 0);
	OK("MAP_FIXED: address and offset must agree within the page (EINVAL)");
}

static int m_err_fd(long a)
{
	int fds[2];
	long r;
	NEED_XMMAP();
	s_pipe(fds);
	s_close(fds[0]);
	r = s_mmap(0, PAGE, PROT_READ, MAP_SHARED, fds[0], 0);
	CHECK(r == -EBADF, "closed descriptor", r);
	r = s_ioctl(fds[1], XMMAP_CONSUME, 0);
	CHECK(r == -EBADF, "CONSUME on the write end", r);
	s_pipe(fds);
	r = s_ioctl(fds[0], XMMAP_COMMIT, 0);
	CHECK(r == -EBADF, "COMMIT on the read end", r);
	r = s_ioctl(fds[0], XMMAP_WAITSPACE, &r);
	CHECK(r == -EBADF, "WAITSPACE on the read end", r);
	r = s_ioctl(fds[0], 0xE1FF, 0);
	CHECK(r == -EINVAL, "unknown ioctl", r);
	r = s_ioctl(fds[0], XMMAP_GETPOS, 16);
	CHECK(r == -EFAULT, "GETPOS to a bad address", r);
	OK("closed fd EBADF; wrong end EBADF; unknown ioctl EINVAL; bad pointer EFAULT");
}

static int m_streams(long a)
{
	long s, r, t;
	s = s_socket(2, 1, 0);		/* AF_INET, SOCK_STREAM */
	CHECK(s >= 0, "socket", s);
	r = s_mmap(0, PAGE, PROT_READ, MAP_SHARED, s, 0);
	CHECK(r == -ENODEV, "mmap of a socket", r);
	t = s_open("/dev/ttyS0", O_RDWR | O_NOCTTY | O_NONBLOCK, 0);
	if (t < 0)
		t = s_open("/dev/tty", O_RDWR | O_NOCTTY | O_NONBLOCK, 0);
	if (t >= 0) {
		r = s_mmap(0, PAGE, PROT_READ, MAP_SHARED, t, 0);
		CHECK(r == -ENODEV, "mmap of a terminal", r);
	}
	OK("sockets and terminals are not mapped yet: ENODEV");
}

static int fifo_writer(long a)
{
	int fd = s_open(fifo_path, O_WRONLY, 0);
	unsigned char *w;
	if (fd < 0)
		return 3;
	w = mapw(fd, 0, 2 * PAGE);
	if (!w)
		return 4;
	fill(w, 0, 6000);
	if (s_ioctl(fd, XMMAP_COMMIT, 6000) != 0)
		return 5;
	s_close(fd);
	return 0;
}

static int m_fifo(long a)
{
	int fd;
	long pid, st, r;
	unsigned char *p;
	unsigned long t = 6000;
	NEED_XMMAP();
	s_unlink(fifo_path);
	CHECK(s_mknod(fifo_path, S_IFIFO | 0600, 0) == 0, "mknod", 0);
	pid = spawn(fifo_writer, 0);
	fd = s_open(fifo_path, O_RDONLY, 0);
	CHECK(fd >= 0, "open", fd);
	p = mapr(fd, 0, 2 * PAGE);
	CHECK(p != 0, "mmap read end of FIFO", 0);
	r = s_ioctl(fd, XMMAP_WAITDATA, &t);
	CHECK(r == 0 || r == XMMAP_EOF, "WAITDATA", r);
	CHECK(t == 6000, "wpos", t);
	CHECK(cpat(p, 0, 6000), "data through both mappings", 0);
	st = wait_st(pid);
	CHECK(EXITED(st, 0), "writer", st);
	s_unlink(fifo_path);
	OK("FIFO: write-end mapping + commit, read-end mapping, two processes");
}

/* a fresh FIFO at fifo_path, opened O_RDWR (both ends): its fd, or < 0 */
static long fifo_rdwr(void)
{
	s_unlink(fifo_path);
	if (s_mknod(fifo_path, S_IFIFO | 0600, 0) != 0)
		return -1000;
	return s_open(fifo_path, O_RDWR, 0);
}

static int m_fifo_rdwr(long a)
{
	int fd;
	unsigned char *w, *r;
	NEED_XMMAP();
	fd = fifo_rdwr();
	CHECK(fd >= 0, "mknod and open O_RDWR of the FIFO", fd);
	w = mapw(fd, 0, PAGE);
	r = mapr(fd, 0, PAGE);
	CHECK(w && r, "both mappings", 0);
	fill(w, 0, 50);
	CHECK(s_ioctl(fd, XMMAP_COMMIT, 50) == 0, "commit", 0);
	CHECK(cpat(r, 0, 50), "read mapping", 0);
	CHECK(s_mprotect(r, PAGE, PROT_READ | PROT_WRITE) == -EACCES, "read mapping made writable", 0);
	s_unlink(fifo_path);
	OK("O_RDWR FIFO: PROT_WRITE maps the write end, PROT_READ the read end");
}

static int m_convert_wrap(long a)
{
	int fds[2];
	unsigned char *p;
	NEED_XMMAP();
	s_pipe(fds);
	wpat(fds[1], 0, 3000);
	rpat(fds[0], 0, 2000);
	wpat(fds[1], 3000, 2500);	/* the classic ring wraps */
	p = mapr(fds[0], 2000, 3500);
	CHECK(p != 0, "mmap", 0);
	CHECK(cpat(p, 2000, 3500), "bytes 2000..5499 after the switch", 0);
	CHECK(rpat(fds[0], 2000, 3500) == 3500, "read() after the switch", 0);
	OK("switching a wrapped classic ring to mapped mode keeps every byte in place");
}

static int m_capacity(long a)
{
	int fds[2];
	long r;
	NEED_XMMAP();
	s_pipe(fds);
	wpat(fds[1], 0, 1000);
	rpat(fds[0], 0, 1000);
	CHECK(s_ioctl(fds[0], XMMAP_CONSUME, 0) == 0, "switch by ioctl", 0);
	nonblock(fds[1]);
	r = wpat(fds[1], 1000, 2 * XMMAP_SIZE);
	CHECK(r == XMMAP_SIZE - 1000, "room = limit - wpos", r);
	OK("mapped mode holds positions up to (rpos & ~4095) + 64 KiB");
}

static int m_offset_consumed(long a)
{
	int fds[2];
	unsigned char *p;
	long st;
	NEED_XMMAP();
	s_pipe(fds);
	s_ioctl(fds[0], XMMAP_CONSUME, 0);	/* mapped mode: room for 64 KiB */
	wpat(fds[1], 0, 3 * PAGE);
	rpat(fds[0], 0, 2 * PAGE);
	p = mapr(fds[0], 0, 3 * PAGE);
	CHECK(p != 0, "mapping over consumed positions", 0);
	CHECK(cpat(p + 2 * PAGE, 2 * PAGE, PAGE), "live page", 0);
	st = s_fork();
	if (st == 0) {
		volatile unsigned char *q = p;
		(void) q[0];
		s_exit(0);
	}
	st = wait_st(st);
	CHECK(KILLED(st, SIGBUS), "consumed page", st);
	OK("an offset before rpos maps; consumed pages give SIGBUS");
}

/* ---- R-STATS: the global counters ---- */
#define NSTATS ((int) (sizeof(struct xmmap_stats) / sizeof(unsigned long)))

static int stats(int fd, struct xmmap_stats *st)
{
	return s_ioctl(fd, XMMAP_GETSTATS, st);
}

/* a mapped transfer of 3 pages: every counter it must move moves, none goes back */
static int m_stats(long a)
{
	int fds[2], i;
	struct xmmap_stats s0, s1;
	struct xmmap_pos p;
	unsigned long *v0 = (unsigned long *) &s0, *v1 = (unsigned long *) &s1;
	unsigned char *w, *r;
	long e;
	NEED_XMMAP();
	s_pipe(fds);
	e = stats(fds[0], &s0);
	CHECK(e == 0, "XMMAP_GETSTATS on a classic pipe", e);
	CHECK(getpos(fds[0], &p) == 0 && !(p.flags & XMMAP_F_MAPPED), "GETSTATS switched the pipe", p.flags);
	w = mapw(fds[1], 0, 3 * PAGE);
	r = mapr(fds[0], 0, 3 * PAGE);
	CHECK(w != 0 && r != 0, "mmap of both ends", 0);
	fill(w, 0, 3 * PAGE);
	CHECK(s_ioctl(fds[1], XMMAP_COMMIT, 3 * PAGE) == 0, "COMMIT", 0);
	CHECK(cpat(r, 0, 3 * PAGE), "reader sees the stores", 0);
	CHECK(s_ioctl(fds[0], XMMAP_CONSUME, 3 * PAGE) == 0, "CONSUME", 0);
	e = stats(fds[1], &s1);
	CHECK(e == 0, "XMMAP_GETSTATS on the write end", e);
	for (i = 0; i < NSTATS; i++)
		CHECK(v1[i] >= v0[i], "a counter went back: field", i);
	CHECK(s1.mmaps - s0.mmaps == 2, "mmaps", s1.mmaps - s0.mmaps);
	CHECK(s1.converts - s0.converts == 1, "converts", s1.converts - s0.converts);
	CHECK(s1.pages_alloc - s0.pages_alloc >= 3, "pages_alloc", s1.pages_alloc - s0.pages_alloc);
	CHECK(s1.pages_zeroed - s0.pages_zeroed >= 2, "pages_zeroed", s1.pages_zeroed - s0.pages_zeroed);
	/* first lap: each writer page is allocated by its own fault; the reader's
	 * first fault maps all three committed pages (one fault per step) */
	CHECK(s1.faults_write - s0.faults_write == 3, "faults_write", s1.faults_write - s0.faults_write);
	CHECK(s1.faults_read - s0.faults_read == 1, "faults_read", s1.faults_read - s0.faults_read);
	CHECK(s1.prefaulted - s0.prefaulted >= 2, "prefaulted", s1.prefaulted - s0.prefaulted);
	/* consumed pages stay for the next lap (R-REUSE-1) */
	CHECK(s1.pages_freed - s0.pages_freed == 0, "pages_freed", s1.pages_freed - s0.pages_freed);
	CHECK(s1.pages_reused - s0.pages_reused == 3, "pages_reused", s1.pages_reused - s0.pages_reused);
	CHECK(s1.tlb_flushes - s0.tlb_flushes >= 1, "tlb_flushes", s1.tlb_flushes - s0.tlb_flushes);
	CHECK(s1.pages_withdrawn - s0.pages_withdrawn >= 3, "pages_withdrawn",
	      s1.pages_withdrawn - s0.pages_withdrawn);
	CHECK(s1.ioc_commit - s0.ioc_commit == 1, "ioc_commit", s1.ioc_commit - s0.ioc_commit);
	CHECK(s1.ioc_consume - s0.ioc_consume == 1, "ioc_consume", s1.ioc_consume - s0.ioc_consume);
	CHECK(s1.ioc_getpos - s0.ioc_getpos == 1, "ioc_getpos", s1.ioc_getpos - s0.ioc_getpos);
	OK("XMMAP_GETSTATS: a mapped transfer of 3 pages moves the counts; none goes back; no switch");
}

/* errors: not a pipe, bad pointer, closed descriptor; on 2.0.36 a pipe says EINVAL */
static int m_stats_err(long a)
{
	int fds[2], fd;
	struct xmmap_stats st;
	long r;
	if (!xmm) {
		s_pipe(fds);
		r = stats(fds[0], &st);
		CHECK(r == -EINVAL, "XMMAP_GETSTATS on a pipe of a kernel without xmmap", r);
		return refusal();
	}
	fd = s_open("/", O_RDONLY, 0);
	CHECK(fd >= 0, "open /", fd);
	r = stats(fd, &st);
	CHECK(r == -ENOTTY || r == -EINVAL, "XMMAP_GETSTATS on a directory", r);
	s_close(fd);
	s_pipe(fds);
	r = stats(fds[0], (struct xmmap_stats *) 16);
	CHECK(r == -EFAULT, "XMMAP_GETSTATS to a bad address", r);
	s_close(fds[1]);
	r = stats(fds[1], &st);
	CHECK(r == -EBADF, "XMMAP_GETSTATS on a closed descriptor", r);
	OK("XMMAP_GETSTATS: not a pipe ENOTTY/EINVAL; bad pointer EFAULT; closed fd EBADF");
}

/* ---- zero copy at the limit (patches/xmmap/0005): reused pages, steps ---- */

static void fillc(volatile unsigned char *p, int c, unsigned long n)
{
	unsigned long i;
	for (i = 0; i < n; i++)
		p[i] = (unsigned char) c;
}

/* index of the first byte of p[0..n) that is not c, or n */
static unsigned long notc(const volatile unsigned char *p, int c, unsigned long n)
{
	unsigned long i;
	for (i = 0; i < n; i++)
		if (p[i] != (unsigned char) c)
			return i;
	return n;
}

/*
 * Move n bytes from stream position from through a write mapping w and a
 * read mapping r (both at offset 0) in steps of step bytes: store, commit,
 * check in place, consume.  c < 0: the bytes are pat(pos), else all c.
 * 0 ok, else 1 + the offset of the first wrong byte.
 */
static long pump(int rfd, int wfd, unsigned char *w, unsigned char *r, unsigned long from,
		 unsigned long n, unsigned long step, int c)
{
	unsigned long pos = from, end = from + n;
	while (pos < end) {
		unsigned long k = end - pos < step ? end - pos : step, bad;
		if (c < 0)
			fill(w + pos, pos, k);
		else
			fillc(w + pos, c, k);
		if (s_ioctl(wfd, XMMAP_COMMIT, k) != 0)
			return 1 + (long) pos;
		if (c < 0)
			bad = cpat(r + pos, pos, k) ? k : 0;
		else
			bad = notc(r + pos, c, k);
		if (bad < k)
			return 1 + (long) (pos + bad);
		if (s_ioctl(rfd, XMMAP_CONSUME, k) != 0)
			return 1 + (long) pos;
		pos += k;
	}
	return 0;
}

#define LAPS_BYTES (1UL << 20)	/* 16 laps of the 64 KiB window */

static int m_reuse_laps(long a)
{
	int fds[2];
	unsigned char *w, *r;
	unsigned long pos = 0;
	long e;
	int i;
	NEED_XMMAP();
	CHECK(pipe_maps(fds, LAPS_BYTES + XMMAP_SIZE, &r, &w), "pipe and mmap of both ends", 0);
	/* steps of 12 KiB + 5 bytes: the page phase moves every step; write()
	 * and read() take every third step, so reused pages see all paths */
	for (i = 0; pos < LAPS_BYTES; i++) {
		unsigned long k = 12 * 1024 + 5;
		if (pos + k > LAPS_BYTES)
			k = LAPS_BYTES - pos;
		if (i % 3 == 2) {
			CHECK(wpat(fds[1], pos, k) == (long) k, "write() at", pos);
			CHECK(cpat(r + pos, pos, k), "written bytes in the read mapping at", pos);
			CHECK(rpat(fds[0], pos, k) == (long) k, "read() at", pos);
		} else {
			e = pump(fds[0], fds[1], w, r, pos, k, k, -1);
			CHECK(e == 0, "mapped step: first wrong byte at position", e - 1);
		}
		pos += k;
	}
	OK("16 laps through reused pages: every byte at its position, by mappings and by read()/write()");
}

/* committed, never stored: 0 or this stream's own byte a multiple of 64 KiB earlier */
static int m_reuse_boundary(long a)
{
	int fds[2];
	unsigned char *w, *r;
	unsigned long base = 4 * XMMAP_SIZE + 3000, q;
	long e;
	NEED_XMMAP();
	CHECK(pipe_maps(fds, base + 2 * XMMAP_SIZE, &r, &w), "pipe and mmap of both ends", 0);
	e = pump(fds[0], fds[1], w, r, 0, base, 8192, -1);
	CHECK(e == 0, "pumping 4 laps: wrong byte at", e - 1);
	CHECK(s_ioctl(fds[1], XMMAP_COMMIT, 60000) == 0, "commit without stores", 0);
	for (q = base; q < base + 60000; q++) {
		unsigned char b = r[q];
		unsigned long k;
		int ok = b == 0;
		for (k = XMMAP_SIZE; !ok && k <= q; k += XMMAP_SIZE)
			ok = b == pat(q - k);
		CHECK(ok, "a never-stored committed byte is neither 0 nor an earlier byte of the stream, at", q);
	}
	OK("committed bytes never stored read as 0 or as the stream's own consumed bytes (k x 64 KiB back)");
}

/* two pipes side by side, then a fresh one: nothing crosses between pipes */
static int m_reuse_other_pipe(long a)
{
	int A[2], B[2], C[2];
	unsigned char *wa, *ra, *wb, *rb, *rc;
	unsigned long pos, n = 4 * XMMAP_SIZE;
	long e;
	NEED_XMMAP();
	s_pipe(A);
	s_pipe(B);
	wa = mapw(A[1], 0, n + XMMAP_SIZE);
	ra = mapr(A[0], 0, n + XMMAP_SIZE);
	wb = mapw(B[1], 0, n + XMMAP_SIZE);
	rb = mapr(B[0], 0, n + XMMAP_SIZE);
	CHECK(wa && ra && wb && rb, "mmap of four ends", 0);
	for (pos = 0; pos < n; pos += 8192) {
		e = pump(A[0], A[1], wa, ra, pos, 8192, 8192, 0x11);
		CHECK(e == 0, "pipe A: wrong byte at", e - 1);
		e = pump(B[0], B[1], wb, rb, pos, 8192, 8192, 0x22);
		CHECK(e == 0, "pipe B: wrong byte at", e - 1);
	}
	CHECK(s_ioctl(A[1], XMMAP_COMMIT, 60000) == 0, "commit on A", 0);
	CHECK(s_ioctl(B[1], XMMAP_COMMIT, 60000) == 0, "commit on B", 0);
	for (pos = n; pos < n + 60000; pos++) {
		CHECK(ra[pos] == 0 || ra[pos] == 0x11, "pipe A shows a byte not its own, at", pos);
		CHECK(rb[pos] == 0 || rb[pos] == 0x22, "pipe B shows a byte not its own, at", pos);
	}
	/* A goes away entirely; a new pipe's pages never show its bytes */
	unmap(wa, n + XMMAP_SIZE);
	unmap(ra, n + XMMAP_SIZE);
	s_close(A[0]);
	s_close(A[1]);
	s_pipe(C);
	rc = mapr(C[0], 0, XMMAP_SIZE);
	CHECK(rc != 0, "mmap of a new pipe", 0);
	CHECK(s_ioctl(C[1], XMMAP_COMMIT, XMMAP_SIZE) == 0, "commit on the new pipe", 0);
	CHECK(notc(rc, 0, XMMAP_SIZE) == XMMAP_SIZE, "a new pipe shows a nonzero byte at", notc(rc, 0, XMMAP_SIZE));
	OK("pipes side by side show only their own bytes; a new pipe's pages are all 0");
}

/* a page reused for a later lap leaves the mappings of its old positions */
static int zap_reuse_child(long a)
{
	int fds[2];
	unsigned char *w, *r;
	volatile unsigned char *old;
	s_pipe(fds);
	w = mapw(fds[1], 0, 3 * XMMAP_SIZE);
	r = mapr(fds[0], 0, 3 * XMMAP_SIZE);
	old = mapr(fds[0], 0, XMMAP_SIZE);	/* a second mapping of positions 0.. */
	if (!w || !r || !old)
		return 3;
	fill(w, 0, XMMAP_SIZE - PAGE);
	if (s_ioctl(fds[1], XMMAP_COMMIT, XMMAP_SIZE - PAGE))
		return 4;
	/* present in the old mapping too, before it is consumed (pump() would
	 * consume first, and the old mapping's first touch would fault) */
	if (!cpat(old, 0, XMMAP_SIZE - PAGE))
		return 5;
	if (s_ioctl(fds[0], XMMAP_CONSUME, XMMAP_SIZE - PAGE))
		return 4;
	if (pump(fds[0], fds[1], w, r, XMMAP_SIZE - PAGE, XMMAP_SIZE, XMMAP_SIZE, -1))
		return 6;
	/* the page of position 0 now holds position 65536 */
	(void) old[0];		/* must die of SIGBUS here */
	return old[0] == pat(XMMAP_SIZE) ? 7 : 8;
}

static int m_reuse_zap(long a)
{
	long st;
	NEED_XMMAP();
	st = wait_st(spawn(zap_reuse_child, 0));
	CHECK(!EXITED(st, 7), "an old mapping shows the next lap's bytes through the reused page", st);
	CHECK(KILLED(st, SIGBUS), "status", st);
	OK("a reused page leaves every mapping of its consumed positions (SIGBUS, never the next lap)");
}

/* consumed bytes of a FIFO, two laps back and in the page at rpos */
static int fifo_fill_laps(int fd, unsigned char **wp, unsigned char **rp)
{
	unsigned char *w = mapw(fd, 0, 8 * XMMAP_SIZE), *r;
	long e;
	r = mapr(fd, 0, 8 * XMMAP_SIZE);
	if (!w || !r)
		return 1;
	/* O_RDWR FIFO: PROT_WRITE maps the write end, PROT_READ the read end (R-MAP-7) */
	e = pump(fd, fd, w, r, 0, 2 * XMMAP_SIZE, 8192, 0x5A);
	if (e)
		return 2;
	fillc(w + 2 * XMMAP_SIZE, 0x5A, 100);
	if (s_ioctl(fd, XMMAP_COMMIT, 100) || s_ioctl(fd, XMMAP_CONSUME, 50))
		return 3;
	*wp = w;
	*rp = r;
	return 0;
}

/* the later opener: rpos = 2*64K + 50, wpos = rpos + 50 */
static int fifo_late_opener(long a)
{
	int fd = s_open(fifo_path, O_RDWR, 0);
	unsigned long base = 2 * XMMAP_SIZE, rpos = base + 50, wpos = base + 100, i;
	struct xmmap_pos p;
	unsigned char *w;
	if (fd < 0)
		return 3;
	if (getpos(fd, &p) || p.rpos != rpos || p.wpos != wpos)
		return 4;
	w = mapw(fd, base, XMMAP_SIZE);	/* the whole window, readable */
	if (!w)
		return 5;
	for (i = 0; i < XMMAP_SIZE; i++) {
		unsigned long q = base + i;
		int committed = q >= rpos && q < wpos;
		if (committed && w[i] != 0x5A)
			return 6;
		if (!committed && w[i] != 0)
			return 7;	/* a consumed byte of the other client */
	}
	return 0;
}

static int m_fifo_reopen(long a)
{
	int fd;
	long st;
	unsigned char *w, *r;
	NEED_XMMAP();
	fd = fifo_rdwr();
	CHECK(fd >= 0, "mknod and open O_RDWR of the FIFO", fd);
	CHECK(fifo_fill_laps(fd, &w, &r) == 0, "two laps through the FIFO", 0);
	st = wait_st(spawn(fifo_late_opener, 0));
	CHECK(!EXITED(st, 7), "a later opener sees consumed bytes of the first client", st);
	CHECK(EXITED(st, 0), "later opener", st);
	s_unlink(fifo_path);
	OK("a FIFO opened later shows none of the bytes consumed before (only [rpos, wpos))");
}

/* after a new open, reused pages are cleared as they come round again */
static int m_fifo_reopen_later(long a)
{
	int fd, fd2;
	unsigned char *w, *r;
	unsigned long pos = 2 * XMMAP_SIZE + 100, n;
	long e;
	NEED_XMMAP();
	fd = fifo_rdwr();
	CHECK(fd >= 0, "mknod and open O_RDWR of the FIFO", fd);
	CHECK(fifo_fill_laps(fd, &w, &r) == 0, "two laps through the FIFO", 0);
	fd2 = s_open(fifo_path, O_RDONLY | O_NONBLOCK, 0);	/* a new holder */
	CHECK(fd2 >= 0, "second open", fd2);
	CHECK(s_ioctl(fd, XMMAP_CONSUME, 50) == 0, "consume the rest", 0);
	e = pump(fd, fd, w, r, pos, 2 * XMMAP_SIZE, 8192, 0x5A);
	CHECK(e == 0, "two more laps: wrong byte at", e - 1);
	pos += 2 * XMMAP_SIZE;
	CHECK(s_ioctl(fd, XMMAP_COMMIT, 60000) == 0, "commit without stores", 0);
	n = notc(r + pos, 0, 60000);
	CHECK(n == 60000, "a reused page kept a byte consumed after the new open, at", pos + n);
	s_unlink(fifo_path);
	OK("after a new open file, pages are cleared as they are reused: never-stored commits read 0");
}

/* a pipe reopened through /proc/self/fd is a new open file too */
static int m_proc_reopen(long a)
{
	int fds[2], fd;
	unsigned char *w, *r, *ww;
	char path[32] = "/proc/self/fd/";
	long e;
	unsigned long base = 2 * XMMAP_SIZE, i;
	NEED_XMMAP();
	CHECK(pipe_maps(fds, 4 * XMMAP_SIZE, &r, &w), "pipe and mmap of both ends", 0);
	e = pump(fds[0], fds[1], w, r, 0, base, 8192, 0x77);
	CHECK(e == 0, "two laps: wrong byte at", e - 1);
	path[14] = (char) ('0' + fds[1] / 10);
	path[15] = (char) ('0' + fds[1] % 10);
	if (fds[1] < 10) {
		path[14] = (char) ('0' + fds[1]);
		path[15] = 0;
	}
	fd = s_open(path, O_WRONLY, 0);
	CHECK(fd >= 0, "open of /proc/self/fd/N", fd);
	ww = mapw(fd, base, XMMAP_SIZE);
	CHECK(ww != 0, "mmap through the new open file", 0);
	for (i = 0; i < XMMAP_SIZE; i++)
		CHECK(ww[i] == 0, "a consumed byte is visible through the reopened pipe at", base + i);
	OK("a pipe reopened through /proc/self/fd shows none of the bytes consumed before");
}

/* R-COMMIT-6: stores of a writer that exited stay in the page; a commit publishes them */
static int uncommitted_child(long fd)
{
	unsigned char *w = mapw((int) fd, 0, 3 * PAGE);
	if (!w)
		return 3;
	fillc(w, 0xEE, 3 * PAGE);	/* stored, never committed */
	return 0;
}

static int m_uncommitted_exit(long a)
{
	int fds[2];
	long st;
	unsigned char *r;
	NEED_XMMAP();
	s_pipe(fds);
	r = mapr(fds[0], 0, 3 * PAGE);
	CHECK(r != 0, "mmap", 0);
	st = wait_st(spawn(uncommitted_child, fds[1]));
	CHECK(EXITED(st, 0), "child", st);
	CHECK(fionread(fds[0]) == 0, "stores of a mapping committed nothing", fionread(fds[0]));
	CHECK(s_ioctl(fds[1], XMMAP_COMMIT, 3 * PAGE) == 0, "commit by the parent", 0);
	CHECK(notc(r, 0xEE, 3 * PAGE) == 3 * PAGE, "an exited writer's stores were lost at",
	      notc(r, 0xEE, 3 * PAGE));
	OK("stores of a writer that exited stay in the pipe's page; a later commit publishes them");
}

static int m_uncommitted_munmap(long a)
{
	int fds[2];
	unsigned char *w, *w2, *r;
	NEED_XMMAP();
	s_pipe(fds);
	r = mapr(fds[0], 0, 3 * PAGE);
	w = mapw(fds[1], 0, 3 * PAGE);
	w2 = mapw(fds[1], 0, 3 * PAGE);	/* a second writer's mapping of the same positions */
	CHECK(r && w && w2, "mmap", 0);
	fillc(w, 0xEE, PAGE);
	fillc(w2 + PAGE, 0xDD, 2 * PAGE);
	CHECK(s_munmap(w, 3 * PAGE) == 0, "munmap of the first writer's mapping", 0);
	CHECK(s_ioctl(fds[1], XMMAP_COMMIT, 3 * PAGE) == 0, "commit", 0);
	CHECK(notc(r, 0xEE, PAGE) == PAGE, "the unmapped writer's stores were lost at", notc(r, 0xEE, PAGE));
	CHECK(notc(r + PAGE, 0xDD, 2 * PAGE) == 2 * PAGE, "the other writer's stores were lost at",
	      PAGE + notc(r + PAGE, 0xDD, 2 * PAGE));
	OK("munmap of a write mapping keeps its and other writers' uncommitted stores; the commit publishes them");
}

/* R-REUSE-2: a new open of a FIFO loses no uncommitted store (a FIFO clears as it reuses) */
static int fifo_opener(long a)
{
	int fd = s_open(fifo_path, O_RDONLY | O_NONBLOCK, 0);
	return fd < 0 ? 3 : 0;
}

static int m_fifo_reopen_stores(long a)
{
	int fd;
	long st;
	unsigned char *w, *r;
	unsigned long pos = 2 * XMMAP_SIZE + 100;
	NEED_XMMAP();
	fd = fifo_rdwr();
	CHECK(fd >= 0, "mknod and open O_RDWR of the FIFO", fd);
	CHECK(fifo_fill_laps(fd, &w, &r) == 0, "two laps through the FIFO", 0);
	CHECK(s_ioctl(fd, XMMAP_CONSUME, 50) == 0, "consume the rest", 0);
	fillc(w + pos, 0x3C, 3 * PAGE);	/* uncommitted stores in reused pages */
	st = wait_st(spawn(fifo_opener, 0));
	CHECK(EXITED(st, 0), "a second process opens the FIFO", st);
	CHECK(s_ioctl(fd, XMMAP_COMMIT, 3 * PAGE) == 0, "commit after the open", 0);
	CHECK(notc(r + pos, 0x3C, 3 * PAGE) == 3 * PAGE, "a new open of the FIFO lost an uncommitted store at",
	      pos + notc(r + pos, 0x3C, 3 * PAGE));
	s_unlink(fifo_path);
	OK("a new open of a FIFO keeps uncommitted stores (the FIFO clears pages as it reuses them)");
}

/* R-STEP-1: XMMAP_CONSUMEWAIT */
static int m_consumewait(long a)
{
	int fds[2];
	struct xmmap_step s;
	struct xmmap_pos p;
	long r;
	NEED_XMMAP();
	s_pipe(fds);
	CHECK(mapr(fds[0], 0, PAGE) != 0, "mmap", 0);
	wpat(fds[1], 0, 10000);
	s.n = 0;
	s.target = 4096;
	r = s_ioctl(fds[0], XMMAP_CONSUMEWAIT, &s);
	CHECK(r == 0 && s.target == 10000, "wait for data there: target := wpos", s.target);
	nonblock(fds[0]);
	s.n = 4096;
	s.target = 20000;
	r = s_ioctl(fds[0], XMMAP_CONSUMEWAIT, &s);
	CHECK(r == -EAGAIN, "O_NONBLOCK wait", r);
	CHECK(s.n == 0, "n := 0 once consumed", s.n);
	CHECK(getpos(fds[0], &p) == 0 && p.rpos == 4096, "rpos after the step", p.rpos);
	s.n = 99999;
	r = s_ioctl(fds[0], XMMAP_CONSUMEWAIT, &s);
	CHECK(r == -EINVAL && s.n == 99999, "consuming more than buffered: EINVAL, nothing done", r);
	CHECK(getpos(fds[0], &p) == 0 && p.rpos == 4096, "rpos unchanged", p.rpos);
	r = s_ioctl(fds[1], XMMAP_CONSUMEWAIT, &s);
	CHECK(r == -EBADF, "on the write end", r);
	r = s_ioctl(fds[0], XMMAP_CONSUMEWAIT, 16);
	CHECK(r == -EFAULT, "bad pointer", r);
	wpat(fds[1], 10000, PAGE + XMMAP_SIZE - 10000);	/* the window is full: limit = 4 KiB + 64 KiB */
	s.n = 0;
	s.target = PAGE + XMMAP_SIZE + 1;
	r = s_ioctl(fds[0], XMMAP_CONSUMEWAIT, &s);
	CHECK(r == XMMAP_FULL && s.target == PAGE + XMMAP_SIZE, "window full: XMMAP_FULL, target := wpos", r);
	s_close(fds[1]);
	s.n = XMMAP_SIZE - PAGE;
	s.target = PAGE + XMMAP_SIZE + 1;
	r = s_ioctl(fds[0], XMMAP_CONSUMEWAIT, &s);
	CHECK(r == XMMAP_EOF && s.n == 0 && s.target == PAGE + XMMAP_SIZE, "no writers: XMMAP_EOF", r);
	OK("XMMAP_CONSUMEWAIT: consume n (n := 0), then WAITDATA's results; EINVAL, EBADF, EFAULT");
}

/* R-STEP-1: XMMAP_COMMITWAIT */
static int m_commitwait(long a)
{
	int fds[2];
	struct xmmap_step s;
	struct xmmap_pos p;
	unsigned char *w;
	long r;
	NEED_XMMAP();
	w = pipe_wmap(fds, XMMAP_SIZE);
	CHECK(w != 0, "pipe and mmap of its write end", 0);
	fill(w, 0, 5000);
	s.n = 5000;
	s.target = 6000;
	r = s_ioctl(fds[1], XMMAP_COMMITWAIT, &s);
	CHECK(r == 0 && s.n == 0 && s.target == XMMAP_SIZE, "commit, then room there: target := limit", r);
	CHECK(rpat(fds[0], 0, 1000) == 1000, "the committed bytes", 0);
	nonblock(fds[1]);
	s.n = 100;
	s.target = XMMAP_SIZE + 500;	/* beyond limit 64 KiB, within reach of wpos's page */
	fill(w + 5000, 5000, 100);
	r = s_ioctl(fds[1], XMMAP_COMMITWAIT, &s);
	CHECK(r == -EAGAIN && s.n == 0, "O_NONBLOCK wait after the commit", r);
	CHECK(getpos(fds[1], &p) == 0 && p.wpos == 5100, "wpos after the step", p.wpos);
	s.n = XMMAP_SIZE;
	r = s_ioctl(fds[1], XMMAP_COMMITWAIT, &s);
	CHECK(r == -EINVAL && s.n == XMMAP_SIZE, "committing beyond the limit: EINVAL, nothing done", r);
	s.n = 0;
	s.target = 5100 + 2 * XMMAP_SIZE;
	r = s_ioctl(fds[1], XMMAP_COMMITWAIT, &s);
	CHECK(r == -EINVAL, "a target no window reaches: EINVAL", r);
	CHECK(s_ioctl(fds[0], XMMAP_COMMITWAIT, &s) == -EBADF, "on the read end", 0);
	s_close(fds[0]);
	set_handler(SIGPIPE, count_sig, 0);
	sigcount = 0;
	s.n = 10;
	r = s_ioctl(fds[1], XMMAP_COMMITWAIT, &s);
	CHECK(r == -EPIPE && sigcount == 1 && s.n == 10, "no readers: EPIPE, SIGPIPE, nothing committed", r);
	OK("XMMAP_COMMITWAIT: commit n (n := 0), then WAITSPACE's results; EINVAL, EPIPE, EBADF");
}

/* a step interrupted in its wait: the commit is done once, never twice */
static int m_step_eintr(long a)
{
	int fds[2];
	struct xmmap_step s;
	struct xmmap_pos p;
	unsigned char *w;
	long r;
	NEED_XMMAP();
	w = pipe_wmap(fds, 2 * XMMAP_SIZE);
	CHECK(w != 0, "pipe and mmap of its write end", 0);
	fill(w, 0, XMMAP_SIZE - 100);
	s.n = XMMAP_SIZE - 100;
	s.target = XMMAP_SIZE + 100;	/* needs the reader: it never comes */
	alarm_seen = 0;
	set_handler(SIGALRM, on_alarm, 0);
	s_alarm(1);
	r = s_ioctl(fds[1], XMMAP_COMMITWAIT, &s);
	CHECK(r == -EINTR && alarm_seen == 1, "interrupted wait", r);
	CHECK(s.n == 0, "n := 0: the commit is done", s.n);
	s_alarm(1);
	r = s_ioctl(fds[1], XMMAP_COMMITWAIT, &s);	/* the same step again */
	CHECK(r == -EINTR, "interrupted again", r);
	CHECK(getpos(fds[1], &p) == 0 && p.wpos == XMMAP_SIZE - 100, "committed once", p.wpos);
	CHECK(rpat(fds[0], 0, XMMAP_SIZE - 100) == XMMAP_SIZE - 100, "the bytes", 0);
	OK("a step interrupted in its wait (EINTR) has committed once; repeating it commits nothing more");
}

/* one fault per step: the second lap's writer fault maps the whole window */
static int m_stats_step(long a)
{
	int fds[2];
	struct xmmap_stats s0, s1;
	unsigned char *w, *r;
	NEED_XMMAP();
	CHECK(pipe_maps(fds, 3 * XMMAP_SIZE, &r, &w), "pipe and mmap of both ends", 0);
	CHECK(pump(fds[0], fds[1], w, r, 0, XMMAP_SIZE, XMMAP_SIZE, -1) == 0, "first lap", 0);
	CHECK(stats(fds[0], &s0) == 0, "GETSTATS", 0);
	CHECK(pump(fds[0], fds[1], w, r, XMMAP_SIZE, XMMAP_SIZE, XMMAP_SIZE, -1) == 0, "second lap", 0);
	CHECK(stats(fds[0], &s1) == 0, "GETSTATS", 0);
	CHECK(s1.faults_write - s0.faults_write == 1, "writer faults for 16 pages", s1.faults_write - s0.faults_write);
	CHECK(s1.faults_read - s0.faults_read == 1, "reader faults for 16 pages", s1.faults_read - s0.faults_read);
	CHECK(s1.prefaulted - s0.prefaulted == 30, "pages mapped ahead", s1.prefaulted - s0.prefaulted);
	CHECK(s1.pages_alloc == s0.pages_alloc && s1.pages_zeroed == s0.pages_zeroed,
	      "second lap took or zeroed pages", s1.pages_alloc - s0.pages_alloc);
	CHECK(s1.pages_reused - s0.pages_reused == 16, "pages reused", s1.pages_reused - s0.pages_reused);
	OK("second lap of 16 pages: one fault per end, 30 ptes set ahead, no page allocated or zeroed");
}

/* ---- limits (patches/xmmap/0006): no hang, no exhaustion ---- */

/* waitpid that gives up after ms milliseconds: the status, or -2 if still running */
static long wait_ms(long pid, long ms)
{
	int st = 0;
	long r, t;
	for (t = 0; t <= ms; t += 50) {
		r = s_waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return st;
		if (r < 0 && r != -EINTR)
			return -1;
		msleep(50);
	}
	return -2;
}

/* R-CORE-1: a writer dumping core does not read (or wait in) its pipe mappings */
static int core_child(long arg)
{
	int fd = arg & 0xff, rep = (arg >> 8) & 0xff;
	struct rlimit rl;
	volatile unsigned char *w = mapw(fd, 0, 4 * XMMAP_SIZE);
	unsigned long a = (unsigned long) w;
	if (!w)
		return 3;
	rl.rlim_cur = rl.rlim_max = 1UL << 24;
	if (s_setrlimit(RLIMIT_CORE, &rl) != 0)
		return 4;
	if (s_chdir("/tmp") != 0 && s_chdir("/") != 0)
		return 5;
	w[0] = 1;			/* present pages, and beyond them the limit */
	w[XMMAP_SIZE - 1] = 2;
	if (s_write(rep, &a, sizeof(a)) != sizeof(a))
		return 6;
	s_kill(s_getpid(), SIGQUIT);	/* default action: core dump */
	return 7;
}

static int m_core_dump(long a)
{
	int fds[2], rep[2], i, fd;
	long pid, st;
	unsigned long addr = 0, phoff, phnum, phent;
	static unsigned char b[4096];
	struct xmmap_pos p;
	int found = 0;
	NEED_XMMAP();
	s_pipe(fds);
	s_pipe(rep);
	s_unlink("/tmp/core");
	s_unlink("/core");
	pid = spawn(core_child, fds[1] | (rep[1] << 8));
	st = wait_ms(pid, 10000);
	if (st == -2) {
		s_close(fds[0]);	/* no reader: the dump's faults give up */
		s_kill(pid, SIGKILL);
		wait_st(pid);
		return fail_at("a core dump of a process with a write mapping still waits after 10 s", 0, __LINE__);
	}
	CHECK(KILLED(st, SIGQUIT), "status of the dumping writer", st);
	CHECK(st & 0x80, "no core dumped (status)", st);
	CHECK(s_read(rep[0], &addr, sizeof(addr)) == sizeof(addr), "address of the mapping", 0);
	fd = s_open("/tmp/core", O_RDONLY, 0);
	if (fd < 0)
		fd = s_open("/core", O_RDONLY, 0);
	CHECK(fd >= 0, "open core", fd);
	CHECK(s_read(fd, b, sizeof(b)) > 52, "read core", 0);
	s_close(fd);
	CHECK(b[0] == 0x7f && b[1] == 'E' && b[16] == 4, "not an ELF core file", b[16]);
	phoff = *(unsigned long *) (b + 28);
	phent = *(unsigned short *) (b + 42);
	phnum = *(unsigned short *) (b + 44);
	CHECK(phent == 32 && phoff + phnum * phent <= sizeof(b), "program headers", phnum);
	for (i = 0; i < (int) phnum; i++) {
		unsigned long *ph = (unsigned long *) (b + phoff + i * phent);
		if (ph[0] != 1 || ph[2] != addr)
			continue;
		found = 1;
		CHECK(ph[4] == 0, "the core holds bytes of the pipe mapping: p_filesz", ph[4]);
		CHECK(ph[5] == 4 * XMMAP_SIZE, "p_memsz of the pipe mapping", ph[5]);
	}
	CHECK(found, "no program header for the pipe mapping", addr);
	s_unlink("/tmp/core");
	s_unlink("/core");
	CHECK(getpos(fds[0], &p) == 0 && p.rpos == 0 && p.wpos == 0, "the dump moved positions", p.wpos);
	CHECK(wpat(fds[1], 0, 100) == 100 && rpat(fds[0], 0, 100) == 100, "pipe after the dump", 0);
	OK("a core dump does not wait in a write mapping: its header has p_filesz 0; nothing consumed or committed");
}

/* R-MAP-8: mlock, mlockall ignore pipe mappings */
static int m_mlock(long a)
{
	int A[2], B[2];
	struct xmmap_stats s0, s1;
	struct rlimit rl;
	unsigned char *w, *r;
	long e;
	NEED_XMMAP();
	s_pipe(A);
	s_pipe(B);
	w = mapw(A[1], 0, 1UL << 20);
	r = mapr(A[0], 0, 1UL << 20);
	CHECK(w && r, "mmap of both ends", 0);
	CHECK(wpat(A[1], 0, 100) == 100, "write", 0);
	CHECK(stats(A[0], &s0) == 0, "GETSTATS", 0);
	s_alarm(5);
	e = s_mlockall(MCL_CURRENT | MCL_FUTURE);
	CHECK(e == 0, "mlockall(MCL_CURRENT | MCL_FUTURE)", e);
	CHECK(stats(A[0], &s1) == 0, "GETSTATS", 0);
	CHECK(s1.faults_read == s0.faults_read && s1.faults_write == s0.faults_write,
	      "mlockall faulted pipe pages in", s1.faults_write - s0.faults_write);
	CHECK(s1.pages_alloc == s0.pages_alloc, "mlockall allocated pipe pages", s1.pages_alloc - s0.pages_alloc);
	rl.rlim_cur = rl.rlim_max = 4UL << 20;
	CHECK(s_setrlimit(RLIMIT_MEMLOCK, &rl) == 0, "setrlimit", 0);
	e = s_mmap(0, 16UL << 20, PROT_READ, MAP_SHARED, B[0], 0);
	CHECK(!is_err(e), "pipe mmap of 16 MiB under MCL_FUTURE and RLIMIT_MEMLOCK 4 MiB", e);
	e = s_mlock(r, 1UL << 20);
	CHECK(e == 0, "mlock of a pipe mapping", e);
	e = s_mlockall(MCL_CURRENT);
	CHECK(e == 0, "mlockall with 18 MiB of pipe mappings under RLIMIT_MEMLOCK 4 MiB", e);
	CHECK(s_munlock(r, 1UL << 20) == 0 && s_munlockall() == 0, "munlock, munlockall", 0);
	s_alarm(0);
	CHECK(cpat(r, 0, 100), "data", 0);
	CHECK(s_ioctl(A[0], XMMAP_CONSUME, 100) == 0, "consume", 0);
	CHECK(wpat(A[1], 100, 5000) == 5000 && cpat(r + 100, 100, 5000), "pipe after mlock", 0);
	OK("mlockall/mlock ignore pipe mappings: no fault, no wait, no RLIMIT_MEMLOCK charge, later mmap works");
}

/* R-BUF-1: read()/write() whose buffer is a mapping of the same pipe that would wait */
static int m_buf_self(long a)
{
	int fds[2];
	unsigned char *r, *w;
	struct xmmap_pos p;
	long e;
	NEED_XMMAP();
	CHECK(pipe_maps(fds, 4 * XMMAP_SIZE, &r, &w), "pipe and mmap of both ends", 0);
	CHECK(wpat(fds[1], 0, 10) == 10, "write", 0);
	set_handler(SIGALRM, count_sig, 0);
	s_alarm(3);
	e = s_write(fds[1], r + 2 * PAGE, 100);
	CHECK(e == -EFAULT, "write() from its own read mapping past wpos", e);
	CHECK(getpos(fds[0], &p) == 0 && p.wpos == 10, "bytes written", p.wpos);
	e = s_read(fds[0], w + XMMAP_SIZE + 100, 10);
	CHECK(e == -EFAULT, "read() into its own write mapping past the limit", e);
	CHECK(fionread(fds[0]) == 10, "bytes consumed", fionread(fds[0]));
	e = s_write(fds[1], r + 3, 5);		/* committed bytes: fine */
	CHECK(e == 5, "write() from its own read mapping of committed bytes", e);
	CHECK(sigcount == 0, "signals", sigcount);
	s_alarm(0);
	CHECK(rpat(fds[0], 0, 10) == 10 && rpat(fds[0], 3, 5) == 5, "stream", 0);
	OK("read()/write() that would wait for themselves in their pipe's mapping: EFAULT, nothing moved");
}

/* R-BUF-2: a buffer in a mapping that gives SIGBUS: EFAULT, nothing consumed (classic and mapped) */
static int m_buf_sigbus(long a)
{
	int A[2], B[2], C[2], D[2], mode;
	unsigned char *wb, *rc, *wd;
	long e;
	NEED_XMMAP();
	s_pipe(A);
	s_pipe(B);
	s_pipe(C);
	s_pipe(D);
	wb = mapw(B[1], 0, 2 * XMMAP_SIZE);
	s_close(B[0]);				/* B: no readers */
	CHECK(wpat(C[1], 0, 10) == 10, "write C", 0);
	rc = mapr(C[0], 0, 2 * PAGE);
	s_close(C[1]);				/* C: EOF at 10 */
	CHECK(s_ioctl(D[0], XMMAP_CONSUME, 0) == 0, "switch D", 0);
	CHECK(wpat(D[1], 0, 2 * PAGE) == 2 * PAGE && rpat(D[0], 0, 2 * PAGE) == 2 * PAGE, "D", 0);
	wd = mapw(D[1], 0, 3 * PAGE);		/* D: pages 0, 1 consumed */
	CHECK(wb && rc && wd, "mmaps", 0);
	set_handler(SIGBUS, count_sig, 0);
	CHECK(wpat(A[1], 0, 100) == 100, "write A", 0);
	for (mode = 0; mode < 2; mode++) {	/* A classic, then mapped */
		e = s_read(A[0], wb + XMMAP_SIZE + 100, 100);
		CHECK(e == -EFAULT, "read() into a write mapping without readers", e);
		e = s_read(A[0], wd + 50, 100);
		CHECK(e == -EFAULT, "read() into consumed positions of a write mapping", e);
		CHECK(fionread(A[0]) == 100, "bytes consumed by the failed reads", fionread(A[0]));
		e = s_write(A[1], rc + PAGE, 100);
		CHECK(e == -EFAULT, "write() from a read mapping past EOF", e);
		CHECK(fionread(A[0]) == 100, "bytes written by the failed write", fionread(A[0]));
		CHECK(s_ioctl(A[0], XMMAP_CONSUME, 0) == 0, "switch A", 0);
	}
	CHECK(sigcount == 0, "SIGBUS delivered", sigcount);
	CHECK(rpat(A[0], 0, 100) == 100, "A's bytes", 0);
	OK("a buffer in a mapping that would give SIGBUS: EFAULT, nothing consumed or written, no signal");
}

/* R-LEN-8: targets relative to rpos, within 2 GiB either side */
static int m_wait_targets(long a)
{
	int fds[2];
	unsigned long t, rp = 5000, half = 1UL << 31;
	struct xmmap_step s;
	long r;
	NEED_XMMAP();
	s_pipe(fds);
	CHECK(s_ioctl(fds[0], XMMAP_CONSUME, 0) == 0, "switch", 0);
	CHECK(wpat(fds[1], 0, 10000) == 10000 && rpat(fds[0], 0, rp) == (long) rp, "rpos 5000, wpos 10000", 0);
	nonblock(fds[0]);
	nonblock(fds[1]);
	t = rp + half + 7;		/* behind rpos by 2 GiB - 7 */
	r = s_ioctl(fds[0], XMMAP_WAITDATA, &t);
	CHECK(r == 0 && t == 10000, "WAITDATA, target 2 GiB + 7 ahead (= behind)", r);
	t = rp - 1;
	r = s_ioctl(fds[0], XMMAP_WAITDATA, &t);
	CHECK(r == 0 && t == 10000, "WAITDATA, target just behind rpos", r);
	t = rp + half - 1;		/* ahead, beyond the window */
	r = s_ioctl(fds[0], XMMAP_WAITDATA, &t);
	CHECK(r == -EAGAIN, "WAITDATA, target 2 GiB - 1 ahead", r);
	t = rp + half + 7;
	r = s_ioctl(fds[1], XMMAP_WAITSPACE, &t);
	CHECK(r == 0 && t == PAGE + XMMAP_SIZE, "WAITSPACE, target behind rpos", r);
	t = 8192 + XMMAP_SIZE;		/* (wpos & ~4095) + 64 KiB: reachable */
	r = s_ioctl(fds[1], XMMAP_WAITSPACE, &t);
	CHECK(r == -EAGAIN, "WAITSPACE, the farthest reachable target", r);
	t = 8192 + XMMAP_SIZE + 1;
	r = s_ioctl(fds[1], XMMAP_WAITSPACE, &t);
	CHECK(r == -EINVAL, "WAITSPACE, one past it", r);
	t = rp + half - 1;
	r = s_ioctl(fds[1], XMMAP_WAITSPACE, &t);
	CHECK(r == -EINVAL, "WAITSPACE, target 2 GiB - 1 ahead", r);
	s.n = 0;
	s.target = rp + half;		/* exactly 2 GiB: behind */
	r = s_ioctl(fds[0], XMMAP_CONSUMEWAIT, &s);
	CHECK(r == 0 && s.target == 10000, "CONSUMEWAIT, target 2 GiB ahead (= behind)", r);
	s.n = 0;
	s.target = rp + half;
	r = s_ioctl(fds[1], XMMAP_COMMITWAIT, &s);
	CHECK(r == 0 && s.target == PAGE + XMMAP_SIZE, "COMMITWAIT, target behind", r);
	OK("wait targets are read relative to rpos: behind (or 2 GiB+ ahead) reached; ahead compared by distance");
}

/* R-LIM-1: unprivileged mapped pipes are limited; the machine stays usable */
struct limres {
	long pages, err, fault_st, wr, commit, mem;
};

static int limit_child(long arg)
{
	int rep = arg & 0xff, go = (arg >> 8) & 0xff, P[2], fds[2], i;
	struct limres res;
	unsigned char *wp, *buf;
	char c;
	long e, st;
	memset(&res, 0, sizeof(res));
	if (s_setuid(1000) != 0)
		return 3;
	s_pipe(P);
	wp = mapw(P[1], 0, XMMAP_SIZE);		/* P: one page, room for more */
	if (!wp)
		return 4;
	for (i = 0; i < 1000; i++) {
		long m;
		if (s_pipe(fds) != 0)
			return 5;
		m = s_mmap(0, XMMAP_SIZE, PROT_READ, MAP_SHARED, fds[0], 0);
		if (is_err(m)) {
			res.err = m;
			s_close(fds[0]);
			s_close(fds[1]);
			break;
		}
		e = s_ioctl(fds[1], XMMAP_COMMIT, XMMAP_SIZE);
		s_close(fds[0]);
		s_close(fds[1]);		/* the mapping keeps the pages */
		if (e != 0) {
			struct xmmap_pos p;
			(void) p;
			res.err = e;
			res.pages += 1;		/* at least the pipe's first page */
			break;
		}
		res.pages += XMMAP_PAGES;
	}
	st = s_fork();
	if (st == 0) {
		volatile unsigned char *q = wp;
		q[5 * PAGE] = 1;		/* a page the pipe does not have yet */
		s_exit(0);
	}
	res.fault_st = wait_st(st);
	buf = (unsigned char *) s_mmap(0, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (is_err((long) buf))
		return 6;
	res.wr = s_write(P[1], buf, 2 * PAGE);
	res.commit = s_ioctl(P[1], XMMAP_COMMIT, PAGE + 100);
	res.mem = memfree();
	if (s_write(rep, &res, sizeof(res)) != sizeof(res))
		return 7;
	s_read(go, &c, 1);			/* hold everything until told */
	return 0;
}

static int limit_round(struct limres *res, long *pid, int *go)
{
	int rep[2], g[2];
	s_pipe(rep);
	s_pipe(g);
	*pid = spawn(limit_child, rep[1] | (g[0] << 8));
	s_close(rep[1]);
	s_close(g[0]);
	*go = g[1];
	return s_read(rep[0], res, sizeof(*res)) == sizeof(*res);
}

static int m_limit(long a)
{
	struct limres r1, r2;
	long pid, st, total = meminfo(1), mem0 = memfree(), mem1;
	int go, fds[2];
	NEED_XMMAP();
	CHECK(total > 0 && mem0 > 0, "/proc/meminfo", total);
	CHECK(limit_round(&r1, &pid, &go), "first unprivileged child reported nothing", 0);
	CHECK(r1.err == -ENOMEM, "what refused the last pipe (mmap or commit)", r1.err);
	CHECK(r1.pages >= 64, "pages before the limit", r1.pages);
	CHECK(r1.pages * (long) PAGE <= total / 4 + (1L << 20), "pages held beyond a quarter of memory", r1.pages);
	CHECK(KILLED(r1.fault_st, SIGBUS), "write fault at the limit", r1.fault_st);
	CHECK(r1.wr == (long) PAGE, "write() at the limit (bytes)", r1.wr);
	CHECK(r1.commit == -ENOMEM, "commit at the limit", r1.commit);
	CHECK(r1.mem >= total / 4, "free memory at the limit below a quarter", r1.mem);
	/* root is not refused */
	s_pipe(fds);
	CHECK(mapr(fds[0], 0, XMMAP_SIZE) != 0, "root's mmap at the limit", 0);
	CHECK(s_ioctl(fds[1], XMMAP_COMMIT, XMMAP_SIZE) == 0, "root's commit at the limit", 0);
	s_close(fds[0]);
	s_close(fds[1]);
	s_write(go, "x", 1);
	st = wait_st(pid);
	CHECK(EXITED(st, 0), "first child", st);
	/* root's pipe is still mapped (its 16 pages count); what the child held came back */
	CHECK(limit_round(&r2, &pid, &go), "second unprivileged child reported nothing", 0);
	s_write(go, "x", 1);
	st = wait_st(pid);
	CHECK(EXITED(st, 0), "second child", st);
	CHECK(r2.pages + 2 * XMMAP_PAGES >= r1.pages - XMMAP_PAGES, "pages of a second user after the first exited",
	      r2.pages);
	mem1 = memfree();
	CHECK(mem1 + (256L << 10) >= mem0 - XMMAP_SIZE, "memory not given back", (mem0 - mem1) >> 10);
	OK("unprivileged mapped pipes stop at a quarter of memory (ENOMEM, SIGBUS, short write); root exempt; pages come back");
}

/* R-OPEN-3: positions wrap at 2^32; read()/write(), waits and mappings go on across the wrap */
static int m_pos_wrap(long a)
{
	int fds[2];
	unsigned long i, start = 0UL - 2000;
	struct xmmap_pos p;
	unsigned long t;
	unsigned char *r;
	NEED_XMMAP();
	s_pipe(fds);
	CHECK(s_ioctl(fds[0], XMMAP_CONSUME, 0) == 0, "switch", 0);
	for (i = 0; i < 65535; i++)
		if (s_ioctl(fds[1], XMMAP_COMMIT, XMMAP_SIZE) != 0 || s_ioctl(fds[0], XMMAP_CONSUME, XMMAP_SIZE) != 0)
			return fail_at("lap", i, __LINE__);
	CHECK(s_ioctl(fds[1], XMMAP_COMMIT, XMMAP_SIZE - 2000) == 0, "commit", 0);
	CHECK(s_ioctl(fds[0], XMMAP_CONSUME, XMMAP_SIZE - 2000) == 0, "consume", 0);
	CHECK(getpos(fds[0], &p) == 0 && p.rpos == start && p.wpos == start, "positions 2^32 - 2000", p.rpos);
	CHECK(wpat(fds[1], start, 5000) == 5000, "write() across the wrap", 0);
	CHECK(getpos(fds[0], &p) == 0 && p.wpos == 3000, "wpos after the wrap", p.wpos);
	CHECK(p.limit == (start & ~(PAGE - 1)) + XMMAP_SIZE, "limit", p.limit);
	CHECK(fionread(fds[0]) == 5000, "FIONREAD across the wrap", fionread(fds[0]));
	t = 2990;
	CHECK(s_ioctl(fds[0], XMMAP_WAITDATA, &t) == 0 && t == 3000, "WAITDATA, target past the wrap", t);
	CHECK(rpat(fds[0], start, 5000) == 5000, "read() across the wrap", 0);
	CHECK(wpat(fds[1], 3000, 100) == 100, "write()", 0);
	r = mapr(fds[0], 3000, 100);
	CHECK(r && cpat(r, 3000, 100), "a mapping after the wrap", 0);
	CHECK(s_ioctl(fds[0], XMMAP_CONSUME, 100) == 0 && fionread(fds[0]) == 0, "consume", 0);
	OK("a 4 GiB stream wraps: write(), read(), FIONREAD, WAITDATA and mappings at positions past 2^32");
}

/* R-BUF-3: buffers in another pipe's mapping, and an ioctl's result in a write mapping */
static int m_buf_other_pipe(long a)
{
	int A[2], B[2];
	unsigned char *wb, *rb;
	struct xmmap_pos p;
	long e;
	NEED_XMMAP();
	s_pipe(A);
	s_pipe(B);
	wb = mapw(B[1], 0, 2 * XMMAP_SIZE);
	rb = mapr(B[0], 0, 2 * XMMAP_SIZE);
	CHECK(wb && rb, "mmap", 0);
	CHECK(wpat(A[1], 0, 3000) == 3000, "write A", 0);
	e = s_read(A[0], wb + 100, 3000);	/* straight into B's page */
	CHECK(e == 3000, "read() of A into B's write mapping", e);
	CHECK(s_ioctl(B[1], XMMAP_COMMIT, 3100) == 0, "commit B", 0);
	CHECK(cpat(rb + 100, 0, 3000), "B's read mapping", 0);
	e = s_write(A[1], rb + 100, 3000);	/* and back from B's read mapping */
	CHECK(e == 3000 && rpat(A[0], 0, 3000) == 3000, "write() to A from B's read mapping", e);
	e = getpos(B[1], (struct xmmap_pos *) (wb + 3100));
	CHECK(e == 0, "GETPOS into the pipe's own write mapping", e);
	CHECK(s_ioctl(B[1], XMMAP_COMMIT, sizeof(p)) == 0, "commit the struct", 0);
	CHECK(s_ioctl(B[0], XMMAP_CONSUME, 3100) == 0, "consume", 0);
	CHECK(s_read(B[0], &p, sizeof(p)) == sizeof(p), "read the struct", 0);
	CHECK(p.rpos == 0 && p.wpos == 3100 && (p.flags & XMMAP_F_MAPPED), "GETPOS as stored in the pipe", p.wpos);
	e = getpos(B[0], (struct xmmap_pos *) rb);
	CHECK(e == -EFAULT, "GETPOS into a read mapping", e);
	OK("read()/write() to and from another pipe's mappings copy in place; an ioctl stores into a write mapping");
}

/* R-BUF-1: read() into its own write mapping ahead of the limit: the copy's own consumption makes room */
static int m_buf_own_ahead(long a)
{
	int fds[2];
	unsigned char *r, *w;
	long e;
	NEED_XMMAP();
	CHECK(pipe_maps(fds, 2 * XMMAP_SIZE, &r, &w), "pipe and mmap of both ends", 0);
	CHECK(wpat(fds[1], 0, 8000) == 8000, "write", 0);
	e = s_read(fds[0], w + 60000, 8000);	/* ends 2464 bytes past the limit of the start */
	CHECK(e == 8000, "read() into its own write mapping, through the moving limit", e);
	CHECK(s_ioctl(fds[1], XMMAP_COMMIT, 60000) == 0, "commit up to 68000", 0);
	CHECK(cpat(r + 60000, 0, 8000), "the bytes at 60000..67999", 0);
	e = s_read(fds[0], w + 60000 + XMMAP_SIZE, 100);	/* 56000 bytes, all past any limit */
	CHECK(e == -EFAULT, "read() into its own write mapping beyond reach", e);
	CHECK(fionread(fds[0]) == 60000, "consumed", fionread(fds[0]));
	OK("read() into its own write mapping: allowed where its own consumption makes room, else EFAULT");
}

struct tcase {
	const char *id, *rule;
	int classic;
	int (*fn)(long);
};

static struct tcase cases[] = {
	{ "c-atomic", "C-ATOM-1", 1, c_atomic },
	{ "c-eof", "C-EOF-1", 1, c_eof },
	{ "c-epipe", "C-PIPE-1", 1, c_epipe },
	{ "c-sigpipe-default", "C-PIPE-2", 1, c_sigpipe_default },
	{ "c-nonblock-read", "C-NB-1", 1, c_nb_read },
	{ "c-nonblock-write", "C-NB-2", 1, c_nb_write },
	{ "c-select-read", "C-SEL-1", 1, c_sel_read },
	{ "c-select-write", "C-SEL-2", 1, c_sel_write },
	{ "c-fionread-fstat", "C-LEN-1", 1, c_fionread },
	{ "c-lseek", "C-SEEK-1", 1, c_lseek },
	{ "c-blocking-read", "C-WAIT-1", 1, c_block_read },
	{ "c-read-eintr", "C-SIG-1", 1, c_read_eintr },
	{ "c-large-write", "C-ATOM-2", 1, c_large_write },
	{ "m-basic", "R-MAP-1", 0, m_basic },
	{ "m-byte-offset", "R-MAP-2", 0, m_phase },
	{ "m-unknown-length", "R-MAP-3", 0, m_unknown_len },
	{ "m-fixed", "R-MAP-4", 0, m_fixed },
	{ "m-offset-consumed", "R-MAP-5", 0, m_offset_consumed },
	{ "m-wait-fault", "R-WAIT-1", 0, m_wait_fault },
	{ "m-partial-page", "R-WAIT-2", 0, m_partial },
	{ "m-write-wait-space", "R-WAIT-3", 0, m_write_wait },
	{ "m-write-no-readers", "R-WAIT-4", 0, m_write_noreaders },
	{ "m-eof-sigbus", "R-EOF-1", 0, m_eof_sigbus },
	{ "m-eof-tail-zero", "R-EOF-2", 0, m_eof_tail },
	{ "m-lifetime", "R-EOF-3", 0, m_life },
	{ "m-getpos", "R-LEN-1", 0, m_getpos },
	{ "m-waitdata", "R-LEN-2", 0, m_waitdata },
	{ "m-waitdata-eof", "R-LEN-3", 0, m_waitdata_eof },
	{ "m-waitdata-full", "R-LEN-4", 0, m_waitdata_full },
	{ "m-fionread-fstat", "R-LEN-5", 0, m_fionread },
	{ "m-waitspace", "R-LEN-6", 0, m_waitspace },
	{ "m-consume", "R-CONS-1", 0, m_consume },
	{ "m-consume-withdraws", "R-CONS-3", 0, m_consume_zap },
	{ "m-consume-own-mapping", "R-CONS-3", 0, m_consume_zap_own_wrap },
	{ "m-consume-frees-space", "R-CONS-4", 0, m_consume_space },
	{ "m-munmap-keeps", "R-CONS-5", 0, m_munmap_keeps },
	{ "m-commit", "R-COMMIT-1", 0, m_commit },
	{ "m-commit-einval", "R-COMMIT-2", 0, m_commit_einval },
	{ "m-write-overwrites", "R-COMMIT-3", 0, m_write_overwrites },
	{ "m-commit-epipe", "R-COMMIT-4", 0, m_commit_epipe },
	{ "m-commit-zero", "R-COMMIT-5", 0, m_commit_zero },
	{ "m-zero-copy", "R-COPY-1", 0, m_zero_copy },
	{ "m-mix-write", "R-MIX-1", 0, m_mix_write },
	{ "m-atomic", "R-MIX-2", 0, m_atomic },
	{ "m-multi", "R-MULTI-1", 0, m_multi },
	{ "m-fork", "R-FORK-1", 0, m_fork },
	{ "m-sig-retry", "R-SIG-1", 0, m_sig_retry },
	{ "m-sig-kill", "R-SIG-2", 0, m_sig_kill },
	{ "m-kernel-fault", "R-SIG-3", 0, m_kfault },
	{ "m-select", "R-SEL-2", 0, m_sel_mapped },
	{ "m-nonblock", "R-NB-1", 0, m_nonblock },
	{ "m-prot-read-end", "R-PROT-1", 0, m_prot_rd },
	{ "m-prot-write-end", "R-PROT-2", 0, m_prot_wr },
	{ "m-prot-none", "R-PROT-3", 0, m_prot_none },
	{ "m-bad-args", "R-ERR-1", 0, m_err_args },
	{ "m-bad-fd-end", "R-ERR-2", 0, m_err_fd },
	{ "m-fifo", "R-FIFO-1", 0, m_fifo },
	{ "m-fifo-rdwr", "R-MAP-7", 0, m_fifo_rdwr },
	{ "m-switch-wrapped", "R-MODE-1", 0, m_convert_wrap },
	{ "m-capacity", "R-CAP-1", 0, m_capacity },
	{ "m-streams", "R-STREAM-1", 0, m_streams },
	{ "m-stats", "R-STATS-1", 0, m_stats },
	{ "m-stats-errors", "R-STATS-2", 0, m_stats_err },
	{ "m-reuse-laps", "R-REUSE-1", 0, m_reuse_laps },
	{ "m-reuse-boundary", "R-COMMIT-5", 0, m_reuse_boundary },
	{ "m-reuse-other-pipe", "R-REUSE-1", 0, m_reuse_other_pipe },
	{ "m-reuse-withdraws", "R-EOF-4", 0, m_reuse_zap },
	{ "m-fifo-reopen", "R-REUSE-2", 0, m_fifo_reopen },
	{ "m-fifo-reopen-later", "R-REUSE-2", 0, m_fifo_reopen_later },
	{ "m-proc-reopen", "R-REUSE-2", 0, m_proc_reopen },
	{ "m-uncommitted-exit", "R-COMMIT-6", 0, m_uncommitted_exit },
	{ "m-uncommitted-munmap", "R-COMMIT-6", 0, m_uncommitted_munmap },
	{ "m-fifo-reopen-stores", "R-REUSE-2", 0, m_fifo_reopen_stores },
	{ "m-consumewait", "R-STEP-1", 0, m_consumewait },
	{ "m-commitwait", "R-STEP-2", 0, m_commitwait },
	{ "m-step-eintr", "R-STEP-3", 0, m_step_eintr },
	{ "m-stats-step", "R-STATS-3", 0, m_stats_step },
	{ "m-core-dump", "R-CORE-1", 0, m_core_dump },
	{ "m-mlock", "R-MAP-8", 0, m_mlock },
	{ "m-buf-self", "R-BUF-1", 0, m_buf_self },
	{ "m-buf-sigbus", "R-BUF-2", 0, m_buf_sigbus },
	{ "m-wait-targets", "R-LEN-8", 0, m_wait_targets },
	{ "m-limit", "R-LIM-1", 0, m_limit },
	{ "m-pos-wrap", "R-OPEN-3", 0, m_pos_wrap },
	{ "m-buf-other-pipe", "R-BUF-3", 0, m_buf_other_pipe },
	{ "m-buf-own-ahead", "R-BUF-1", 0, m_buf_own_ahead },
};

#define NCASES ((int) (sizeof(cases) / sizeof(cases[0])))

/* the child: runs one case and prints its line */
static int run_case(long i)
{
	int r;
	static const char *word[] = { "PASS", "FAIL", "REFUSED" };
	note_len = 0;
	note_buf[0] = 0;
	r = cases[i].fn(0);
	if (r < 0 || r > 2)
		r = 1;
	out_s(word[r]);
	out_c(' ');
	out_s(cases[i].id);
	out_c(' ');
	out_s(cases[i].rule);
	out_c(' ');
	out_s(note_buf);
	out_c('\n');
	return r;
}

static void bench(void);

int main(int argc, char **argv, char **envp)
{
	int i, pass = 0, fail = 0, refused = 0, classic_bad = 0, init = s_getpid() == 1;
	int do_bench = 0, selected = 0, rounds = 0;
	long mem0, mem1;
	int fds[2];
	struct xmmap_pos pos;

	if (init) {
		init_console();
		sys5(NR_mount, (long) "none", (long) "/proc", (long) "proc", 0xC0ED0000, 0);
		fifo_path = "/xmmap-fifo";
		for (i = 0; envp && envp[i]; i++)
			if (strcmp(envp[i], "conformance_bench=1") == 0)
				do_bench = 1;
	}
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "bench") == 0)
			do_bench = 1;
		else
			selected = 1;
	}
	s_pipe(fds);
	xmm = getpos(fds[0], &pos) == 0;
	s_close(fds[0]);
	s_close(fds[1]);
	out_s("conformance: kernel ");
	out_s(xmm ? "has xmmap" : "has no xmmap");
	out_s(", ");
	out_d(NCASES);
	out_s(" cases\n");
	mem0 = memfree();
again:
	pass = fail = refused = classic_bad = 0;
	for (i = 0; i < NCASES; i++) {
		long pid, st;
		int r;
		if (selected) {
			int j, want = 0;
			for (j = 1; j < argc; j++)
				if (strcmp(argv[j], cases[i].id) == 0)
					want = 1;
			if (!want)
				continue;
		}
		pid = s_fork();
		if (pid == 0) {
			s_alarm(20);
			s_exit(run_case(i));
		}
		st = wait_st(pid);
		if ((st & 0x7f) == 0 && ((st >> 8) & 0xff) <= 2)
			r = (st >> 8) & 0xff;
		else {
			r = 1;
			out_s("FAIL ");
			out_s(cases[i].id);
			out_c(' ');
			out_s(cases[i].rule);
			out_s(" case process ended by signal ");
			out_d(st & 0x7f);
			out_s(st == -1 ? " (waitpid failed)\n" : "\n");
		}
		if (r == 0)
			pass++;
		else if (r == 2)
			refused++;
		else
			fail++;
		if (cases[i].classic && r != 0)
			classic_bad++;
	}
	mem1 = memfree();
	out_s("SUMMARY kernel=");
	out_s(xmm ? "xmmap" : "vanilla");
	out_s(" pass=");
	out_d(pass);
	out_s(" fail=");
	out_d(fail);
	out_s(" refused=");
	out_d(refused);
	out_s(" total=");
	out_d(pass + fail + refused);
	out_s(" verdict=");
	out_s((fail == 0 && classic_bad == 0 && (!xmm ? 1 : refused == 0)) ? "OK" : "BAD");
	out_s(" memfree_before=");
	out_d(mem0);
	out_s(" memfree_after=");
	out_d(mem1);
	out_c('\n');
	if (init && rounds++ == 0) {
		/* a second round: free memory must come back to its level */
		mem0 = mem1;
		goto again;
	}
	if (do_bench)
		bench();
	if (init) {
		out_s("conformance: done, rebooting\n");
		s_sync();
		s_reboot(0xfee1dead, 672274793, 0x01234567);
		for (;;)
			msleep(1000);
	}
	return fail != 0;
}

/* ================= throughput ================= */

#define BENCH_BYTES (32UL << 20)

static unsigned long consume_sum(const volatile unsigned char *p, unsigned long n)
{
	unsigned long s = 0, i;
	for (i = 0; i < n; i += 4)
		s += *(const volatile unsigned long *) (p + i);
	return s;
}

static int rw_writer(long chunk)
{
	static unsigned char b[65536];
	unsigned long done = 0;
	unsigned char v = 0;
	while (done < BENCH_BYTES) {
		long r;
		memset(b, v++, chunk);		/* produce the data */
		r = s_write(1, b, chunk);
		if (r != chunk)
			return 1;
		done += r;
	}
	return 0;
}

static int mm_writer(long chunk)
{
	unsigned char *w = mapw(1, 0, BENCH_BYTES);
	unsigned long pos = 0, t;
	unsigned char v = 0;
	if (!w)
		return 2;
	while (pos < BENCH_BYTES) {
		t = pos + chunk;
		if (s_ioctl(1, XMMAP_WAITSPACE, &t) != 0)
			return 3;
		memset(w + pos, v++, chunk);	/* produce the data in place */
		if (s_ioctl(1, XMMAP_COMMIT, chunk) != 0)
			return 4;
		pos += chunk;
	}
	return 0;
}

static void bench_one(int mm, long chunk)
{
	int fds[2];
	long pid, t0, t1, st;
	unsigned long done = 0, sum = 0;
	static unsigned char b[65536];

	s_pipe(fds);
	t0 = now_ms();
	pid = s_fork();
	if (pid == 0) {
		s_close(fds[0]);
		s_dup2(fds[1], 1);
		s_exit(mm ? mm_writer(chunk) : rw_writer(chunk));
	}
	s_close(fds[1]);
	if (mm) {
		unsigned char *p = mapr(fds[0], 0, BENCH_BYTES);
		while (p && done < BENCH_BYTES) {
			unsigned long t = done + chunk;
			long r = s_ioctl(fds[0], XMMAP_WAITDATA, &t);
			if (r < 0 || t <= done)
				break;
			if (t > done + chunk)
				t = done + chunk;
			sum += consume_sum(p + done, t - done);
			s_ioctl(fds[0], XMMAP_CONSUME, t - done);
			done = t;
		}
	} else {
		while (done < BENCH_BYTES) {
			long r = s_read(fds[0], b, chunk);
			if (r <= 0)
				break;
			sum += consume_sum(b, r);
			done += r;
		}
	}
	st = wait_st(pid);
	t1 = now_ms();
	s_close(fds[0]);
	out_s("BENCH ");
	out_s(mm ? "mmap " : "rw   ");
	out_s("chunk=");
	out_d(chunk);
	out_s(" bytes=");
	out_u(done);
	out_s(" ms=");
	out_d(t1 - t0);
	out_s(" KiB/s=");
	out_u(t1 > t0 ? (done / 1024) * 1000 / (t1 - t0) : 0);
	out_s(" writer=");
	out_d(st);
	out_s(" sum=");
	out_x(sum);
	out_c('\n');
}

static void bench(void)
{
	int i;
	for (i = 0; i < 3; i++) {
		bench_one(0, 4096);
		bench_one(0, 65536);
		if (xmm) {
			bench_one(1, 4096);
			bench_one(1, 65536);
		}
	}
}
