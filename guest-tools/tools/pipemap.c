/*
 * pipemap -- a writer and a reader over one pipe, each with its own method.
 *   pipemap [--writer=read|mmap] [--reader=read|mmap] [--work=none|touch|verify] BYTES CHUNK
 * (--writer=read means write(); the spelling keeps one vocabulary of methods.)
 * The work level says what each side does with the bytes besides moving them
 * (the transport is the same in all three: the kernel's cost is what is measured):
 *   none    lmbench bw_pipe's contract: the write() writer sends one buffer filled
 *           once before the loop, the read() reader does not touch what it reads; a
 *           mapped writer stores one byte per page of each step, a mapped reader
 *           loads one byte per page (volatile), so every page is really provided
 *           and mapped.  Only the total byte count is checked.
 *   touch   the writer fills each chunk with 32-bit stores (fill32), the reader sums
 *           every 32-bit word (sum32, unrolled by 8) and checks the sum against what
 *           the fill implies (expect32): one pass of memset-like work per side.  One
 *           fill and one sum function for both methods (the read method calls them
 *           on its private buffer, the mmap method on the mapping).
 *   verify  (the default, the previous design) the byte at stream position p is
 *           pattern(p): computed by the writer, checked byte by byte by the reader.
 * The parent makes the pipe,
 * forks the writer and the reader and waits for both (so the rusage of
 * pipemap includes both sides).
 *   writer read: pattern into a private CHUNK buffer, write() of it.
 *   writer mmap: a PROT_WRITE mapping of the write end; per step of CHUNK
 *                bytes one XMMAP_COMMITWAIT (commits the previous step, waits
 *                for room for this one), the bytes stored in place; a last
 *                XMMAP_COMMIT.
 *   reader read: read() of up to CHUNK bytes into a private buffer, checked there.
 *   reader mmap: a PROT_READ mapping of the read end; per step one
 *                XMMAP_CONSUMEWAIT (consumes the previous step, waits for
 *                CHUNK more bytes), the bytes checked in place.
 * The reader checks the total (and, by work level, the sum or every byte).  Output,
 * one line on stdout:
 *   pipemap bytes=N chunk=C writer=M reader=M work=W ok
 *   pipemap bytes=N chunk=C writer=M reader=M work=W MISMATCH at POS
 * Exit: 0 ok; 1 mismatch (or short stream, or a side failed); 2 usage or a
 * method that cannot be used (no extended mmap).
 *
 * --counters (first among the options or anywhere before BYTES): one more line,
 * on stderr, once both sides are done:
 *   COUNTERS xstats=0|1 proc=0|1 [ctxt=D] w_read=N w_write=N w_ioctl=N
 *            r_read=N r_write=N r_ioctl=N [mmaps=D converts=D ...]
 * w_ and r_ are the read()/write()/ioctl() calls the writer and the reader
 * made (counted here, sent to the parent through a small pipe); ctxt is the
 * delta of /proc/stat's context switches (absent, proc=0, without /proc);
 * the rest are the deltas of the xmmap kernel's global counters
 * (XMMAP_GETSTATS, docs/model.md R-STATS-*), present iff xstats=1 (the
 * ioctl fails on a kernel without xmmap).  Counts taken in the parent
 * before the fork and after both children are waited for; the counters
 * are global, so anything else running in the guest adds to them.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../include/xmmap.h"

#ifndef MAP_FAILED
#define MAP_FAILED ((void *) -1)
#endif
#define PAGE 4096UL
#define MAPLEN (256UL << 20)

static unsigned long nbytes, chunk;
static int wmeth, rmeth;	/* 0 read/write, 1 mmap */
enum { W_NONE, W_TOUCH, W_VERIFY };
static int work = W_VERIFY;
static const char *const WORKS[] = { "none", "touch", "verify" };

#define TBYTE 0x5aU		/* touch and none: every byte the writer stores */
#define TWORD 0x5a5a5a5aUL

/*
 * --counters: every read(), write() and ioctl() below is counted in the
 * process that makes it.  Macros, so that the sides' code stays as it is;
 * (read)(...) calls the function itself, uncounted (the counters' own I/O).
 */
static unsigned long nsys_read, nsys_write, nsys_ioctl;
#define read(fd, b, n)	(nsys_read++, read(fd, b, n))
#define write(fd, b, n)	(nsys_write++, write(fd, b, n))
#define ioctl(...)	(nsys_ioctl++, ioctl(__VA_ARGS__))

