/*
 * stress.c -- randomized stress test of the extended mmap() of pipes and
 * FIFOs (docs/model.md; kernel variant "xmmap").  Freestanding: uses only
 * ../conformance/sys.c and start.S.
 *
 * Run as /sbin/init (pid 1).  Parameters come from the environment, i.e.
 * from key=value words of the kernel command line (2.0.36 init/main.c
 * hands them to init):
 *   stress_ops=N      operations to run at least (default 100000)
 *   stress_seed=S     seed (default 1)
 *   stress_warmup=W   operations of the warm-up round before the memory
 *                     baseline (default 3000; 0: none)
 *   stress_episode=E  run only episode E (replay of one failing episode)
 *   stress_verbose=1  one line per episode
 *   stress_timeout=T  seconds an episode may take before it counts as hung
 *   stress_selftest=1 corrupt the byte at position 100000 of every stream
 *                     of the measured run: the verdict must be FAIL
 *
 * The run is a sequence of episodes.  Each episode is one stream, a pipe
 * or the FIFO /stress-fifo, with a reader side and a writer side running
 * concurrently.  Each side is a lead process plus helpers it forks (up to
 * MAXM members, sharing mappings by fork).  Within a side exactly one
 * member, the holder of the side's "baton", acts at a time; the baton is
 * a message passed through per-member classic pipes and carries the
 * side's state and PRNG, so the sequence of operations of each side is a
 * function of the seed alone (the interleaving of the two sides is up to
 * the scheduler; under QEMU -icount it is deterministic as well).
 *
 * Every byte of a stream is f(key, position), key derived from the seed
 * and the episode; every byte that comes out (read() or a mapping) is
 * checked against its position.  The reader side knows rpos exactly (it
 * alone consumes), the writer side knows wpos exactly (it alone commits),
 * and both check the kernel's positions against that.
 *
 * No operation can deadlock: the writer only ever blocks while the room
 * left is < 4096 bytes (buffered > 56 KiB), the reader only ever blocks
 * for positions below rpos + 32 KiB (buffered < 32 KiB).
 *
 * Failures are counted in the baton and, independently of it, on a tally
 * pipe to the controller (see tally()), so none is lost when a process
 * dies or an episode hangs.  The counts (mismatches, sigbus_unexpected,
 * errors, hangs) are those of the warm-up round and of the measured run.
 *
 * Output: progress lines, MISMATCH/ERROR lines, then exactly one line
 *   STRESS seed=S ops=N mismatches=M sigbus_unexpected=K mem_before=A mem_after=B verdict=OK|FAIL|REFUSED
 * and the machine is powered off.
 */
#include "../conformance/sys.h"
#include "../include/xmmap.h"

#define PAGE		4096UL
#define PIPE_BUF	4096
#define MAXM		4		/* members per side */
#define MAXMAP		8		/* mappings per process */
#define NEAR_R		32768UL		/* reader never blocks beyond rpos + this */
#define ECHILD_		10
#define NR_setitimer	104
#define NR_execve_	11
#define SELFTEST_POS	100000UL	/* stress_selftest=1: the byte corrupted in each stream */

static const char *fifo_path = "/stress-fifo";

/* ---------------- environment ---------------- */
static char **genv;

static const char *env(const char *k)
{
	int i, n = strlen(k);
	for (i = 0; genv && genv[i]; i++)
		if (memcmp(genv[i], k, n) == 0 && genv[i][n] == '=')
			return genv[i] + n + 1;
	return 0;
}

static unsigned long env_ul(const char *k, unsigned long def)
{
	const char *s = env(k);
	unsigned long v = 0;
	if (!s || !*s)
		return def;
	while (*s >= '0' && *s <= '9')
		v = v * 10 + (*s++ - '0');
	return v;
}

/* ---------------- PRNG and the stream pattern ---------------- */
static unsigned long mix32(unsigned long x)
{
	x ^= x >> 16;
	x *= 0x7feb352dUL;
	x ^= x >> 15;
	x *= 0x846ca68bUL;
	x ^= x >> 16;
	return x;
}

static unsigned long skey;		/* stream key of the episode */

/* the byte at stream position p */
static unsigned char pat(unsigned long p)
{
	unsigned long h = mix32((p >> 8) ^ skey);
	return (unsigned char) ((h >> 24) + (p & 255) * 167);
}

static void gen(unsigned char *b, unsigned long pos, unsigned long n, int garbage)
{
	unsigned long i = 0;
	while (i < n) {
		unsigned long p = pos + i, h = mix32((p >> 8) ^ skey);
		unsigned long k = 256 - (p & 255);
		unsigned char base = h >> 24, x = garbage ? 0xff : 0;
		unsigned char o = p & 255;
		if (k > n - i)
			k = n - i;
		while (k--) {
			b[i++] = (unsigned char) (base + o * 167) ^ x;
			o++;
		}
	}
}

/* ---------------- state ---------------- */
enum { CMD_RUN = 1, CMD_EXIT, CMD_FINISH };

struct baton {
	long cmd;
	unsigned long rng, seed0;
	unsigned long pos;	/* reader: rpos (exact); writer: wpos (exact) */
	unsigned long kother;	/* reader: known wpos; writer: known rpos (lower bounds) */
	unsigned long ops, budget, xphase;
	unsigned long mism, sbu, errs, sbx, intr, forks, execs, dooms, waits;
	unsigned long alive;	/* members alive, bit i = member i */
	unsigned long printed;
	long mapped, eof, garbage_end;
};

static struct baton B;
static int side;		/* 'R' or 'W' */
static int me;			/* member id */
static int dfd;			/* the data descriptor */
static int rdwr;		/* FIFO opened O_RDWR (writer side) */
static int bfd[MAXM][2];	/* baton pipes */
static int repfd;		/* report pipe to the controller */
static int episode;
static unsigned long episode_seed;
static unsigned long selftest;		/* stress_selftest=1: corrupt one byte on purpose */
static int measuring;			/* in the measured run (not the warm-up) */
static int tallyfd = -1;		/* tally pipe to the controller */

/* does [pos, pos+n) hold the byte the self-test corrupts? */
static int selftest_in(unsigned long pos, unsigned long n)
{
	return selftest && measuring && pos <= SELFTEST_POS && pos + n > SELFTEST_POS;
}

/*
 * What a writer puts into the stream.  With stress_selftest=1 the byte at
 * position SELFTEST_POS of every stream of the measured run (not of the
 * warm-up) is corrupted every time it is produced, by write() or by a
 * store through a mapping, so the reader must report it, whichever path
 * carries it (r_consume looks at the bytes of a consume that covers it).
 */
static void wgen(unsigned char *b, unsigned long pos, unsigned long n)
{
	gen(b, pos, n, 0);
	if (selftest_in(pos, n))
		b[SELFTEST_POS - pos] ^= 0x5a;
}

/*
 * Every failure is counted twice: in the baton (exact, but lost with the
 * baton if its holder dies or the episode hangs) and as one byte
 * (M mismatch, E error, S unexpected SIGBUS, F fatal: the process dies)
 * on the tally pipe, which the controller drains after the episode.  The
 * controller takes the larger of the two counts, so a failure seen by any
 * process of the episode is counted even if its baton never comes back.
 * The pipe is non-blocking: if it fills up (4096 failures) the baton
 * counts, which are then the larger, still hold.
 */
static void tally(char c)
{
	long r;
	if (tallyfd < 0)
		return;
	do
		r = s_write(tallyfd, &c, 1);
	while (r == -EINTR);
}

struct map {
	unsigned long addr;	/* page aligned start */
	unsigned long pos;	/* page aligned stream position of addr */
	unsigned long len;	/* multiple of PAGE */
};
static struct map maps[MAXMAP];
static int nmaps;

static unsigned long rnd(unsigned long n)
{
	unsigned long x = B.rng;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	B.rng = x;
	return n ? x % n : 0;
}

