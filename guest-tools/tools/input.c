/*
 * input.c -- see input.h.  Plain C99 + POSIX + the xmmap user header.
 */
#define _POSIX_C_SOURCE 200809L
#include "input.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../include/xmmap.h"

#ifndef MAP_FAILED
#define MAP_FAILED ((void *) -1)
#endif

#define PAGE 4096UL
#define PIPE_BUF_XMMAP 4096UL	/* PIPE_BUF of 2.0.36 */
/* Address space of one read-end mapping of a pipe; remapped further on when
   the stream outgrows it (R-MAP-3: the length need not exist). */
#define PMAPLEN (256UL << 20)

size_t in_bufsize = 0;
size_t in_default_bufsize = 65536;
const char *progname = "tool";

const char *method_name(int method)
{
	return method == METHOD_MMAP ? "mmap" : "read";
}

int in_parse_method(int argc, char **argv, int *method)
{
	int i = 1;
	*method = METHOD_READ;
	while (i < argc) {
		const char *a = argv[i];
		if (strncmp(a, "--method=", 9) == 0) {
			if (strcmp(a + 9, "read") == 0)
				*method = METHOD_READ;
			else if (strcmp(a + 9, "mmap") == 0)
				*method = METHOD_MMAP;
			else {
				fprintf(stderr, "%s: invalid method '%s' (read or mmap)\n", progname, a + 9);
				exit(2);
			}
		} else if (strncmp(a, "--buffer=", 9) == 0) {
			char *e;
			unsigned long v = strtoul(a + 9, &e, 10);
			if (*e || v < 1 || v > (1UL << 30)) {
				fprintf(stderr, "%s: invalid buffer size '%s'\n", progname, a + 9);
				exit(2);
			}
			in_bufsize = v;
		} else
			break;
		i++;
	}
	return i;
}

int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t r = write(fd, p, n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += r;
		n -= (size_t) r;
	}
	return 0;
}

static void die2(const struct input *in, const char *what, int e)
{
	fprintf(stderr, "%s: %s: --method=mmap: %s: %s\n", progname,
		strcmp(in->name, "-") == 0 ? "(standard input)" : in->name, what, strerror(e));
	exit(2);
}

/* Map [pos & ~4095, +PMAPLEN) of the pipe's stream. */
static void pipe_map(struct input *in)
{
	unsigned long off = in->pos & ~(PAGE - 1);
	void *m;
	if (in->pmap)
		munmap(in->pmap, in->pmaplen);
	in->pmap = 0;
	m = mmap(0, PMAPLEN, PROT_READ, MAP_SHARED, in->fd, (off_t) off);
	if (m == MAP_FAILED) {
		int e = errno;
		if (e == ENODEV || e == EINVAL || e == EACCES)
			die2(in, "a pipe needs the extended mmap(), which this kernel lacks (mmap)", e);
		die2(in, "mmap() of the pipe's read end", e);
	}
	in->pmap = m;
	in->pmapoff = off;
	in->pmaplen = PMAPLEN;
}