static unsigned char pattern(unsigned long p)
{
	return (unsigned char) (p + (p >> 8) * 7 + (p >> 16) * 13 + (p >> 24) * 17);
}

static void fill(unsigned char *b, unsigned long pos, unsigned long n)
{
	unsigned long i;
	for (i = 0; i < n; i++)
		b[i] = pattern(pos + i);
}

/* index of the first wrong byte, or n */
static unsigned long check(const unsigned char *b, unsigned long pos, unsigned long n)
{
	unsigned long i;
	for (i = 0; i < n; i++)
		if (b[i] != pattern(pos + i))
			return i;
	return n;
}

/*
 * touch: fill32 stores TWORD over n bytes (bytes up to the first 4-aligned
 * address and after the last whole word are stored one by one: a mapped step
 * need not start aligned); sum32 adds every aligned 32-bit word (8 per
 * iteration) and every stray byte; expect32 is the sum that fill32's bytes give
 * for the same split of the same range.
 */
static void fill32(unsigned char *b, unsigned long n)
{
	uint32_t *w;
	unsigned long i = 0, nw;
	while (i < n && ((uintptr_t) (b + i) & 3))
		b[i++] = TBYTE;
	w = (uint32_t *) (void *) (b + i);
	nw = (n - i) / 4;
	for (; nw; nw--)
		*w++ = (uint32_t) TWORD;
	for (i = (unsigned long) ((unsigned char *) w - b); i < n; i++)
		b[i] = TBYTE;
}

static unsigned long head_bytes(const unsigned char *b, unsigned long n)
{
	unsigned long h = (4 - ((uintptr_t) b & 3)) & 3;
	return h < n ? h : n;
}

static uint32_t sum32(const unsigned char *b, unsigned long n)
{
	uint32_t s = 0;
	const uint32_t *w;
	unsigned long i, h = head_bytes(b, n), nw = (n - h) / 4;
	for (i = 0; i < h; i++)
		s += b[i];
	w = (const uint32_t *) (const void *) (b + h);
	for (; nw >= 8; nw -= 8, w += 8)
		s += w[0] + w[1] + w[2] + w[3] + w[4] + w[5] + w[6] + w[7];
	for (; nw; nw--)
		s += *w++;
	for (i = (unsigned long) ((const unsigned char *) w - b); i < n; i++)
		s += b[i];
	return s;
}

static uint32_t expect32(const unsigned char *b, unsigned long n)
{
	unsigned long h = head_bytes(b, n), nw = (n - h) / 4;
	return (uint32_t) (nw * TWORD + (n - h - nw * 4 + h) * TBYTE);
}

/* none, mapped ends: one store (one load) in every page that [b, b+n) touches */
static void store_pages(unsigned char *b, unsigned long n)
{
	unsigned long i = 0;
	while (i < n) {
		*(volatile unsigned char *) (b + i) = (unsigned char) TBYTE;
		i += PAGE - ((uintptr_t) (b + i) & (PAGE - 1));
	}
}

static void load_pages(const unsigned char *b, unsigned long n)
{
	unsigned long i = 0;
	while (i < n) {
		(void) *(const volatile unsigned char *) (b + i);
		i += PAGE - ((uintptr_t) (b + i) & (PAGE - 1));
	}
}

/* the writer's work on a step of n bytes at stream position pos, in place at b */
static void produce(unsigned char *b, unsigned long pos, unsigned long n)
{
	if (work == W_VERIFY)
		fill(b, pos, n);
	else if (work == W_TOUCH)
		fill32(b, n);
	else if (wmeth == 1)
		store_pages(b, n);
	/* none, write(): the buffer was filled once, before the loop */
}

/* the reader's work on n bytes at stream position pos, in place at b: index of
 * the first wrong byte (verify), 0 for a wrong sum (touch), or n when all is well */
static unsigned long consume(const unsigned char *b, unsigned long pos, unsigned long n)
{
	if (work == W_VERIFY)
		return check(b, pos, n);
	if (work == W_TOUCH)
		return sum32(b, n) == expect32(b, n) ? n : 0;
	if (rmeth == 1)
		load_pages(b, n);
	/* none, read(): what was read is not touched */
	return n;
}

static void fail2(const char *who, const char *what)
{
	fprintf(stderr, "pipemap: %s: %s: %s\n", who, what, strerror(errno));
	exit(2);
}