/* a size: mostly small, sometimes up to max */
static unsigned long rsize(unsigned long max)
{
	unsigned long r = rnd(10), v;
	if (r < 4)
		v = 1 + rnd(64);
	else if (r < 8)
		v = 1 + rnd(4096);
	else
		v = 1 + rnd(max);
	return v > max ? max : v;
}

static void tag(void)
{
	out_s("[e");
	out_u(episode);
	out_c(' ');
	out_c(side);
	out_u(me);
	out_s(" op");
	out_u(B.ops);
	out_s("] ");
}

static void error(const char *what, long v, long w)
{
	B.errs++;
	tally('E');
	if (B.printed++ < 20) {
		tag();
		out_s("ERROR ");
		out_s(what);
		out_s(" got=");
		out_d(v);
		out_s(" ref=");
		out_d(w);
		out_c('\n');
	}
}

static void mismatch(const char *path, unsigned long p, unsigned char got)
{
	B.mism++;
	tally('M');
	if (B.printed++ < 20) {
		tag();
		out_s("MISMATCH path=");
		out_s(path);
		out_s(" pos=");
		out_u(p);
		out_s(" want=");
		out_u(pat(p));
		out_s(" got=");
		out_u(got);
		out_c('\n');
	}
}

static void sigbus_unexpected(void)
{
	B.sbu++;
	tally('S');
}

static long check_buf(const unsigned char *b, unsigned long pos, unsigned long n, const char *path)
{
	static unsigned char ref[4096];
	unsigned long i = 0, bad = 0;
	while (i < n) {
		unsigned long k = n - i, j;
		if (k > sizeof(ref))
			k = sizeof(ref);
		gen(ref, pos + i, k, 0);
		if (memcmp(ref, b + i, k))
			for (j = 0; j < k; j++)
				if (ref[j] != b[i + j]) {
					mismatch(path, pos + i + j, b[i + j]);
					bad++;
				}
		i += k;
	}
	return bad;
}

/* ---------------- signals ---------------- */
static long jb[6];
static volatile int in_touch;
static volatile unsigned long tpage;	/* stream position of the page being touched */
static volatile unsigned long taddr;	/* an address in that page */
static volatile unsigned long alarms;

static void on_bus(int s)
{
	if (in_touch) {
		in_touch = 0;
		xlongjmp(jb, 1);
	}
	tally('F');
	out_s("stress: SIGBUS outside a mapped access\n");
	s_exit(97);
}

static void on_segv(int s)
{
	tally('F');
	tag();
	out_s("ERROR SIGSEGV\n");
	s_exit(98);
}

static void on_alrm(int s)
{
	alarms++;
}

static void on_pipe(int s)
{
	error("SIGPIPE", 0, 0);
}

struct itimerval { struct timeval it_interval, it_value; };

static void timer_us(long us)
{
	struct itimerval t;
	t.it_interval.tv_sec = t.it_interval.tv_usec = 0;
	t.it_value.tv_sec = us / 1000000;
	t.it_value.tv_usec = us % 1000000;
	sys3(NR_setitimer, 0, (long) &t, 0);
}

/* ---------------- helpers ---------------- */
static int getpos(struct xmmap_pos *p)
{
	long r = s_ioctl(dfd, XMMAP_GETPOS, p);
	if (r) {
		error("GETPOS", r, 0);
		memset(p, 0, sizeof(*p));
	}
	return r;
}

static unsigned long limit_of(unsigned long rpos)
{
	return (rpos & ~(PAGE - 1)) + XMMAP_SIZE;
}

/* check the kernel's positions against what this side knows */
static void check_pos(struct xmmap_pos *p)
{
	if (getpos(p))
		return;
	if (p->flags & XMMAP_F_MAPPED)
		B.mapped = 1;
	else if (B.mapped)
		error("pipe left mapped mode", p->flags, 0);
	if (side == 'R') {
		if (p->rpos != B.pos)
			error("GETPOS rpos != consumed count", p->rpos, B.pos);
		if ((long) (p->wpos - B.kother) < 0)
			error("GETPOS wpos went back", p->wpos, B.kother);
		B.kother = p->wpos;
		if (p->flags & XMMAP_F_NOWRITERS)
			B.eof = 1;
	} else {
		if (p->wpos != B.pos)
			error("GETPOS wpos != committed count", p->wpos, B.pos);
		if ((long) (p->rpos - B.kother) < 0)
			error("GETPOS rpos went back", p->rpos, B.kother);
		B.kother = p->rpos;
		if (p->flags & XMMAP_F_NOREADERS)
			error("GETPOS: no readers", p->flags, 0);
	}
	if ((long) (p->wpos - p->rpos) < 0)
		error("GETPOS wpos < rpos", p->wpos, p->rpos);
	if ((p->flags & XMMAP_F_MAPPED) ? p->limit != limit_of(p->rpos) : p->limit != p->rpos + PIPE_BUF)
		error("GETPOS limit", p->limit, p->rpos);
	if ((long) (p->limit - p->wpos) < 0)
		error("GETPOS wpos > limit", p->wpos, p->limit);
}

static void nonblock(int on)
{
	long fl = s_fcntl(dfd, F_GETFL, 0);
	s_fcntl(dfd, F_SETFL, on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK));
}

/* ---------------- mappings of this process ---------------- */
static int map_covering(unsigned long pos, unsigned long n)
{
	int i;
	for (i = 0; i < nmaps; i++)
		if ((long) (pos - maps[i].pos) >= 0 && pos - maps[i].pos + n <= maps[i].len)
			return i;
	return -1;
}

static void map_drop(int i)
{
	maps[i] = maps[--nmaps];
}

static void unmap_all_of(int i)
{
	long r = s_munmap(maps[i].addr, maps[i].len);
	if (r)
		error("munmap", r, maps[i].addr);
	map_drop(i);
}

/* mmap the data descriptor at stream position off; returns the record index or -1 */
static int do_map(unsigned long off, unsigned long len)
{
	long prot = side == 'W' ? (rnd(2) ? PROT_WRITE : PROT_READ | PROT_WRITE) : PROT_READ;
	unsigned long a, ph = off & (PAGE - 1);
	long r;

	if (nmaps == MAXMAP)
		unmap_all_of(rnd(MAXMAP));
	r = s_mmap(0, len, prot, MAP_SHARED, dfd, off);
	if (r == -ENOMEM && len > (16UL << 20))
		return -1;	/* no hole of 1 GiB left in the address space: fine */
	if (is_err(r)) {
		int i;
		error("mmap", r, len);
		if (B.printed < 20) {
			tag();
			out_s("  at off=");
			out_u(off);
			out_s(" prot=");
			out_d(prot);
			out_s(" maps:");
			for (i = 0; i < nmaps; i++) {
				out_c(' ');
				out_x(maps[i].addr);
				out_c('+');
				out_u(maps[i].len);
			}
			out_c('\n');
		}
		return -1;
	}
	a = r;
	if ((a & (PAGE - 1)) != ph)
		error("mmap address phase != offset phase", a & (PAGE - 1), ph);
	maps[nmaps].addr = a & ~(PAGE - 1);
	maps[nmaps].pos = off - ph;
	maps[nmaps].len = (len + ph + PAGE - 1) & ~(PAGE - 1);
	B.mapped = 1;
	return nmaps++;
}

/*
 * A new mapping near the position of this side: anywhere in the address
 * space, or (R-MAP-4) MAP_FIXED over the start of an existing one, which
 * replaces that part of it.
 */
