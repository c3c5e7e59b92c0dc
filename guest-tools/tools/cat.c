/*
 * cat -- concatenate files to standard output, by read() or by mmap().
 *   cat [--method=read|mmap] [--buffer=N] [--] [FILE...]     ("-" = stdin)
 * read:  read() into a 64 KiB buffer, write() from it (one copy in, one out).
 * mmap:  write() straight from the mapping of the file or of the pipe's read
 *        end (the only copy is the one write() makes into the output).
 * Exit: 0; 1 if a file could not be read (the others are still copied);
 * 2 if --method=mmap cannot be used (see input.h).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "input.h"

static int cat_one(const char *name, int method)
{
	struct input in;
	const char *p;
	ssize_t n;
	int ok = 1;
	if (in_open(&in, name, method) < 0) {
		fprintf(stderr, "cat: %s: %s\n", quotef(name), strerror(errno));
		return 0;
	}
	while ((n = in_get(&in, &p)) != 0) {
		if (n < 0) {
			fprintf(stderr, "cat: %s: %s\n", quotef(name), strerror(errno));
			ok = 0;
			break;
		}
		if (write_all(1, p, (size_t) n) < 0) {
			fprintf(stderr, "cat: write error: %s\n", strerror(errno));
			exit(1);
		}
		in_consume(&in, (size_t) n);
	}
	in_close(&in);
	return ok;
}

int main(int argc, char **argv)
{
	int method, i, ok = 1;
	progname = "cat";
	i = in_parse_method(argc, argv, &method);
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	else if (i < argc && argv[i][0] == '-' && argv[i][1] != 0) {
		fprintf(stderr, "cat: invalid option -- '%c'\n", argv[i][1]);
		return 1;
	}
	if (i == argc)
		ok = cat_one("-", method);
	for (; i < argc; i++)
		ok &= cat_one(argv[i], method);
	return ok ? 0 : 1;
}
