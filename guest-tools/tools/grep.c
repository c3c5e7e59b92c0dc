/*
 * grep -- print lines that match, by read() or by mmap().
 *   grep [--method=read|mmap] [--buffer=N] [-F] [-c] [-v] [-n] [-i] [--] PATTERN [FILE...]
 * PATTERN is a POSIX basic regular expression (libc regcomp), or with -F a
 * fixed string; a PATTERN with newlines is a list of patterns (any may match).
 * Output as GNU grep 3.8 under LC_ALL=C: "NAME:" before lines and counts when
 * there are several files, "N:" with -n, a newline added to a last line without
 * one.  Binary input (a NUL byte): as GNU, from the 96 KiB block holding the
 * first NUL on (GNU's read size; exact for files), NUL ends a line, and instead
 * of the first selected line "grep: NAME: binary file matches" goes to stderr
 * and the file is left (with -c the counting goes on, without that message).
 * Lines are matched in place (read buffer or mapping); for regexec() the
 * current line is copied into a NUL-terminated buffer (-F needs no copy).
 * Exit: 0 a line was selected, 1 none, 2 an error (also a --method=mmap that
 * cannot be used).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "input.h"

#define BLOCK 98304UL	/* GNU grep 3.8's INITIAL_BUFSIZE: its read size */

static int opt_F, opt_c, opt_v, opt_n, opt_i, with_names;
static int npat;
static regex_t *res;
static char **fpat;
static size_t *fplen;
static unsigned char lower[256];
static char *lbuf;		/* NUL-terminated copy of a line for regexec */
static size_t lcap;
static char *carry;		/* a line longer than a pipe's window */
static size_t carrylen, carrycap;

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p) {
		fprintf(stderr, "grep: memory exhausted\n");
		exit(2);
	}
	return p;
}

static int fixed_in(const char *s, size_t n, const char *pat, size_t m)
{
	size_t i;
	if (m == 0)
		return 1;
	if (m > n)
		return 0;
	if (!opt_i) {
		const char *p = s, *end = s + n - m + 1;
		while (p < end) {
			p = memchr(p, pat[0], (size_t) (end - p));
			if (!p)
				return 0;
			if (memcmp(p + 1, pat + 1, m - 1) == 0)
				return 1;
			p++;
		}
		return 0;
	}
	for (i = 0; i + m <= n; i++) {
		size_t k = 0;
		while (k < m && lower[(unsigned char) s[i + k]] == (unsigned char) pat[k])
			k++;
		if (k == m)
			return 1;
	}
	return 0;
}

static int line_matches(const char *s, size_t n)
{
	int k;
	if (opt_F) {
		for (k = 0; k < npat; k++)
			if (fixed_in(s, n, fpat[k], fplen[k]))
				return 1;
		return 0;
	}
	if (n + 1 > lcap) {
		lcap = n + 1 > 2 * lcap ? n + 1 : 2 * lcap;
		lbuf = xrealloc(lbuf, lcap);
	}
	memcpy(lbuf, s, n);
	lbuf[n] = 0;
	for (k = 0; k < npat; k++)
		if (regexec(&res[k], lbuf, 0, 0, 0) == 0)
			return 1;
	return 0;
}

struct fstate {
	const char *dname;	/* display name */
	unsigned long long lineno, count;
	int binary;		/* a NUL was seen: NUL ends lines */
	unsigned long bfrom;	/* lines ending at or after this position are binary */
	int stop;
	int any;
};

static void emit(struct fstate *f, const char *s, size_t n)
{
	if (with_names) {
		fputs(f->dname, stdout);
		putchar(':');
	}
	if (opt_n)
		printf("%llu:", f->lineno);
	fwrite(s, 1, n, stdout);
	putchar('\n');
}

/* one line s[0..n) whose terminator (or the end of input) is at stream position endpos */
static void do_line(struct fstate *f, const char *s, size_t n, unsigned long endpos)
{
	f->lineno++;
	if (line_matches(s, n) == opt_v)
		return;
	f->any = 1;
	f->count++;
	if (opt_c)
		return;
	if (f->binary && endpos >= f->bfrom) {
		fflush(stdout);
		fprintf(stderr, "grep: %s: binary file matches\n", f->dname);
		f->stop = 1;
		return;
	}
	emit(f, s, n);
}

static void add_carry(const char *s, size_t n)
{
	if (carrylen + n > carrycap) {
		carrycap = carrylen + n > 2 * carrycap ? carrylen + n : 2 * carrycap;
		carry = xrealloc(carry, carrycap);
	}
	memcpy(carry + carrylen, s, n);
	carrylen += n;
}

/* the line from the start of s (after any carried part) up to s[k], k < n */
static void line_at(struct fstate *f, const char *s, size_t off, size_t k, unsigned long endpos)
{
	if (carrylen) {
		add_carry(s + off, k - off);
		do_line(f, carry, carrylen, endpos);
		carrylen = 0;
	} else
		do_line(f, s + off, k - off, endpos);
}