static void map_op(void)
{
	unsigned long off = B.pos + rnd(NEAR_R) - (rnd(3) ? 0 : rnd(8192));
	unsigned long len = rnd(30) ? 1 + rnd(rnd(2) ? 65536 : 262144) : (1UL << 30);
	unsigned long ph, a, nl;
	long prot = side == 'W' ? PROT_READ | PROT_WRITE : PROT_READ, r;
	int i;

	for (i = 0; i < nmaps; i++)
		if (maps[i].len > (16UL << 20))
			len = 1 + rnd(65536);
	if ((long) off < 0)
		off = 0;
	if (!nmaps || rnd(4)) {
		do_map(off, len);
		return;
	}
	i = rnd(nmaps);
	ph = off & (PAGE - 1);
	if (maps[i].len <= ph + 1)
		return;
	len = 1 + rnd(maps[i].len - ph);
	a = maps[i].addr + ph;
	nl = (len + ph + PAGE - 1) & ~(PAGE - 1);
	r = s_mmap((void *) a, len, prot, MAP_SHARED | MAP_FIXED, dfd, off);
	if (r != (long) a) {
		error("mmap MAP_FIXED", r, a);
		map_drop(i);	/* gone either way (R-MAP-4) */
		return;
	}
	if (nl == maps[i].len) {
		maps[i].pos = off - ph;
		return;
	}
	maps[i].addr += nl;
	maps[i].pos += nl;
	maps[i].len -= nl;
	if (nmaps == MAXMAP) {
		s_munmap(a - ph, nl);
		return;
	}
	maps[nmaps].addr = a - ph;
	maps[nmaps].pos = off - ph;
	maps[nmaps].len = nl;
	nmaps++;
}

#define NR_msync	144

/* calls the model refuses, each with its errno (docs/model.md section 9) */
static void bad_calls(void)
{
	long r, e = 0;
	unsigned long t = 0;
	int i;

	switch (rnd(7)) {
	case 0:
		r = s_mmap(0, 0, side == 'W' ? PROT_WRITE : PROT_READ, MAP_SHARED, dfd, B.pos);
		e = -EINVAL;		/* R-ERR-1a */
		break;
	case 1:
		r = s_mmap((void *) 0x50000001, 100, side == 'W' ? PROT_WRITE : PROT_READ,
			MAP_SHARED | MAP_FIXED, dfd, B.pos & ~1UL);
		e = -EINVAL;		/* R-ERR-1d */
		break;
	case 2:
		r = s_mmap(0, 100, side == 'W' ? PROT_WRITE : PROT_READ, MAP_PRIVATE, dfd, B.pos);
		e = -EINVAL;		/* R-ERR-1c */
		break;
	case 3:
		if (side == 'W') {
			t = (B.pos & ~(PAGE - 1)) + XMMAP_SIZE + 1 + rnd(5000);
			r = s_ioctl(dfd, XMMAP_WAITSPACE, &t);
			e = -EINVAL;	/* R-LEN-6 */
		} else {
			r = s_mmap(0, 100, PROT_READ | PROT_WRITE, MAP_SHARED, dfd, B.pos);
			e = -EACCES;	/* R-PROT-1 */
		}
		break;
	case 4:
		if (side == 'W') {
			if (rdwr)
				return;
			r = s_ioctl(dfd, XMMAP_CONSUME, 0);
			e = -EBADF;	/* R-ERR-2b */
		} else {
			r = s_ioctl(dfd, XMMAP_COMMIT, 0);
			e = -EBADF;	/* R-ERR-2c */
		}
		break;
	case 5:
		if (!nmaps)
			return;
		i = rnd(nmaps);
		if (side == 'R') {
			r = s_mprotect(maps[i].addr, maps[i].len, PROT_READ | PROT_WRITE);
			e = -EACCES;	/* R-PROT-1 */
		} else {
			r = sys3(NR_msync, maps[i].addr, maps[i].len, 4);
			e = 0;		/* R-MAP-8 */
		}
		break;
	default:
		if (side == 'R') {
			r = s_mmap(0, 100, PROT_NONE, MAP_SHARED, dfd, B.pos);
			e = -EINVAL;	/* R-PROT-3 */
		} else {
			if (rdwr)
				return;
			r = s_mmap(0, 100, PROT_READ, MAP_SHARED, dfd, B.pos);
			e = -EACCES;	/* R-PROT-2 */
		}
		break;
	}
	/* refused calls do not switch the pipe to mapped mode (R-MODE-1): B.mapped unchanged */
	if (r != e)
		error("refused call", r, e);
}

/* a mapping covering [pos, pos+n), made if needed */
static int need_map(unsigned long pos, unsigned long n)
{
	int i = map_covering(pos, n);
	unsigned long off, len, back;
	if (i >= 0)
		return i;
	back = rnd(3) ? 0 : rnd(8192);
	off = (long) (pos - back) < 0 ? 0 : pos - back;
	len = pos - off + n + rnd(3 * 65536);
	return do_map(off, len);
}

/*
 * Touch [q, q+n) through mapping m: load and check bytes in [cbeg, cend)
 * (committed before the access and not consumed), bytes below cbeg
 * (consumed, in a page still mapped: unspecified by R-CONS-3; the reference
 * implementation shows the pattern or 0, since switching to mapped mode
 * clears the consumed part of the ring page), or store
 * (pattern or garbage).  Returns
 * -1, or the stream position of the page that gave SIGBUS.  A page that
 * gave SIGBUS must give it again on the next touch (R-EOF-1, R-EOF-4,
 * R-WAIT-4: the pte stays empty; stock 2.0 would map BAD_PAGE, which reads
 * as zeroes without a signal): touch() checks that, then unmaps the
 * mapping, as R-EOF-1 tells a program to.
 */
static int faults_again(unsigned long a)
{
	if (xsetjmp(jb))
		return 1;		/* on_bus cleared in_touch */
	in_touch = 1;
	(void) *(volatile unsigned char *) a;
	in_touch = 0;
	return 0;
}

static long touch(int m, unsigned long q, unsigned long n, unsigned long cbeg, unsigned long cend, int store)
{
	static volatile unsigned long p;
	static volatile unsigned long end;
	static unsigned char ref[PAGE];
	static int mm;

	mm = m;
	p = q;
	end = q + n;
	if (xsetjmp(jb)) {
		long pg = tpage;
		in_touch = 0;
		if (!faults_again(taddr))
			error("second touch of a page that gave SIGBUS did not fault", pg, 0);
		unmap_all_of(mm);
		return pg;
	}
	in_touch = 1;
	while (p != end) {
		unsigned long k = PAGE - (p & (PAGE - 1)), i;
		volatile unsigned char *a = (volatile unsigned char *) (maps[mm].addr + (p - maps[mm].pos));
		if (k > end - p)
			k = end - p;
		tpage = p & ~(PAGE - 1);
		taddr = (unsigned long) a;
		if (store) {
			if (store == 2)
				gen(ref, p, k, 1);
			else
				wgen(ref, p, k);
			for (i = 0; i < k; i++)
				a[i] = ref[i];
		} else {
			unsigned char v = a[0];		/* fault here */
			unsigned long kc = (long) (cend - p) <= 0 ? 0 : cend - p;
			unsigned long kb = (long) (cbeg - p) <= 0 ? 0 : cbeg - p;
			if (kc > k)
				kc = k;
			if (kb > kc)
				kb = kc;
			(void) v;
			gen(ref, p, kc, 0);
			for (i = 0; i < kb; i++)
				if (a[i] != ref[i] && a[i] != 0)
					mismatch(side == 'R' ? "rmap-consumed" : "wmap-consumed", p + i, a[i]);
			for (; i < kc; i++)
				if (a[i] != ref[i])
					mismatch(side == 'R' ? "rmap" : "wmap", p + i, a[i]);
			for (; i < k; i++)
				v = a[i];		/* uncommitted: unspecified, just load */
		}
		p += k;
	}
	in_touch = 0;
	return -1;
}

/*
 * One access that may wait (for data or for room), interrupted by a timer
 * signal one time in three: the handler runs and the access waits again
 * (R-SIG-1).  Returns what touch() returns.
 */
static long waiting_touch(int m, unsigned long q, int store, int *timed)
{
	int tm = rnd(3) == 0;
	long pg;

	if (tm)
		timer_us(1000 + rnd(20000));
	pg = touch(m, q, 1, 0, 0, store);
	if (tm)
		timer_us(0);
	*timed = tm;
	return pg;
}

