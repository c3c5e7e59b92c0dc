/*
 * input.h -- "the bytes of an input" by one of two methods, chosen at run time.
 *
 *   METHOD_READ  read() into a private buffer (64 KiB unless --buffer=N).
 *   METHOD_MMAP  a regular file: mmap() of the whole file, read in place;
 *                a pipe or FIFO: the extended mmap() of the read end
 *                (docs/model.md): one large PROT_READ mapping, XMMAP_WAITDATA
 *                to learn how many bytes are valid, the bytes are used in place,
 *                XMMAP_CONSUME once the caller is done with them.
 *                On a kernel without extended mmap this fails (exit 2), it never
 *                falls back to read().
 *
 * Usage (all tools):
 *     while ((n = in_get(&in, &p)) > 0) { use p[0..n); in_consume(&in, k); }
 * in_get() returns the bytes not consumed yet, at least one byte more than the
 * previous call returned (unless in.eof or in.full), 0 at the end, -1 on a read
 * error (errno set).  The caller may consume fewer bytes than it was given (grep
 * keeps a partial line); they are returned again, followed by new bytes.
 */
#ifndef TOOLS_INPUT_H
#define TOOLS_INPUT_H

#include <stddef.h>
#include <sys/types.h>

enum { METHOD_READ = 0, METHOD_MMAP = 1 };
enum { IN_REG, IN_FIFO, IN_DIR, IN_OTHER };

struct input {
	const char *name;	/* as given ("-" = standard input) */
	int fd, ownfd;
	int method;
	int kind;		/* IN_REG, IN_FIFO, IN_OTHER, IN_DIR */
	int eof;		/* no byte will follow those returned */
	int full;		/* mmap pipe: no more bytes (safely) before some are consumed */
	int err;		/* errno of a deferred error (directory with mmap) */
	unsigned long pos;	/* stream position of the first unconsumed byte */
	/* METHOD_READ */
	char *buf;
	size_t cap, start, end;
	size_t align;		/* if > 0: reads stop at stream positions k*align */
	/* METHOD_MMAP, regular file */
	char *fmap;
	size_t fmaplen, fsize, foff, fbase;
	/* METHOD_MMAP, pipe */
	char *pmap;
	unsigned long pmapoff, pmaplen, wpos;
};

extern size_t in_bufsize;	/* read buffer size from --buffer=N, 0 = the tool's default */
extern size_t in_default_bufsize;	/* 65536; grep: 96 KiB + 4 KiB */
extern const char *progname;

/* Parse the leading --method=read|mmap and --buffer=N options of argv.
   Returns the index of the first other argument; exits 2 on a bad value. */
int in_parse_method(int argc, char **argv, int *method);

/* Open NAME ("-" = standard input).  0 on success, -1 with errno if the file
   cannot be opened.  Exits 2 if --method=mmap cannot be used on it (a pipe on a
   kernel without extended mmap, a terminal, ...). */
int in_open(struct input *in, const char *name, int method);
ssize_t in_get(struct input *in, const char **p);
void in_consume(struct input *in, size_t n);
void in_close(struct input *in);

/* Full write(); 0 or -1. */
int write_all(int fd, const char *p, size_t n);
const char *method_name(int method);
/* GNU quotef(): a file name as coreutils prints it in messages (C locale). */
const char *quotef(const char *name);

#endif
