/*
 * wc -- count lines, words and bytes, by read() or by mmap().
 *   wc [--method=read|mmap] [--buffer=N] [-l] [-w] [-c] [--] [FILE...]
 * Output as GNU coreutils 9.1 wc under LC_ALL=C: the counts in the order
 * lines, words, bytes; a column width computed as GNU does; a "total" line
 * for more than one file.  Words as GNU 9.1 in the C locale: a word is a
 * maximal run of printable non-space bytes; the six isspace() bytes end a
 * word; other bytes (controls, NUL, DEL, bytes >= 128) neither start nor end
 * one.  Counting happens in place: in the read buffer, or in the mapping.
 * Exit: 0; 1 if an input could not be read; 2 if --method=mmap cannot be used.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "input.h"

/* 0 other (ignored), 1 word byte, 2 space, 3 newline */
static unsigned char cls[256];

static void init_cls(void)
{
	int c;
	for (c = 33; c <= 126; c++)
		cls[c] = 1;
	cls[' '] = cls['\t'] = cls['\v'] = cls['\f'] = cls['\r'] = 2;
	cls['\n'] = 3;
}

struct counts {
	unsigned long long lines, words, bytes;
};

static int print_l, print_w, print_c, width;

static void put_counts(const struct counts *c, const char *name)
{
	const char *sep = "";
	if (print_l) {
		printf("%s%*llu", sep, width, c->lines);
		sep = " ";
	}
	if (print_w) {
		printf("%s%*llu", sep, width, c->words);
		sep = " ";
	}
	if (print_c)
		printf("%s%*llu", sep, width, c->bytes);
	if (name)
		printf(" %s", strchr(name, '\n') ? quotef(name) : name);
	putchar('\n');
}

/* returns 1 ok, 0 error (counts printed), -1 could not open (nothing printed) */
static int wc_one(const char *name, int method, struct counts *c)
{
	struct input in;
	const char *p;
	ssize_t n;
	int inword = 0, ok = 1;
	unsigned long long lines = 0, words = 0, bytes = 0;
	if (in_open(&in, name, method) < 0) {
		fprintf(stderr, "wc: %s: %s\n", quotef(name), strerror(errno));
		return -1;
	}
	while ((n = in_get(&in, &p)) != 0) {
		const unsigned char *u = (const unsigned char *) p, *e;
		if (n < 0) {
			fprintf(stderr, "wc: %s: %s\n", quotef(name), strerror(errno));
			ok = 0;
			break;
		}
		e = u + n;
		bytes += (unsigned long long) n;
		for (; u < e; u++) {
			switch (cls[*u]) {
			case 1:
				inword = 1;
				break;
			case 3:
				lines++;
				/* fall through */
			case 2:
				words += (unsigned) inword;
				inword = 0;
				break;
			}
		}
		in_consume(&in, (size_t) n);
	}
	words += (unsigned) inword;
	in_close(&in);
	c->lines = lines;
	c->words = words;
	c->bytes = bytes;
	return ok;
}

int main(int argc, char **argv)
{
	int method, i, j, nfiles, ok = 1;
	char **files;
	static char *stdin_only[] = { 0 };
	struct counts tot = { 0, 0, 0 };
	progname = "wc";
	init_cls();
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
			if (a[j] == 'l')
				print_l = 1;
			else if (a[j] == 'w')
				print_w = 1;
			else if (a[j] == 'c')
				print_c = 1;
			else {
				fprintf(stderr, "wc: invalid option -- '%c'\n"
					"Try 'wc --help' for more information.\n", a[j]);
				return 1;
			}
		}
	}
	if (!print_l && !print_w && !print_c)
		print_l = print_w = print_c = 1;
	nfiles = argc - i;
	files = argv + i;
	if (nfiles == 0) {
		files = stdin_only;
		nfiles = 1;
	}
	/* GNU compute_number_width() */
	width = 1;
	if (!(nfiles == 1 && print_l + print_w + print_c == 1)) {
		unsigned long long regular = 0;
		int minw = 1;
		for (j = 0; j < nfiles; j++) {
			struct stat st;
			int r = files[j] == 0 || strcmp(files[j], "-") == 0 ? fstat(0, &st)
									   : stat(files[j], &st);
			if (r < 0)
				continue;
			if (S_ISREG(st.st_mode))
				regular += (unsigned long long) st.st_size;
			else
				minw = 7;
		}
		for (; regular >= 10; regular /= 10)
			width++;
		if (width < minw)
			width = minw;
	}
	for (j = 0; j < nfiles; j++) {
		struct counts c;
		const char *name = files[j] ? files[j] : "-";
		int r = wc_one(name, method, &c);
		if (r < 0) {
			ok = 0;
			continue;
		}
		if (r == 0)
			ok = 0;
		put_counts(&c, files[j]);
		tot.lines += c.lines;
		tot.words += c.words;
		tot.bytes += c.bytes;
	}
	if (nfiles > 1)
		put_counts(&tot, "total");
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "wc: write error: %s\n", strerror(errno));
		return 1;
	}
	return ok ? 0 : 1;
}