/* ---------------- members and the baton ---------------- */
static void send_baton(int to, long cmd)
{
	struct baton b = B;
	long r;
	b.cmd = cmd;
	do
		r = s_write(bfd[to][1], &b, sizeof(b));
	while (r == -EINTR);
	if (r != sizeof(b)) {
		tally('F');
		out_s("stress: baton write failed\n");
		s_exit(96);
	}
}

static void recv_baton(void)
{
	long r, got = 0;
	while (got < (long) sizeof(B)) {
		r = s_read(bfd[me][0], (char *) &B + got, sizeof(B) - got);
		if (r == -EINTR)
			continue;
		if (r <= 0) {
			tally('F');
			out_s("stress: baton read failed\n");
			s_exit(95);
		}
		got += r;
	}
}

static int pick_member(void)
{
	int i, n = 0, c[MAXM];
	for (i = 0; i < MAXM; i++)
		if (B.alive & (1UL << i))
			c[n++] = i;
	return c[rnd(n)];
}

static void member_loop(void);

static void op_fork(void)
{
	int i;
	long pid;
	for (i = 1; i < MAXM; i++)
		if (!(B.alive & (1UL << i)))
			break;
	if (i == MAXM)
		return;
	B.alive |= 1UL << i;
	B.forks++;
	pid = s_fork();
	if (pid == 0) {
		me = i;
		member_loop();		/* never returns */
	}
	if (pid < 0) {
		error("fork", pid, 0);
		B.alive &= ~(1UL << i);
	}
}

static void finish(void);

/* ---------------- processes waiting in a mapped access, then killed ---------------- */
static void op_doomed(void)
{
	unsigned long q;
	int m;
	long pid, st = 0;

	if (side == 'R') {
		if (rnd(2))
			q = B.pos + NEAR_R / 2 + rnd(NEAR_R / 2);	/* may be filled */
		else
			q = limit_of(B.pos) + rnd(65536);		/* waits for good */
	} else {
		q = limit_of(B.kother);
		if ((long) (q - B.pos) < 0)
			q = B.pos;
		q += rnd(65536);
	}
	m = need_map(q, 1);
	if (m < 0)
		return;
	B.dooms++;
	pid = s_fork();
	if (pid == 0) {
		volatile unsigned char *a = (volatile unsigned char *) (maps[m].addr + (q - maps[m].pos));
		set_handler(SIGBUS, SIG_DFL, 0);
		if (side == 'W')
			*a = pat(q);	/* beyond wpos: uncommitted */
		else
			(void) *a;
		s_exit(0);
	}
	if (rnd(3) == 0)
		msleep(1 + rnd(15));
	s_kill(pid, SIGKILL);
	do
		pid = s_waitpid(pid, &st, 0);
	while (pid == -EINTR);
	if ((st & 0x7f) == SIGBUS && side == 'R') {
		struct xmmap_pos p;
		check_pos(&p);
		if (p.flags & XMMAP_F_NOWRITERS)
			return;		/* R-EOF-1 */
	}
	if (!(st == 0 || (st & 0x7f) == SIGKILL))
		error("doomed waiter status", st, 0);
}

static void op_exec(void)
{
	long pid, st = 0;
	char *argv[3];
	struct xmmap_pos p;

	B.execs++;
	pid = s_fork();
	if (pid == 0) {
		argv[0] = "init";
		argv[1] = "stress-exec-child";
		argv[2] = 0;
		s_execve("/sbin/init", argv, genv);
		s_exit(55);
	}
	do
		pid = s_waitpid(pid, &st, 0);
	while (pid == -EINTR);
	if (st != 0)
		error("exec child status", st, 0);
	check_pos(&p);		/* R-CONS-5: nothing consumed */
}

/* ---------------- reader side ---------------- */
static unsigned char buf[72 * 1024];

static void r_read(int nb)
{
	unsigned long n = rsize(rnd(8) ? 8192 : sizeof(buf));
	long r;
	int t = !nb && rnd(6) == 0;

	if (nb)
		nonblock(1);
	if (t)
		timer_us(1000 + rnd(20000));
	r = s_read(dfd, buf, n);
	if (t)
		timer_us(0);
	if (nb)
		nonblock(0);
	if (r > 0) {
		check_buf(buf, B.pos, r, "read");
		B.pos += r;
		if ((long) (B.pos - B.kother) > 0)
			B.kother = B.pos;
	} else if (r == 0) {
		struct xmmap_pos p;
		check_pos(&p);
		if (!(p.flags & XMMAP_F_NOWRITERS) || p.wpos != B.pos)
			error("read returned 0 with writers or data", p.wpos, B.pos);
		B.eof = 1;
	} else if (r == -EINTR) {
		B.intr++;
	} else if (r == -EAGAIN) {
		/* non-blocking: empty, or locked by a copying writer */
		if (!nb)
			error("blocking read EAGAIN", r, 0);
	} else
		error("read", r, n);
}

static void r_waitdata(void)
{
	unsigned long t = B.pos + 1 + rnd(NEAR_R - 1), t0 = t;
	long r;
	int tm = rnd(6) == 0;

	if (tm)
		timer_us(1000 + rnd(20000));
	r = s_ioctl(dfd, XMMAP_WAITDATA, &t);
	if (tm)
		timer_us(0);
	B.mapped = 1;
	if (r == -EINTR) {
		B.intr++;
		return;
	}
	if (r == 0) {
		if ((long) (t - t0) < 0)
			error("WAITDATA returned 0 below target", t, t0);
	} else if (r == XMMAP_EOF) {
		if ((long) (t - t0) >= 0)
			error("WAITDATA EOF at target", t, t0);
		B.eof = 1;
	} else {
		error("WAITDATA", r, t0);
		return;
	}
	if ((long) (t - B.kother) < 0)
		error("WAITDATA wpos went back", t, B.kother);
	B.kother = t;
}

/* non-blocking WAITDATA beyond the window: FULL, EAGAIN or EOF */
static void r_waitfull(void)
{
	struct xmmap_pos p;
	unsigned long t = limit_of(B.pos) + 1 + rnd(1000);
	long r;

	nonblock(1);
	r = s_ioctl(dfd, XMMAP_WAITDATA, &t);
	nonblock(0);
	B.mapped = 1;
	if (r == XMMAP_FULL) {
		if (t != limit_of(B.pos))
			error("WAITDATA FULL below limit", t, limit_of(B.pos));
		B.kother = t;
	} else if (r == XMMAP_EOF) {
		B.eof = 1;
		B.kother = t;
	} else if (r != -EAGAIN)
		error("WAITDATA beyond window", r, 0);
	check_pos(&p);
}

static void r_consume(void)
{
	unsigned long avail = B.kother - B.pos, n;
	long r;
	int m, look;

	if (rnd(20) == 0) {
		r = s_ioctl(dfd, XMMAP_CONSUME, XMMAP_SIZE + 1 + rnd(1000));
		if (r != -EINVAL)
			error("CONSUME beyond buffered", r, -EINVAL);
		B.mapped = 1;
		return;
	}
	n = avail ? (rnd(4) == 0 ? avail : 1 + rnd(avail)) : 0;
	look = n && rnd(4);
	if (selftest_in(B.pos, n))
		look = 1;	/* the self-test's byte must not go unseen */
	if (look) {
		/* a mapped consumer: look at the bytes, then consume them */
		m = need_map(B.pos, n);		/* fails only with an error counted */
		if (m >= 0 && touch(m, B.pos, n, B.pos, B.kother, 0) >= 0)
			sigbus_unexpected();
	}
	r = s_ioctl(dfd, XMMAP_CONSUME, n);
	B.mapped = 1;
	if (r == -EINTR) {
		B.intr++;
		return;
	}
	if (r) {
		error("CONSUME", r, n);
		return;
	}
	B.pos += n;
}