static char *map_end(int fd, unsigned long off, int prot, const char *who)
{
	void *m = mmap(0, MAPLEN, prot, MAP_SHARED, fd, (off_t) off);
	if (m == MAP_FAILED) {
		if (errno == ENODEV || errno == EINVAL || errno == EACCES)
			fail2(who, "mmap() of a pipe refused (kernel without extended mmap?)");
		fail2(who, "mmap() of the pipe");
	}
	return m;
}

/* commit what the last step stored (the write end's last call) */
static void commit_rest(int fd, struct xmmap_step *step)
{
	while (step->n && ioctl(fd, XMMAP_COMMIT, step->n) < 0)
		if (errno != EINTR)
			fail2("writer", "XMMAP_COMMIT");
	step->n = 0;
}

static int writer(int fd)
{
	unsigned long pos = 0;
	if (wmeth == 0) {
		unsigned char *b = malloc(chunk);
		if (!b)
			return 2;
		if (work == W_NONE)
			fill32(b, chunk);	/* prepared once: bw_pipe's contract */
		while (pos < nbytes) {
			unsigned long n = nbytes - pos < chunk ? nbytes - pos : chunk, done = 0;
			produce(b, pos, n);
			while (done < n) {
				ssize_t r = write(fd, b + done, n - done);
				if (r < 0) {
					if (errno == EINTR)
						continue;
					fail2("writer", "write()");
				}
				done += (unsigned long) r;
			}
			pos += n;
		}
		return 0;
	} else {
		struct xmmap_pos xp;
		struct xmmap_step step;
		unsigned long mapoff;
		char *m;
		if (ioctl(fd, XMMAP_GETPOS, &xp) < 0)
			fail2("writer", "XMMAP_GETPOS (kernel without extended mmap?)");
		pos = xp.wpos;
		mapoff = pos & ~(PAGE - 1);
		m = map_end(fd, mapoff, PROT_WRITE, "writer");
		nbytes += pos;
		step.n = 0;	/* bytes of the previous step, committed by the next call */
		while (pos < nbytes) {
			unsigned long n = nbytes - pos < chunk ? nbytes - pos : chunk;
			unsigned long reach = (pos & ~(PAGE - 1)) + XMMAP_SIZE;
			if (pos + n > reach)
				n = reach - pos;	/* R-LEN-6: a step never beyond one window */
			if (pos + n > mapoff + MAPLEN) {
				commit_rest(fd, &step);	/* stores must be committed before munmap */
				munmap(m, MAPLEN);
				mapoff = pos & ~(PAGE - 1);
				m = map_end(fd, mapoff, PROT_WRITE, "writer");
			}
			/* one call per step: commit the previous step, wait for room for this one */
			step.target = pos + n;
			while (ioctl(fd, XMMAP_COMMITWAIT, &step) < 0) {
				if (errno != EINTR)
					fail2("writer", "XMMAP_COMMITWAIT");
				step.target = pos + n;	/* step.n is 0 once committed */
			}
			produce((unsigned char *) m + (pos - mapoff), pos - xp.wpos, n);
			step.n = n;
			pos += n;
		}
		commit_rest(fd, &step);
		munmap(m, MAPLEN);
		return 0;
	}
}

/* 0 ok, 1 mismatch (message printed) */
static int reader(int fd)
{
	unsigned long pos = 0, bad;
	const char *W = wmeth ? "mmap" : "read", *R = rmeth ? "mmap" : "read";
	if (rmeth == 0) {
		unsigned char *b = malloc(chunk);
		if (!b)
			return 2;
		for (;;) {
			ssize_t r = read(fd, b, chunk);
			if (r < 0) {
				if (errno == EINTR)
					continue;
				fail2("reader", "read()");
			}
			if (r == 0)
				break;
			bad = consume(b, pos, (unsigned long) r);
			if (bad < (unsigned long) r) {
				pos += bad;
				goto mismatch;
			}
			pos += (unsigned long) r;
		}
	} else {
		struct xmmap_pos xp;
		struct xmmap_step step;
		unsigned long mapoff, start;
		char *m;
		if (ioctl(fd, XMMAP_GETPOS, &xp) < 0)
			fail2("reader", "XMMAP_GETPOS (kernel without extended mmap?)");
		start = xp.rpos;
		mapoff = start & ~(PAGE - 1);
		m = map_end(fd, mapoff, PROT_READ, "reader");
		step.n = 0;	/* bytes of the previous step, consumed by the next call */
		for (;;) {
			unsigned long n, spos = start + pos;
			int r;
			if (spos + XMMAP_SIZE + PAGE > mapoff + MAPLEN) {
				munmap(m, MAPLEN);
				mapoff = spos & ~(PAGE - 1);
				m = map_end(fd, mapoff, PROT_READ, "reader");
			}
			/* one call per step: consume the previous step, wait for this one's data */
			step.target = spos + chunk;
			while ((r = ioctl(fd, XMMAP_CONSUMEWAIT, &step)) < 0) {
				if (errno != EINTR)
					fail2("reader", "XMMAP_CONSUMEWAIT");
				step.target = spos + chunk;	/* step.n is 0 once consumed */
			}
			/* 0: target reached; XMMAP_FULL: window full; XMMAP_EOF: end */
			n = step.target - spos;
			if (n > chunk)
				n = chunk;
			if (n == 0)
				break;	/* EOF with nothing left */
			bad = consume((unsigned char *) m + (spos - mapoff), pos, n);
			if (bad < n) {
				pos += bad;
				goto mismatch;
			}
			step.n = n;
			pos += n;
		}
		munmap(m, MAPLEN);
	}
	if (pos != nbytes)
		goto mismatch;
	printf("pipemap bytes=%lu chunk=%lu writer=%s reader=%s work=%s ok\n", nbytes, chunk, W, R, WORKS[work]);
	fflush(stdout);
	return 0;
mismatch:
	printf("pipemap bytes=%lu chunk=%lu writer=%s reader=%s work=%s MISMATCH at %lu\n", nbytes, chunk, W,
	       R, WORKS[work], pos);
	fflush(stdout);
	return 1;
}