int in_open(struct input *in, const char *name, int method)
{
	struct stat st;
	memset(in, 0, sizeof(*in));
	in->name = name;
	in->method = method;
	if (strcmp(name, "-") == 0)
		in->fd = 0;
	else {
		in->fd = open(name, O_RDONLY);
		if (in->fd < 0)
			return -1;
		in->ownfd = 1;
	}
	if (fstat(in->fd, &st) < 0) {
		int e = errno;
		if (in->ownfd)
			close(in->fd);
		errno = e;
		return -1;
	}
	if (S_ISREG(st.st_mode))
		in->kind = IN_REG;
	else if (S_ISFIFO(st.st_mode))
		in->kind = IN_FIFO;
	else if (S_ISDIR(st.st_mode))
		in->kind = IN_DIR;
	else
		in->kind = IN_OTHER;

	if (method == METHOD_READ) {
		in->cap = in_bufsize ? in_bufsize : in_default_bufsize;
		in->buf = malloc(in->cap);
		if (!in->buf) {
			fprintf(stderr, "%s: out of memory\n", progname);
			exit(2);
		}
		return 0;
	}
	switch (in->kind) {
	case IN_REG: {
		off_t cur = lseek(in->fd, 0, SEEK_CUR);
		size_t base;
		if (cur < 0)
			cur = 0;
		in->fsize = (size_t) st.st_size;
		if ((off_t) in->fsize != st.st_size) {
			errno = EFBIG;
			die2(in, "file too large to map", EFBIG);
		}
		if ((size_t) cur >= in->fsize) {
			in->eof = 1;
			in->foff = in->fsize;
			return 0;
		}
		base = (size_t) cur & ~(size_t) (PAGE - 1);
		in->fbase = base;
		in->fmaplen = in->fsize - base;
		in->fmap = mmap(0, in->fmaplen, PROT_READ, MAP_SHARED, in->fd, (off_t) base);
		if (in->fmap == MAP_FAILED) {
			in->fmap = 0;
			die2(in, "mmap() of the file", errno);
		}
		in->foff = (size_t) cur;
		in->pos = (unsigned long) cur;
		return 0;
	}
	case IN_FIFO: {
		struct xmmap_pos xp;
		if (ioctl(in->fd, XMMAP_GETPOS, &xp) < 0)
			die2(in, "a pipe needs the extended mmap(), which this kernel lacks (XMMAP_GETPOS)",
			     errno);
		in->pos = xp.rpos;
		in->wpos = xp.rpos;
		pipe_map(in);
		return 0;
	}
	case IN_DIR:
		in->err = EISDIR;	/* reported by in_get, as read() would */
		return 0;
	default:
		fprintf(stderr, "%s: %s: --method=mmap: not a regular file or a pipe\n", progname,
			strcmp(name, "-") == 0 ? "(standard input)" : name);
		exit(2);
	}
}

static ssize_t get_read(struct input *in, const char **p)
{
	while (!in->eof) {
		size_t room, want;
		ssize_t r;
		if (in->start == in->end)
			in->start = in->end = 0;
		else if (in->start > 0) {
			/* keep the caller's unconsumed tail (a partial line) */
			memmove(in->buf, in->buf + in->start, in->end - in->start);
			in->end -= in->start;
			in->start = 0;
		}
		if (in->end == in->cap) {
			{
				char *nb = realloc(in->buf, in->cap * 2);
				if (!nb) {
					fprintf(stderr, "%s: out of memory\n", progname);
					exit(2);
				}
				in->buf = nb;
				in->cap *= 2;
			}
		}
		room = in->cap - in->end;
		want = room;
		if (in->align) {
			unsigned long send = in->pos + (in->end - in->start);
			size_t to = in->align - send % in->align;
			if (to < want)
				want = to;
		}
		r = read(in->fd, in->buf + in->end, want);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			in->eof = 1;
		in->end += (size_t) r;
		break;
	}
	*p = in->buf + in->start;
	return (ssize_t) (in->end - in->start);
}

static ssize_t get_pipe(struct input *in, const char **p)
{
	unsigned long t;
	int r;
	if (!in->eof) {
		/* the window is at most XMMAP_SIZE past rpos: keep it inside the mapping */
		if (in->pos + XMMAP_SIZE + PAGE > in->pmapoff + in->pmaplen)
			pipe_map(in);
		in->full = 0;
		/* Holding unconsumed bytes while the room left in the window is below
		   PIPE_BUF can deadlock: a writer's atomic write of up to 4096 bytes
		   waits for room that only our consumption makes, and XMMAP_WAITDATA
		   says XMMAP_FULL only once wpos = limit.  Report "full" instead. */
		if (in->wpos > in->pos &&
		    (in->pos & ~(PAGE - 1)) + XMMAP_SIZE - in->wpos < PIPE_BUF_XMMAP) {
			in->full = 1;
			*p = in->pmap + (in->pos - in->pmapoff);
			return (ssize_t) (in->wpos - in->pos);
		}
		for (;;) {
			t = in->wpos + 1;
			r = ioctl(in->fd, XMMAP_WAITDATA, &t);
			if (r < 0) {
				if (errno == EINTR)
					continue;
				die2(in, "XMMAP_WAITDATA", errno);
			}
			break;
		}
		if (r == XMMAP_EOF) {
			in->eof = 1;
			in->wpos = t;
		} else if (r == XMMAP_FULL) {
			if (t <= in->wpos)
				in->full = 1;
			in->wpos = t;
		} else
			in->wpos = t;
	}
	*p = in->pmap + (in->pos - in->pmapoff);
	return (ssize_t) (in->wpos - in->pos);
}