static void r_touch(void)
{
	unsigned long lo = B.pos & ~(PAGE - 1), q, n;
	int m;
	long pg;

	if (B.kother == lo)
		return;
	q = lo + rnd(B.kother - lo);
	n = 1 + rnd(B.kother - q);
	if (n > 20000)
		n = 1 + rnd(20000);
	m = need_map(q, n);
	if (m < 0)
		return;
	pg = touch(m, q, n, B.pos, B.kother, 0);
	if (pg >= 0) {
		sigbus_unexpected();
		tag();
		out_s("ERROR unexpected SIGBUS at committed page ");
		out_u(pg);
		out_c('\n');
	}
}

/* touch consumed positions: SIGBUS for pages wholly consumed (R-EOF-4) */
static void r_touch_gone(void)
{
	unsigned long lo = B.pos & ~(PAGE - 1);
	int i;
	long pg;

	for (i = 0; i < nmaps; i++)
		if ((long) (maps[i].pos - lo) < 0)
			break;
	if (i == nmaps || rnd(2)) {
		/* map an old position */
		unsigned long back = 4096 + rnd(20000);
		if ((long) (lo - back) < 0)
			return;
		i = do_map(lo - back, back / 2 + 1);
		if (i < 0)
			return;
	}
	if ((long) (maps[i].pos - lo) >= 0)
		return;
	pg = touch(i, maps[i].pos + rnd(PAGE), 1, 0, 0, 0);
	if (pg >= 0)
		B.sbx++;
	else
		error("consumed page did not give SIGBUS", maps[i].pos, B.pos);
}

/* touch a position not committed yet: waits (R-WAIT-1), or SIGBUS at EOF (R-EOF-1) */
static void r_touch_wait(void)
{
	unsigned long q, hi = B.pos + NEAR_R;
	struct xmmap_pos p;
	int m, tm;
	long pg;

	if ((long) (hi - B.kother) <= 0)
		return;
	q = B.kother + rnd(hi - B.kother);
	m = need_map(q, 1);
	if (m < 0)
		return;
	pg = waiting_touch(m, q, 0, &tm);
	B.waits++;
	check_pos(&p);
	if (pg >= 0) {
		if ((p.flags & XMMAP_F_NOWRITERS) && (long) (p.wpos - (q & ~(PAGE - 1))) <= 0)
			B.sbx++;
		else {
			sigbus_unexpected();
			tag();
			out_s("ERROR SIGBUS waiting for page ");
			out_u(pg);
			out_s(" wpos=");
			out_u(p.wpos);
			out_c('\n');
		}
	} else if ((long) (p.wpos - (q & ~(PAGE - 1))) <= 0)
		error("touch completed before its page had data", p.wpos, q);
}

static void r_select(void)
{
	fd_set256 s;
	struct timeval t = { 0, 0 };
	long r;
	memset(&s, 0, sizeof(s));
	s.bits[dfd / 32] |= 1UL << (dfd % 32);
	r = s_select(dfd + 1, &s, 0, 0, &t);
	if (B.kother != B.pos && r != 1)
		error("select: data but not readable", r, B.kother - B.pos);
}

static void r_fionread(void)
{
	struct xmmap_pos a, b;
	int n = -1;
	struct new_stat st;
	long r;
	check_pos(&a);
	r = s_ioctl(dfd, FIONREAD, &n);
	s_fstat(dfd, &st);
	check_pos(&b);
	if (r || (long) (n - (a.wpos - a.rpos)) < 0 || (long) (n - (b.wpos - b.rpos)) > 0)
		error("FIONREAD", n, a.wpos - a.rpos);
	if ((long) (st.st_size - (a.wpos - a.rpos)) < 0 || (long) (st.st_size - (b.wpos - b.rpos)) > 0)
		error("st_size", st.st_size, a.wpos - a.rpos);
}

/* the end of the stream: everything consumed, writers gone */
static void r_final(void)
{
	struct xmmap_pos p;
	unsigned long t, w = B.pos;
	long r;
	int m;

	check_pos(&p);
	r = s_read(dfd, buf, 100);
	if (r != 0)
		error("read at EOF", r, 0);
	t = w + 1;
	r = s_ioctl(dfd, XMMAP_WAITDATA, &t);
	if (r != XMMAP_EOF || t != w)
		error("WAITDATA at EOF", r, t);
	/* a page wholly past the end: SIGBUS (R-EOF-1) */
	t = ((w + PAGE - 1) & ~(PAGE - 1)) + rnd(3) * PAGE + rnd(PAGE);
	m = do_map(t, 1 + rnd(100));
	if (m >= 0) {
		if (touch(m, t, 1, 0, 0, 0) >= 0)
			B.sbx++;
		else
			error("no SIGBUS past the end", t, w);
	}
	/* the last page: bytes past wpos are 0, what a writer stored uncommitted, or
	 * (a reused page, R-REUSE-1) this stream's own byte k * 64 KiB earlier */
	if (w & (PAGE - 1)) {
		unsigned long lo = w & ~(PAGE - 1), i, q;
		m = do_map(lo, PAGE);
		if (m >= 0 && touch(m, lo, w - lo, w, w, 0) < 0) {
			volatile unsigned char *a = (volatile unsigned char *) maps[m].addr;
			for (i = w - lo; i < PAGE; i++) {
				unsigned char v = a[i], f = pat(lo + i);
				int ok = v == 0 || v == f || v == (unsigned char) ~f;
				for (q = lo + i; !ok && q >= XMMAP_SIZE; q -= XMMAP_SIZE)
					ok = v == pat(q - XMMAP_SIZE) || v == (unsigned char) ~pat(q - XMMAP_SIZE);
				if (!ok)
					mismatch("tail", lo + i, v);
			}
		} else
			error("last page not mapped", lo, w);
	}
}

static void r_op(void)
{
	unsigned long r;
	int xm = B.ops >= B.xphase;

	if (B.eof && rnd(2)) {		/* drain */
		if (xm && rnd(2))
			r_consume();
		else
			r_read(0);
		return;
	}
	r = rnd(xm ? 100 : 30);
	if (r < 15)
		r_read(0);
	else if (r < 18)
		r_read(1);
	else if (r < 25) {
		struct xmmap_pos p;
		check_pos(&p);
	} else if (r < 27)
		r_fionread();
	else if (r < 29)
		r_select();
	else if (r < 30)
		r_select();
	else if (r < 38)
		r_waitdata();
	else if (r < 40)
		r_waitfull();
	else if (r < 55)
		r_consume();
	else if (r < 72)
		r_touch();
	else if (r < 75)
		r_touch_gone();
	else if (r < 80)
		r_touch_wait();
	else if (r < 85)
		map_op();
	else if (r < 89) {
		if (nmaps)
			goto unmap;
	} else if (r < 91)
		op_fork();
	else if (r < 94)
		bad_calls();
	else if (r < 96)
		op_doomed();
	else if (r < 97 && rnd(4) == 0)
		op_exec();
	return;
unmap:
	{
		int i = rnd(nmaps);
		unsigned long np = maps[i].len / PAGE, a, b;
		if (np > 1 && rnd(2)) {
			a = rnd(np);
			b = a + 1 + rnd(np - a);
			if (a == 0 && b == np)
				goto whole;
			if (a && b < np && nmaps == MAXMAP)
				goto whole;
			if (s_munmap(maps[i].addr + a * PAGE, (b - a) * PAGE))
				error("munmap part", 0, 0);
			if (a && b < np) {
				maps[nmaps] = maps[i];
				maps[nmaps].addr += b * PAGE;
				maps[nmaps].pos += b * PAGE;
				maps[nmaps].len -= b * PAGE;
				nmaps++;
				maps[i].len = a * PAGE;
			} else if (a) {
				maps[i].len = a * PAGE;
			} else {
				maps[i].addr += b * PAGE;
				maps[i].pos += b * PAGE;
				maps[i].len -= b * PAGE;
			}
			return;
		}
whole:
		unmap_all_of(i);
		return;
	}
}

