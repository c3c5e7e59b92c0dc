/*
 * demo.c -- a mapped pipe at work, step by step (docs/model.md).
 * Freestanding: uses only ../conformance/sys.c and start.S.
 *
 * Part 1: a producer write()s lines of text into a pipe; the consumer
 *         reads them only through a mapping of the read end, learning how
 *         many bytes are valid with XMMAP_WAITDATA and consuming them with
 *         XMMAP_CONSUME, until the end of the stream (and SIGBUS past it).
 * Part 2: the other way round: the writer maps the write end, stores the
 *         text in place and commits it with XMMAP_COMMIT; the reader uses
 *         plain read().
 *
 * Run as /sbin/init (pid 1) it writes to the serial console and powers
 * the machine off.  Environment (kernel command line): demo_delay=MS, the
 * pause between the producer's lines (default 300).
 */
#include "../conformance/sys.h"
#include "../include/xmmap.h"

#define PAGE 4096UL

static const char *lines[] = {
	"In 1999 a pipe could not be mapped.\n",
	"Now its read end maps like a file\n",
	"whose size nobody knows yet:\n",
	"touching an unwritten page waits for the writer,\n",
	"and past the end, once the writer is gone, is SIGBUS.\n",
	0
};

static long delay = 300;
static char **genv;

static long jb[6];
static void on_bus(int s)
{
	xlongjmp(jb, 1);
}

static void say(const char *who, const char *s)
{
	out_s(who);
	out_s(s);
}

/* print n bytes of mapped text, newlines shown as \n */
static void show(const volatile char *p, unsigned long n)
{
	unsigned long i;
	out_c('"');
	for (i = 0; i < n; i++) {
		if (p[i] == '\n')
			out_s("\\n");
		else
			out_c(p[i]);
	}
	out_c('"');
}

static void pos_line(const char *who, int fd)
{
	struct xmmap_pos p;
	s_ioctl(fd, XMMAP_GETPOS, &p);
	out_s(who);
	out_s("XMMAP_GETPOS: rpos=");
	out_u(p.rpos);
	out_s(" wpos=");
	out_u(p.wpos);
	out_s(" limit=");
	out_u(p.limit);
	out_s(p.flags & XMMAP_F_MAPPED ? " (mapped mode)" : " (classic mode)");
	out_s(p.flags & XMMAP_F_NOWRITERS ? " no writers" : "");
	out_c('\n');
}

static long wait_child(long pid)
{
	int st = 0;
	while (s_waitpid(pid, &st, 0) == -EINTR)
		;
	return st;
}

static void part1(void)
{
	int fds[2], i;
	long pid, r;
	const char *C = "consumer: ";
	const char *P = "  producer: ";
	volatile char *m;
	unsigned long pos = 0, t, map;
	long t0;
	char c;

	out_s("\n=== Part 1: producer write()s, consumer reads only through mmap() ===\n");
	s_pipe(fds);
	pid = s_fork();
	if (pid == 0) {
		s_close(fds[0]);
		msleep(delay);
		for (i = 0; lines[i]; i++) {
			long n = strlen(lines[i]);
			r = s_write(fds[1], lines[i], n);
			say(P, "write() of ");
			out_d(r);
			out_s(" bytes\n");
			msleep(delay);
		}
		say(P, "close(): no writer is left\n");
		s_close(fds[1]);
		s_exit(0);
	}
	s_close(fds[1]);
	/* one mapping for the whole stream, whatever its length (R-MAP-3) */
	r = s_mmap(0, 1UL << 30, PROT_READ, MAP_SHARED, fds[0], 0);
	if (is_err(r)) {
		say(C, "mmap() of the read end failed: ");
		out_d(r);
		out_s(" (a kernel without extended mmap)\n");
		s_kill(pid, SIGKILL);
		wait_child(pid);
		return;
	}
	map = r;
	m = (volatile char *) r;
	say(C, "mmap(len=1 GiB, PROT_READ, MAP_SHARED, read end, off=0) = ");
	out_x(r);
	out_s("\n");
	say(C, "  stream position p is at address ");
	out_x(r);
	out_s(" + p; nothing has been written yet\n");
	pos_line(C, fds[0]);
	say(C, "loading the byte at position 0 before anything is written: the access waits ...\n");
	t0 = now_ms();
	c = m[0];
	say(C, "  -> the load returned '");
	out_c(c);
	out_s("' after ");
	out_d(now_ms() - t0);
	out_s(" ms, when the producer's first bytes arrived (page 0 now mapped)\n");
	for (;;) {
		unsigned long n;
		t = pos + 1;
		say(C, "XMMAP_WAITDATA for position ");
		out_u(pos);
		out_s(" ...\n");
		r = s_ioctl(fds[0], XMMAP_WAITDATA, &t);
		if (r == XMMAP_EOF) {
			say(C, "  -> XMMAP_EOF: the writer is gone, the stream ends at position ");
			out_u(t);
			out_c('\n');
			break;
		}
		n = t - pos;
		say(C, "  -> bytes [");
		out_u(pos);
		out_s(", ");
		out_u(t);
		out_s(") are valid (");
		out_u(n);
		out_s("); in the mapping: ");
		show(m + pos, n);
		out_c('\n');
		r = s_ioctl(fds[0], XMMAP_CONSUME, n);
		pos += n;
		say(C, "  XMMAP_CONSUME(");
		out_u(n);
		out_s(") = ");
		out_d(r);
		out_s(": rpos is now ");
		out_u(pos);
		out_s(", the writer may use that room again\n");
	}
	pos_line(C, fds[0]);
	say(C, "the rest of the last page reads as 0: byte at ");
	out_u(pos);
	out_s(" is ");
	out_d(m[pos]);
	out_c('\n');
	t = (pos + PAGE) & ~(PAGE - 1);
	set_handler(SIGBUS, on_bus, SA_NOMASK);
	say(C, "touching position ");
	out_u(t);
	out_s(" (a page past the end) ... ");
	out_flush();
	if (xsetjmp(jb) == 0) {
		(void) m[t];
		out_s("no signal?!\n");
	} else
		out_s("SIGBUS, as past the end of a mapped file\n");
	set_handler(SIGBUS, SIG_DFL, 0);
	s_munmap(map, 1UL << 30);
	s_close(fds[0]);
	wait_child(pid);
	say(C, "byte granularity: a second pipe, 10 bytes written, mmap(off=3, len=4):\n");
	s_pipe(fds);
	s_write(fds[1], "0123456789", 10);
	r = s_mmap(0, 4, PROT_READ, MAP_SHARED, fds[0], 3);
	say(C, "  returned ");
	out_x(r);
	out_s(" (page offset 3 = the offset), bytes there: ");
	show((volatile char *) r, 4);
	out_c('\n');
	s_munmap(r & ~(PAGE - 1), 4 + 3);
	s_close(fds[0]);
	s_close(fds[1]);
}