ssize_t in_get(struct input *in, const char **p)
{
	if (in->err) {
		errno = in->err;
		return -1;
	}
	if (in->method == METHOD_READ)
		return get_read(in, p);
	if (in->kind == IN_FIFO)
		return get_pipe(in, p);
	/* regular file: everything at once */
	in->eof = 1;
	*p = in->fmap + (in->foff - in->fbase);
	return (ssize_t) (in->fsize - in->foff);
}

void in_consume(struct input *in, size_t n)
{
	if (n == 0)
		return;
	in->pos += n;
	if (in->method == METHOD_READ)
		in->start += n;
	else if (in->kind == IN_FIFO) {
		while (ioctl(in->fd, XMMAP_CONSUME, (unsigned long) n) < 0) {
			if (errno != EINTR)
				die2(in, "XMMAP_CONSUME", errno);
		}
	} else
		in->foff += n;
}

void in_close(struct input *in)
{
	if (in->buf)
		free(in->buf);
	if (in->fmap)
		munmap(in->fmap, in->fmaplen);
	if (in->pmap)
		munmap(in->pmap, in->pmaplen);
	if (in->ownfd)
		close(in->fd);
	in->ownfd = 0;
	in->buf = 0;
	in->fmap = 0;
	in->pmap = 0;
}

/* GNU coreutils' quotef() (shell-escape quoting, C locale) for the names in
   cat's and wc's messages: the common cases. */
const char *quotef(const char *s)
{
	static char *out;
	static size_t cap;
	const unsigned char *u = (const unsigned char *) s;
	size_t n = strlen(s), i, o = 0;
	int need = 0, nonprint = 0, squote = 0, dqbad = 0;
	if (n == 0)
		return "''";
	for (i = 0; i < n; i++) {
		unsigned char c = u[i];
		if (c < 32 || c > 126)
			nonprint = need = 1;
		else if (strchr(" \"$&'()*;<=>?[\\^`|!:", c))
			need = 1;
		if (c == '\'')
			squote = 1;
		if (c == '$' || c == '`' || c == '\\' || c == '"' || c == '!')
			dqbad = 1;
	}
	if (u[0] == '~' || u[0] == '#')
		need = 1;
	if (!need)
		return s;
	if (cap < 8 * n + 8) {
		free(out);
		cap = 8 * n + 8;
		out = malloc(cap);
		if (!out)
			return s;
	}
	if (squote && !nonprint && !dqbad) {
		out[o++] = '"';
		memcpy(out + o, s, n);
		o += n;
		out[o++] = '"';
		out[o] = 0;
		return out;
	}
	{
		int open = 0;
		out[o++] = '\'';
		open = 1;
		for (i = 0; i < n; i++) {
			unsigned char c = u[i];
			if (c >= 32 && c <= 126 && c != '\'') {
				if (!open) {
					out[o++] = '\'';
					open = 1;
				}
				out[o++] = (char) c;
				continue;
			}
			if (open) {
				out[o++] = '\'';
				open = 0;
			}
			if (c == '\'') {
				memcpy(out + o, "\\'", 2);
				o += 2;
				continue;
			}
			out[o++] = '$';
			out[o++] = '\'';
			out[o++] = '\\';
			switch (c) {
			case '\a': out[o++] = 'a'; break;
			case '\b': out[o++] = 'b'; break;
			case '\f': out[o++] = 'f'; break;
			case '\n': out[o++] = 'n'; break;
			case '\r': out[o++] = 'r'; break;
			case '\t': out[o++] = 't'; break;
			case '\v': out[o++] = 'v'; break;
			default:
				out[o++] = (char) ('0' + (c >> 6));
				out[o++] = (char) ('0' + ((c >> 3) & 7));
				out[o++] = (char) ('0' + (c & 7));
			}
			out[o++] = '\'';
		}
		if (open)
			out[o++] = '\'';
		out[o] = 0;
	}
	return out;
}