/* ---------------- writer side ---------------- */
static unsigned char wbuf[72 * 1024];

static void w_write(int nb)
{
	unsigned long n = rnd(8) ? rsize(PIPE_BUF) : PIPE_BUF + 1 + rnd(sizeof(wbuf) - PIPE_BUF - 1);
	unsigned long done = 0;
	int t = !nb && rnd(6) == 0;

	wgen(wbuf, B.pos, n);
	if (nb)
		nonblock(1);
	if (t)
		timer_us(1000 + rnd(20000));
	while (done < n) {
		long r = s_write(dfd, wbuf + done, n - done);
		if (r > 0) {
			if (n <= PIPE_BUF && (unsigned long) r != n)
				error("PIPE_BUF write split", r, n);
			done += r;
			B.pos += r;
			continue;
		}
		if (r == -EINTR) {
			B.intr++;
			if (t) {
				/* carry on without the timer */
				t = 0;
				continue;
			}
			continue;
		}
		if (r == -EAGAIN && nb)
			break;
		error("write", r, n);
		break;
	}
	if (t)
		timer_us(0);
	if (nb)
		nonblock(0);
}

/* make sure [wpos, wpos+k) is inside the window; may wait (only while room < 4096) */
static unsigned long w_room(unsigned long k)
{
	struct xmmap_pos p;
	unsigned long t;
	long r;

	if ((long) (limit_of(B.kother) - (B.pos + k)) >= 0)
		return k;
	check_pos(&p);
	if ((long) (limit_of(B.kother) - (B.pos + k)) >= 0)
		return k;
	if (k > PIPE_BUF)
		k = PIPE_BUF;
	t = B.pos + k;
	if ((long) (limit_of(B.kother) - t) >= 0)
		return k;
	do {
		r = s_ioctl(dfd, XMMAP_WAITSPACE, &t);
		if (r == -EINTR)
			B.intr++;
	} while (r == -EINTR);
	B.mapped = 1;
	B.waits++;
	if (r) {
		error("WAITSPACE", r, B.pos + k);
		return 0;
	}
	if ((long) (t - (B.pos + k)) < 0)
		error("WAITSPACE returned a limit below target", t, B.pos + k);
	check_pos(&p);
	return k;
}

static void w_commit(void)
{
	unsigned long k = rsize(16384), extra, c1;
	int m;
	long r, pg;

	if (rnd(25) == 0) {
		r = s_ioctl(dfd, XMMAP_COMMIT, XMMAP_SIZE + 1 + rnd(100));
		if (r != -EINVAL)
			error("COMMIT beyond limit", r, -EINVAL);
		B.mapped = 1;
		return;
	}
	k = w_room(k);
	if (!k)
		return;
	m = need_map(B.pos, k);
	if (m < 0)
		return;
	pg = touch(m, B.pos, k, 0, 0, 1);
	if (pg >= 0) {
		sigbus_unexpected();
		tag();
		out_s("ERROR SIGBUS storing at page ");
		out_u(pg);
		out_c('\n');
		return;
	}
	/* sometimes store beyond what is committed now */
	extra = limit_of(B.kother) - (B.pos + k);
	if ((long) extra > 0 && rnd(4) == 0) {
		extra = 1 + rnd(extra > 8192 ? 8192 : extra);
		m = need_map(B.pos + k, extra);
		if (m >= 0 && touch(m, B.pos + k, extra, 0, 0, rnd(3) ? 1 : 2) >= 0)
			sigbus_unexpected();
	}
	c1 = rnd(3) == 0 ? rnd(k + 1) : k;
	r = s_ioctl(dfd, XMMAP_COMMIT, c1);
	if (r) {
		error("COMMIT", r, c1);
		return;
	}
	B.pos += c1;
	if (c1 != k) {
		/* the rest, unless a garbage store above landed in it: store again */
		m = need_map(B.pos, k - c1);
		if (m < 0 || touch(m, B.pos, k - c1, 0, 0, 1) >= 0)
			return;
		r = s_ioctl(dfd, XMMAP_COMMIT, k - c1);
		if (r) {
			error("COMMIT rest", r, k - c1);
			return;
		}
		B.pos += k - c1;
	}
}

/* uncommitted garbage ahead of wpos: write() must overwrite it (R-COMMIT-3) */
static void w_garbage(void)
{
	unsigned long room = limit_of(B.kother) - B.pos, k;
	int m;
	if ((long) room <= 0)
		return;
	k = 1 + rnd(room > 8192 ? 8192 : room);
	m = need_map(B.pos, k);
	if (m >= 0 && touch(m, B.pos, k, 0, 0, 2) >= 0)
		sigbus_unexpected();
}

static void w_touch(void)
{
	unsigned long lo = B.kother & ~(PAGE - 1), q, n;
	int m;
	long pg;
	struct xmmap_pos p;

	if (B.pos == lo)
		return;
	q = lo + rnd(B.pos - lo);
	n = 1 + rnd(B.pos - q);
	if (n > 20000)
		n = 1 + rnd(20000);
	m = need_map(q, n);
	if (m < 0)
		return;
	check_pos(&p);		/* after the mapping: the pipe is in mapped mode */
	pg = touch(m, q, n, p.rpos, B.pos, 0);
	if (pg >= 0) {
		check_pos(&p);
		if ((long) (p.rpos - (pg + PAGE)) >= 0)
			B.sbx++;
		else {
			sigbus_unexpected();
			tag();
			out_s("ERROR SIGBUS on unconsumed page ");
			out_u(pg);
			out_s(" rpos=");
			out_u(p.rpos);
			out_c('\n');
		}
	}
}

/* store beyond the window: waits for consumption (R-WAIT-3), only while room < 4096 */
static void w_touch_wait(void)
{
	unsigned long lo = limit_of(B.kother), hi = B.pos + PIPE_BUF, q;
	struct xmmap_pos p;
	int m, tm;
	long pg;

	if ((long) (lo - B.pos) < 0)
		lo = B.pos;	/* never store to committed positions (R-COMMIT-6) */
	if ((long) (hi - lo) <= 0)
		return;
	q = lo + rnd(hi - lo);
	m = need_map(q, 1);
	if (m < 0)
		return;
	pg = waiting_touch(m, q, 1, &tm);
	B.waits++;
	check_pos(&p);
	if (pg >= 0) {
		sigbus_unexpected();
		tag();
		out_s("ERROR SIGBUS on a write fault beyond the window ");
		out_u(pg);
		out_s(" q=");
		out_u(q);
		out_s(" rpos=");
		out_u(p.rpos);
		out_s(" wpos=");
		out_u(p.wpos);
		out_s(" limit=");
		out_u(p.limit);
		out_s(" flags=");
		out_u(p.flags);
		out_s(" timer=");
		out_u(tm);
		out_c('\n');
	} else if ((long) (p.limit - q) <= 0)
		error("write fault completed outside the window", q, p.limit);
}

static void w_select(void)
{
	fd_set256 s;
	struct timeval t = { 0, 0 };
	long r;
	memset(&s, 0, sizeof(s));
	s.bits[dfd / 32] |= 1UL << (dfd % 32);
	r = s_select(dfd + 1, 0, &s, 0, &t);
	if (B.mapped && (long) (limit_of(B.kother) - B.pos) >= PIPE_BUF && r != 1)
		error("select: room but not writable", r, limit_of(B.kother) - B.pos);
}

static void w_op(void)
{
	unsigned long r;
	int xm = B.ops >= B.xphase;

	r = rnd(xm ? 100 : 30);
	if (r < 16)
		w_write(0);
	else if (r < 19)
		w_write(1);
	else if (r < 26) {
		struct xmmap_pos p;
		check_pos(&p);
	} else if (r < 28)
		w_select();
	else if (r < 30)
		w_write(0);
	else if (r < 50)
		w_commit();
	else if (r < 53)
		w_garbage();
	else if (r < 65)
		w_touch();
	else if (r < 70)
		w_touch_wait();
	else if (r < 73)
		bad_calls();
	else if (r < 80)
		map_op();
	else if (r < 85) {
		if (nmaps)
			unmap_all_of(rnd(nmaps));
	} else if (r < 86)
		op_fork();
	else if (r < 92)
		w_write(0);
	else if (r < 94)
		op_doomed();
	else if (r < 95 && rnd(4) == 0)
		op_exec();
}