static void part2(void)
{
	int fds[2], i;
	long pid, r;
	const char *W = "writer: ";
	const char *R = "  reader: ";
	char *m;
	unsigned long pos = 0, t, map;

	out_s("\n=== Part 2: writer stores through mmap() and commits, reader uses read() ===\n");
	s_pipe(fds);
	pid = s_fork();
	if (pid == 0) {
		char b[200];
		s_close(fds[1]);
		for (;;) {
			r = s_read(fds[0], b, sizeof(b));
			if (r <= 0)
				break;
			say(R, "read() returned ");
			out_d(r);
			out_s(" bytes: ");
			show(b, r);
			out_c('\n');
		}
		say(R, "read() returned 0: end of file\n");
		s_exit(0);
	}
	s_close(fds[0]);
	r = s_mmap(0, XMMAP_SIZE, PROT_WRITE, MAP_SHARED, fds[1], 0);
	if (is_err(r)) {
		say(W, "mmap() of the write end failed: ");
		out_d(r);
		out_c('\n');
		s_close(fds[1]);
		wait_child(pid);
		return;
	}
	map = r;
	m = (char *) r;
	say(W, "mmap(len=64 KiB, PROT_WRITE, MAP_SHARED, write end, off=0) = ");
	out_x(r);
	out_c('\n');
	for (i = 0; lines[i]; i++) {
		unsigned long n = strlen(lines[i]);
		t = pos + n;
		s_ioctl(fds[1], XMMAP_WAITSPACE, &t);
		say(W, "XMMAP_WAITSPACE(");
		out_u(pos + n);
		out_s("): room up to position ");
		out_u(t);
		out_c('\n');
		memcpy(m + pos, lines[i], n);
		say(W, "stored ");
		out_u(n);
		out_s(" bytes at positions [");
		out_u(pos);
		out_s(", ");
		out_u(pos + n);
		out_s(") -- not readable yet; ");
		pos_line("", fds[1]);
		r = s_ioctl(fds[1], XMMAP_COMMIT, n);
		pos += n;
		say(W, "XMMAP_COMMIT(");
		out_u(n);
		out_s(") = ");
		out_d(r);
		out_s(": wpos is now ");
		out_u(pos);
		out_s(", the reader is woken\n");
		msleep(delay);
	}
	say(W, "munmap() and close(): the reader sees EOF after the last byte\n");
	s_munmap(map, XMMAP_SIZE);
	s_close(fds[1]);
	wait_child(pid);
}

int main(int argc, char **argv, char **envp)
{
	int init = s_getpid() == 1, i;

	genv = envp;
	for (i = 0; envp[i]; i++)
		if (memcmp(envp[i], "demo_delay=", 11) == 0) {
			const char *s = envp[i] + 11;
			delay = 0;
			while (*s >= '0' && *s <= '9')
				delay = delay * 10 + (*s++ - '0');
		}
	if (init)
		init_console();
	out_s("demo: the extended mmap() of pipes (docs/model.md)\n");
	part1();
	part2();
	out_s("\ndemo: done\n");
	if (init) {
		s_sync();
		s_reboot(0xfee1dead, 672274793, 0x01234567);
		for (;;)
			msleep(1000);
	}
	return 0;
}