/* returns 0 ok, -1 error */
static int grep_one(const char *name, int method)
{
	struct input in;
	struct fstate f;
	const char *p;
	ssize_t n;
	unsigned long scanned = 0;
	memset(&f, 0, sizeof(f));
	f.dname = strcmp(name, "-") == 0 ? "(standard input)" : name;
	carrylen = 0;
	if (in_open(&in, name, method) < 0) {
		fprintf(stderr, "grep: %s: %s\n", f.dname, strerror(errno));
		return -1;
	}
	in.align = BLOCK;
	for (;;) {
		unsigned long base;
		size_t off = 0, k, lim;
		n = in_get(&in, &p);
		if (n < 0) {
			fflush(stdout);
			fprintf(stderr, "grep: %s: %s\n", f.dname, strerror(errno));
			in_close(&in);
			return -1;
		}
		if (n == 0) {
			if (carrylen)
				do_line(&f, carry, carrylen, in.pos);
			break;
		}
		base = in.pos;
		if (!f.binary && scanned < base + (unsigned long) n) {
			size_t from = scanned > base ? (size_t) (scanned - base) : 0;
			const char *z = memchr(p + from, 0, (size_t) n - from);
			if (z) {
				f.binary = 1;
				f.bfrom = (base + (unsigned long) (z - p)) / BLOCK * BLOCK;
			}
			scanned = base + (unsigned long) n;
		}
		/* A regular file read by read(): only lines ending before the last
		   96 KiB boundary seen, so that their block has been scanned for NUL
		   (the mapping has it all at once; a pipe is taken as it arrives). */
		lim = (size_t) n;
		if (method == METHOD_READ && in.kind == IN_REG && !in.eof) {
			unsigned long safe = scanned / BLOCK * BLOCK;
			lim = safe > base ? (size_t) (safe - base) : 0;
			if (lim > (size_t) n)
				lim = (size_t) n;
		}
		while (!f.stop) {
			const char *q;
			if (!f.binary) {
				q = memchr(p + off, '\n', lim - off);
				if (!q)
					break;
				k = (size_t) (q - p);
			} else {
				for (k = off; k < lim && p[k] != '\n' && p[k] != 0; k++)
					;
				if (k == lim)
					break;
			}
			line_at(&f, p, off, k, base + k);
			off = k + 1;
		}
		if (f.stop)
			break;
		if (in.eof) {
			if (off < (size_t) n)
				line_at(&f, p, off, (size_t) n, base + (unsigned long) n);
			off = (size_t) n;
		} else if (off == 0 && in.full) {
			add_carry(p, (size_t) n);	/* longer than the window: copy it */
			off = (size_t) n;
		}
		in_consume(&in, off);
		if (f.stop)
			break;
	}
	in_close(&in);
	if (opt_c) {
		if (with_names)
			printf("%s:", f.dname);
		printf("%llu\n", f.count);
	}
	return f.any ? 1 : 0;
}

static void usage(void)
{
	fprintf(stderr, "Usage: grep [--method=read|mmap] [--buffer=N] [-FcvniI] PATTERN [FILE...]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int method, i, j, nfiles, any = 0, err = 0;
	const char *pattern;
	char *pcopy, *s;
	progname = "grep";
	in_default_bufsize = BLOCK + 4096;
	i = in_parse_method(argc, argv, &method);
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (a[0] != '-' || a[1] == 0)
			break;
		for (j = 1; a[j]; j++) {
			switch (a[j]) {
			case 'F': opt_F = 1; break;
			case 'G': opt_F = 0; break;
			case 'c': opt_c = 1; break;
			case 'v': opt_v = 1; break;
			case 'n': opt_n = 1; break;
			case 'i': opt_i = 1; break;
			default:
				fprintf(stderr, "grep: invalid option -- '%c'\n", a[j]);
				usage();
			}
		}
	}
	if (i >= argc)
		usage();
	pattern = argv[i++];
	nfiles = argc - i;
	if (opt_v && pattern[0] == 0)
		return 1;	/* GNU: no line can be selected; no file is even opened */
	with_names = nfiles > 1;
	for (j = 0; j < 256; j++)
		lower[j] = (unsigned char) (j >= 'A' && j <= 'Z' ? j + 32 : j);

	/* the pattern list: PATTERN split at newlines */
	pcopy = xrealloc(0, strlen(pattern) + 1);
	strcpy(pcopy, pattern);
	npat = 1;
	for (s = pcopy; *s; s++)
		if (*s == '\n')
			npat++;
	res = xrealloc(0, sizeof(*res) * (size_t) npat);
	fpat = xrealloc(0, sizeof(*fpat) * (size_t) npat);
	fplen = xrealloc(0, sizeof(*fplen) * (size_t) npat);
	s = pcopy;
	for (j = 0; j < npat; j++) {
		char *nl = strchr(s, '\n');
		if (nl)
			*nl = 0;
		fpat[j] = s;
		fplen[j] = strlen(s);
		if (opt_F && opt_i) {
			size_t k;
			for (k = 0; k < fplen[j]; k++)
				s[k] = (char) lower[(unsigned char) s[k]];
		}
		if (!opt_F) {
			int r = regcomp(&res[j], s, REG_NOSUB | (opt_i ? REG_ICASE : 0));
			if (r != 0) {
				char msg[256];
				regerror(r, &res[j], msg, sizeof(msg));
				fprintf(stderr, "grep: %s\n", msg);
				return 2;
			}
		}
		s = nl ? nl + 1 : s + fplen[j];
	}
	setvbuf(stdout, 0, _IOFBF, 65536);
	if (nfiles == 0) {
		int r = grep_one("-", method);
		if (r < 0)
			err = 1;
		else
			any |= r;
	}
	for (; i < argc; i++) {
		int r = grep_one(argv[i], method);
		if (r < 0)
			err = 1;
		else
			any |= r;
	}
	if (fflush(stdout) != 0) {
		fprintf(stderr, "grep: write error: %s\n", strerror(errno));
		return 2;
	}
	return err ? 2 : any ? 0 : 1;
}