/* ---------------- the side loop ---------------- */
static void report_and_exit(void)
{
	long r;
	B.cmd = side;
	do
		r = s_write(repfd, &B, sizeof(B));
	while (r == -EINTR);
	s_exit(0);
}

static void finish(void)
{
	int i;
	for (i = 0; i < MAXM; i++)
		if (i != me && i != 0 && (B.alive & (1UL << i)))
			send_baton(i, CMD_EXIT);
	B.alive &= 1;
	if (me != 0) {
		send_baton(0, CMD_FINISH);
		s_exit(0);
	}
	report_and_exit();
}

static void run(void)
{
	for (;;) {
		unsigned long r;
		/*
		 * Every operation draws from its own PRNG stream: the sequence of
		 * operations of a side depends on the seed alone, even where the
		 * arguments depend on what the other side has done meanwhile.
		 */
		if (side == 'W' && B.ops >= B.budget)
			finish();
		B.rng = mix32(B.seed0 ^ mix32(B.ops + 1)) | 1;
		B.ops++;
		if (side == 'R' && B.eof && B.pos == B.kother) {
			struct xmmap_pos p;
			check_pos(&p);
			if ((p.flags & XMMAP_F_NOWRITERS) && p.wpos == B.pos) {
				r_final();
				finish();
			}
		}
		r = rnd(100);
		if (r < 3) {
			/* hand the baton on (maybe to ourselves) */
			int to = pick_member();
			if (to != me) {
				send_baton(to, CMD_RUN);
				return;
			}
			continue;
		}
		if (r < 4 && me != 0) {
			/* retire: hand on and exit */
			B.alive &= ~(1UL << me);
			send_baton(pick_member(), CMD_RUN);
			s_exit(0);
		}
		if (side == 'R')
			r_op();
		else
			w_op();
	}
}

static void member_loop(void)
{
	for (;;) {
		recv_baton();
		if (B.cmd == CMD_EXIT)
			s_exit(0);
		if (B.cmd == CMD_FINISH)
			report_and_exit();
		run();
	}
}

static void side_main(int s, int fd, unsigned long budget, unsigned long xphase)
{
	int i;
	side = s;
	me = 0;
	dfd = fd;
	for (i = 0; i < MAXM; i++)
		s_pipe(bfd[i]);
	set_handler(SIGBUS, on_bus, SA_NOMASK);
	set_handler(SIGSEGV, on_segv, 0);
	set_handler(SIGALRM, on_alrm, 0);
	set_handler(SIGPIPE, on_pipe, 0);
	memset(&B, 0, sizeof(B));
	B.seed0 = mix32(episode_seed ^ (s == 'R' ? 0x5171 : 0x9a3b));
	B.budget = budget;
	B.xphase = xphase;
	B.alive = 1;
	B.cmd = CMD_RUN;
	run();
	member_loop();
}

/* ---------------- controller ---------------- */
struct totals {
	unsigned long ops, mism, sbu, errs, sbx, intr, forks, execs, dooms, waits, hangs, episodes;
	unsigned long pipes, fifos, bytes, lost;
};

static volatile int wd_fired;
static void on_wd(int s)
{
	wd_fired = 1;
}

static unsigned long seed, verbose, timeout_s;

/* failure counts of an episode: from the batons, or from the tally pipe */
struct fails {
	unsigned long mism, errs, sbu;
};

static void add(struct totals *t, struct baton *b, struct fails *f)
{
	t->ops += b->ops;
	f->mism += b->mism;
	f->sbu += b->sbu;
	f->errs += b->errs;
	t->sbx += b->sbx;
	t->intr += b->intr;
	t->forks += b->forks;
	t->execs += b->execs;
	t->dooms += b->dooms;
	t->waits += b->waits;
}

static unsigned long max_ul(unsigned long a, unsigned long b)
{
	return a > b ? a : b;
}

static void run_episode(int e, unsigned long seedv, struct totals *t)
{
	int dp[2], rp[2], sp[2], tp[2], fifo, got = 0;
	struct fails fb, ft;
	static char tb[512];
	unsigned long h = mix32(seedv * 0x9E3779B1UL ^ mix32(e + 1)), budget, xr, xw;
	long pr, pw, st;
	struct baton rb[2];
	char c;

	episode = e;
	episode_seed = h;
	skey = mix32(h ^ 0xabcdef);
	fifo = (h & 7) < 3;
	rdwr = fifo && ((h >> 3) & 3) == 0;
	budget = 300 + (mix32(h + 1) % 3000);
	xr = (h >> 8) & 1 ? 0 : mix32(h + 2) % 200;
	xw = (h >> 9) & 1 ? 0 : mix32(h + 3) % 200;
	if (verbose) {
		out_s("episode ");
		out_u(e);
		out_s(fifo ? (rdwr ? " fifo(rdwr writer)" : " fifo") : " pipe");
		out_s(" writer_ops=");
		out_u(budget);
		out_s(" classic_ops=");
		out_u(xr);
		out_c('/');
		out_u(xw);
		out_c('\n');
	}
	s_pipe(rp);
	s_pipe(sp);
	s_pipe(tp);
	s_fcntl(tp[0], F_SETFL, O_NONBLOCK);
	s_fcntl(tp[1], F_SETFL, O_NONBLOCK);
	if (!fifo)
		s_pipe(dp);
	pr = s_fork();
	if (pr == 0) {
		int fd;
		s_close(rp[0]);
		s_close(tp[0]);
		tallyfd = tp[1];
		repfd = rp[1];
		if (fifo) {
			fd = s_open(fifo_path, O_RDONLY, 0);
			if (fd < 0) {
				out_s("stress: open fifo for reading failed\n");
				s_exit(1);
			}
		} else {
			s_close(dp[1]);
			fd = dp[0];
		}
		s_write(sp[1], "r", 1);
		s_close(sp[0]);
		s_close(sp[1]);
		side_main('R', fd, 0, xr);
	}
	pw = s_fork();
	if (pw == 0) {
		int fd;
		s_close(rp[0]);
		s_close(tp[0]);
		tallyfd = tp[1];
		repfd = rp[1];
		if (fifo) {
			fd = s_open(fifo_path, rdwr ? O_RDWR : O_WRONLY, 0);
			if (fd < 0) {
				out_s("stress: open fifo for writing failed\n");
				s_exit(1);
			}
		} else {
			s_close(dp[0]);
			fd = dp[1];
		}
		while (s_read(sp[0], &c, 1) == -EINTR)
			;
		s_close(sp[0]);
		s_close(sp[1]);
		side_main('W', fd, budget, xw);
	}
	if (!fifo) {
		s_close(dp[0]);
		s_close(dp[1]);
	}
	s_close(sp[0]);
	s_close(sp[1]);
	s_close(rp[1]);
	s_close(tp[1]);
	wd_fired = 0;
	set_handler(SIGALRM, on_wd, 0);
	s_alarm(timeout_s);
	while (got < 2) {
		long r = s_read(rp[0], &rb[got], sizeof(struct baton));
		if (r == sizeof(struct baton)) {
			got++;
			continue;
		}
		if (r == -EINTR && !wd_fired)
			continue;
		break;
	}
	s_alarm(0);
	if (got < 2) {
		out_s("STRESS-HANG episode ");
		out_u(e);
		out_s(wd_fired ? " timed out" : " lost a side");
		out_s(", killing it\n");
		t->hangs++;
		s_kill(-1, SIGKILL);
	}
	s_close(rp[0]);
	while ((pr = s_waitpid(-1, &st, 0)) != -ECHILD_)
		;
	/* every process of the episode is gone: drain the tally pipe */
	memset(&ft, 0, sizeof(ft));
	for (;;) {
		long r = s_read(tp[0], tb, sizeof(tb)), i;
		if (r == -EINTR)
			continue;
		if (r <= 0)
			break;
		for (i = 0; i < r; i++)
			if (tb[i] == 'M')
				ft.mism++;
			else if (tb[i] == 'S')
				ft.sbu++;
			else
				ft.errs++;	/* E, and F: a process died */
	}
	s_close(tp[0]);
	memset(&fb, 0, sizeof(fb));
	while (got--) {
		add(t, &rb[got], &fb);
		if (rb[got].cmd == 'R')
			t->bytes += rb[got].pos;
	}
	if (ft.mism > fb.mism || ft.errs > fb.errs || ft.sbu > fb.sbu) {
		/* failures seen by a process whose counts never came back */
		t->lost++;
		out_s("STRESS-LOST episode ");
		out_u(e);
		out_s(": batons mismatches/errors/sigbus=");
		out_u(fb.mism);
		out_c('/');
		out_u(fb.errs);
		out_c('/');
		out_u(fb.sbu);
		out_s(", tally ");
		out_u(ft.mism);
		out_c('/');
		out_u(ft.errs);
		out_c('/');
		out_u(ft.sbu);
		out_c('\n');
	}
	t->mism += max_ul(fb.mism, ft.mism);
	t->errs += max_ul(fb.errs, ft.errs);
	t->sbu += max_ul(fb.sbu, ft.sbu);
	t->episodes++;
	if (fifo)
		t->fifos++;
	else
		t->pipes++;
}