static int meth(const char *s)
{
	if (strcmp(s, "read") == 0 || strcmp(s, "write") == 0)
		return 0;
	if (strcmp(s, "mmap") == 0)
		return 1;
	fprintf(stderr, "pipemap: invalid method '%s' (read or mmap)\n", s);
	exit(2);
}

static int work_level(const char *s)
{
	int k;
	for (k = 0; k < 3; k++)
		if (strcmp(s, WORKS[k]) == 0)
			return k;
	fprintf(stderr, "pipemap: invalid work level '%s' (none, touch or verify)\n", s);
	exit(2);
}

static unsigned long num(const char *s)
{
	char *e;
	unsigned long v = strtoul(s, &e, 10);
	if (*s == 0 || *e) {
		fprintf(stderr, "pipemap: not a number: '%s'\n", s);
		exit(2);
	}
	return v;
}

/* ---- --counters ---- */
static int counters;		/* --counters given */
static int cpipe[2];		/* the sides' syscall counts go to the parent here */

struct side_counts {
	unsigned long side;	/* 'w' or 'r' */
	unsigned long nread, nwrite, nioctl;
};

struct snapshot {
	int xstats, proc;
	unsigned long ctxt;
	struct xmmap_stats x;
};

/* /proc/stat's ctxt: 0 if there is no /proc (or no such line) */
static int read_ctxt(unsigned long *v)
{
	char b[4096], *p;
	ssize_t n, got = 0;
	FILE *f = fopen("/proc/stat", "r");
	if (!f)
		return 0;
	while (got < (ssize_t) sizeof(b) - 1 && (n = (ssize_t) fread(b + got, 1, sizeof(b) - 1 - got, f)) > 0)
		got += n;
	fclose(f);
	b[got] = 0;
	for (p = b; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : 0)
		if (strncmp(p, "ctxt ", 5) == 0) {
			*v = strtoul(p + 5, 0, 10);
			return 1;
		}
	return 0;
}

static void snap(int fd, struct snapshot *s)
{
	memset(s, 0, sizeof(*s));
	s->xstats = (ioctl)(fd, XMMAP_GETSTATS, &s->x) == 0;
	s->proc = read_ctxt(&s->ctxt);
}

/* in a child, after its side: its counts to the parent (16 bytes: atomic) */
static void side_report(int side)
{
	struct side_counts c;
	if (!counters)
		return;
	c.side = (unsigned long) side;
	c.nread = nsys_read;
	c.nwrite = nsys_write;
	c.nioctl = nsys_ioctl;
	if ((write)(cpipe[1], &c, sizeof(c)) != (ssize_t) sizeof(c))
		fprintf(stderr, "pipemap: counters: cannot report the %s's counts\n", side == 'w' ? "writer" : "reader");
}