static void run_all(unsigned long seedv, unsigned long ops, long only, struct totals *t, int progress)
{
	int e;
	unsigned long next = ops / 10;
	memset(t, 0, sizeof(*t));
	for (e = only >= 0 ? only : 0; t->ops < ops || (only >= 0 && t->episodes == 0); e++) {
		run_episode(e, seedv, t);
		if (only >= 0)
			break;
		if (t->hangs >= 3) {
			/* a hung episode adds no ops: do not loop until the host gives up */
			out_s("stress: 3 episodes hung, giving up\n");
			break;
		}
		if (progress && t->ops >= next) {
			out_s("stress: ");
			out_u(t->ops);
			out_s(" ops, ");
			out_u(t->episodes);
			out_s(" streams, ");
			out_u(t->bytes);
			out_s(" bytes checked, mismatches=");
			out_u(t->mism);
			out_s(" errors=");
			out_u(t->errs);
			out_c('\n');
			next += ops / 10;
		}
	}
}

static int has_xmmap(void)
{
	int fds[2];
	struct xmmap_pos p;
	long r, m;
	s_pipe(fds);
	r = s_ioctl(fds[0], XMMAP_GETPOS, &p);
	m = s_mmap(0, PAGE, PROT_READ, MAP_SHARED, fds[0], 0);
	if (!is_err(m))
		s_munmap(m, PAGE);
	s_close(fds[0]);
	s_close(fds[1]);
	out_s("stress: XMMAP_GETPOS ");
	out_d(r);
	out_s(", mmap of a pipe ");
	out_d(is_err(m) ? m : 0);
	out_c('\n');
	return r == 0 && !is_err(m);
}

static void summary(unsigned long ops, unsigned long mism, unsigned long sbu, long m0, long m1, const char *v)
{
	out_s("STRESS seed=");
	out_u(seed);
	out_s(" ops=");
	out_u(ops);
	out_s(" mismatches=");
	out_u(mism);
	out_s(" sigbus_unexpected=");
	out_u(sbu);
	out_s(" mem_before=");
	out_d(m0);
	out_s(" mem_after=");
	out_d(m1);
	out_s(" verdict=");
	out_s(v);
	out_c('\n');
}

int main(int argc, char **argv, char **envp)
{
	int init = s_getpid() == 1;
	unsigned long ops, warm;
	long only, m0, m1, t0, t1;
	struct totals t, w;
	int ok;

	genv = envp;
	if (argc > 1 && strcmp(argv[1], "stress-exec-child") == 0)
		return 0;
	if (init) {
		init_console();
		sys5(NR_mount, (long) "none", (long) "/proc", (long) "proc", 0xC0ED0000, 0);
	}
	ops = env_ul("stress_ops", 100000);
	seed = env_ul("stress_seed", 1);
	warm = env_ul("stress_warmup", 3000);
	verbose = env_ul("stress_verbose", 0);
	timeout_s = env_ul("stress_timeout", 120);
	selftest = env_ul("stress_selftest", 0);
	only = env("stress_episode") ? (long) env_ul("stress_episode", 0) : -1;
	out_s("stress: seed=");
	out_u(seed);
	out_s(" ops=");
	out_u(ops);
	out_s(" warmup=");
	out_u(warm);
	if (only >= 0) {
		out_s(" episode=");
		out_d(only);
	}
	out_c('\n');
	if (!has_xmmap()) {
		m0 = memfree();
		out_s("stress: this kernel has no extended mmap() of pipes; nothing to stress\n");
		summary(0, 0, 0, m0, m0, "REFUSED");
		goto out;
	}
	s_unlink(fifo_path);
	if (s_mknod(fifo_path, S_IFIFO | 0600, 0)) {
		out_s("stress: mknod of the FIFO failed\n");
		summary(0, 0, 0, -1, -1, "FAIL");
		goto out;
	}
	memset(&w, 0, sizeof(w));
	if (warm) {
		/* its failures count too: a kernel bug it finds is a bug */
		run_all(seed ^ 0x77777777UL, warm, -1, &w, 0);
		out_s("stress: warm-up done: ");
		out_u(w.ops);
		out_s(" ops, mismatches=");
		out_u(w.mism);
		out_s(" errors=");
		out_u(w.errs);
		out_s(" sigbus_unexpected=");
		out_u(w.sbu);
		out_s(" hangs=");
		out_u(w.hangs);
		out_c('\n');
	}
	msleep(100);
	m0 = memfree();
	out_s("stress: free memory before: ");
	out_d(m0);
	out_c('\n');
	t0 = now_ms();
	measuring = 1;
	run_all(seed, ops, only, &t, 1);
	measuring = 0;
	t1 = now_ms();
	/* the counts of the summary are those of the warm-up and the run */
	t.mism += w.mism;
	t.sbu += w.sbu;
	t.errs += w.errs;
	t.hangs += w.hangs;
	t.lost += w.lost;
	msleep(100);
	m1 = memfree();
	out_s("STRESS-DETAIL streams=");
	out_u(t.episodes);
	out_s(" pipes=");
	out_u(t.pipes);
	out_s(" fifos=");
	out_u(t.fifos);
	out_s(" bytes=");
	out_u(t.bytes);
	out_s(" errors=");
	out_u(t.errs);
	out_s(" hangs=");
	out_u(t.hangs);
	out_s(" sigbus_expected=");
	out_u(t.sbx);
	out_s(" waits=");
	out_u(t.waits);
	out_s(" eintr=");
	out_u(t.intr);
	out_s(" forks=");
	out_u(t.forks);
	out_s(" execs=");
	out_u(t.execs);
	out_s(" killed_waiters=");
	out_u(t.dooms);
	out_s(" warmup_ops=");
	out_u(w.ops);
	out_s(" counts_from_tally=");
	out_u(t.lost);
	out_s(" ms=");
	out_d(t1 - t0);
	out_c('\n');
	ok = t.mism == 0 && t.sbu == 0 && t.errs == 0 && t.hangs == 0 && m0 > 0 && m1 >= m0 && t.ops >= ops;
	summary(t.ops, t.mism, t.sbu, m0, m1, ok ? "OK" : "FAIL");
out:
	if (init) {
		s_unlink(fifo_path);
		s_sync();
		s_reboot(0xfee1dead, 672274793, 0x01234567);
		for (;;)
			msleep(1000);
	}
	return 0;
}