/* in the parent, after both children: the COUNTERS line, or a message and 1 */
static int print_counters(const struct snapshot *s0)
{
	static const char *names[] = { XMMAP_STATS_NAMES };
	struct snapshot s1;
	struct side_counts c, w, r;
	const unsigned long *x0 = (const unsigned long *) &s0->x, *x1;
	int havew = 0, haver = 0;
	unsigned i;

	memset(&w, 0, sizeof(w));
	memset(&r, 0, sizeof(r));
	close(cpipe[1]);
	while ((read)(cpipe[0], &c, sizeof(c)) == (ssize_t) sizeof(c)) {
		if (c.side == 'w')
			w = c, havew = 1;
		else if (c.side == 'r')
			r = c, haver = 1;
	}
	snap(cpipe[0], &s1);
	close(cpipe[0]);
	if (!havew || !haver) {
		fprintf(stderr, "pipemap: counters: the %s did not report its counts\n", havew ? "reader" : "writer");
		return 1;
	}
	x1 = (const unsigned long *) &s1.x;
	fprintf(stderr, "COUNTERS xstats=%d proc=%d", s0->xstats && s1.xstats, s0->proc && s1.proc);
	if (s0->proc && s1.proc)
		fprintf(stderr, " ctxt=%lu", s1.ctxt - s0->ctxt);
	fprintf(stderr, " w_read=%lu w_write=%lu w_ioctl=%lu r_read=%lu r_write=%lu r_ioctl=%lu",
		w.nread, w.nwrite, w.nioctl, r.nread, r.nwrite, r.nioctl);
	if (s0->xstats && s1.xstats)
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			fprintf(stderr, " %s=%lu", names[i], x1[i] - x0[i]);
	fprintf(stderr, "\n");
	fflush(stderr);
	return 0;
}

int main(int argc, char **argv)
{
	int i = 1, fds[2], st, ws, rs;
	pid_t w, r;
	struct snapshot s0;
	for (; i < argc && strncmp(argv[i], "--", 2) == 0 && argv[i][2]; i++) {
		if (strcmp(argv[i], "--counters") == 0)
			counters = 1;
		else if (strncmp(argv[i], "--writer=", 9) == 0)
			wmeth = meth(argv[i] + 9);
		else if (strncmp(argv[i], "--reader=", 9) == 0)
			rmeth = meth(argv[i] + 9);
		else if (strncmp(argv[i], "--work=", 7) == 0)
			work = work_level(argv[i] + 7);
		else
			break;
	}
	if (argc - i != 2) {
		fprintf(stderr, "usage: pipemap [--counters] [--writer=read|mmap] [--reader=read|mmap] "
			"[--work=none|touch|verify] BYTES CHUNK\n");
		return 2;
	}
	nbytes = num(argv[i]);
	chunk = num(argv[i + 1]);
	if (chunk == 0) {
		fprintf(stderr, "pipemap: CHUNK must be > 0\n");
		return 2;
	}
	if (counters) {
		if (pipe(cpipe) < 0) {
			perror("pipemap: pipe");
			return 2;
		}
		snap(cpipe[0], &s0);
	}
	if (pipe(fds) < 0) {
		perror("pipemap: pipe");
		return 2;
	}
	fflush(stdout);
	w = fork();
	if (w < 0) {
		perror("pipemap: fork");
		return 2;
	}
	if (w == 0) {
		close(fds[0]);
		st = writer(fds[1]);
		side_report('w');
		_exit(st);
	}
	r = fork();
	if (r < 0) {
		perror("pipemap: fork");
		kill(w, SIGKILL);
		return 2;
	}
	if (r == 0) {
		close(fds[1]);
		st = reader(fds[0]);
		side_report('r');
		_exit(st);
	}
	close(fds[0]);
	close(fds[1]);
	ws = rs = -1;
	for (i = 0; i < 2; i++) {
		pid_t p = wait(&st);
		if (p < 0) {
			if (errno == EINTR) {
				i--;
				continue;
			}
			break;
		}
		if (p == w)
			ws = st;
		else if (p == r)
			rs = st;
	}
	if (counters && print_counters(&s0) && ws == 0 && rs == 0)
		return 1;
	if ((WIFEXITED(ws) && WEXITSTATUS(ws) == 2) || (WIFEXITED(rs) && WEXITSTATUS(rs) == 2))
		return 2;
	if (WIFEXITED(rs) && WEXITSTATUS(rs) != 0)
		return WEXITSTATUS(rs);
	if (!WIFEXITED(rs) || !WIFEXITED(ws)) {
		fprintf(stderr, "pipemap: a side was killed (writer status %d, reader status %d)\n", ws, rs);
		return 1;
	}
	if (WEXITSTATUS(ws) != 0)
		return WEXITSTATUS(ws) == 2 ? 2 : 1;
	return 0;
}
