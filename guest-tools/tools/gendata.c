/*
 * gendata -- deterministic text-like test data.
 *   gendata SEED BYTES
 * Writes exactly BYTES bytes to stdout: lines of lower-case words (a fixed
 * vocabulary plus random letter strings, some capitalised, some digits and
 * punctuation), about 60 bytes per line on average, one line in 200 long
 * (1-8 KiB).  ASCII only.  32-bit arithmetic only (xorshift32), so the bytes
 * are the same on every host and in the guest for the same SEED and BYTES.
 * Exit: 0; 2 usage or write error.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint32_t st;

static uint32_t rnd(void)
{
	st ^= st << 13;
	st ^= st >> 17;
	st ^= st << 5;
	return st;
}

static const char *const vocab[] = {
	"the", "pipe", "memory", "mapping", "of", "and", "a", "to", "in", "is", "read", "write",
	"kernel", "page", "buffer", "stream", "file", "process", "linux", "mmap", "copy", "data",
	"system", "call", "user", "space", "byte", "position", "window", "consume", "commit",
	"wait", "signal", "for", "with", "that", "this", "it", "on", "as", "by", "be", "are",
	"thesis", "syrowatka", "1999", "version", "2.0.36", "grep", "cat", "wc", "zero",
	"virtual", "address", "granularity", "fault", "table", "result", "time", "measure",
};
#define NV (sizeof(vocab) / sizeof(vocab[0]))

static char out[65536];
static size_t olen;
static unsigned long long left;

static void flush(void)
{
	size_t off = 0;
	while (off < olen) {
		ssize_t r = write(1, out + off, olen - off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "gendata: write error: %s\n", strerror(errno));
			exit(2);
		}
		off += (size_t) r;
	}
	olen = 0;
}

static void put(char c)
{
	if (left == 0)
		return;
	out[olen++] = c;
	left--;
	if (olen == sizeof(out))
		flush();
}

static void word(void)
{
	uint32_t r = rnd();
	const char *w;
	char tmp[16];
	size_t i, n;
	if (r % 8 == 0) {
		n = 2 + (r >> 8) % 9;
		for (i = 0; i < n; i++)
			tmp[i] = (char) ('a' + rnd() % 26);
		tmp[n] = 0;
		w = tmp;
	} else
		w = vocab[(r >> 3) % NV];
	n = strlen(w);
	for (i = 0; i < n; i++) {
		char c = w[i];
		if (i == 0 && (r >> 20) % 16 == 0 && c >= 'a' && c <= 'z')
			c = (char) (c - 32);
		put(c);
	}
	switch ((r >> 24) % 32) {
	case 0: put(','); break;
	case 1: put('.'); break;
	case 2: put(':'); break;
	}
}

int main(int argc, char **argv)
{
	char *e1, *e2;
	unsigned long seed;
	if (argc != 3) {
		fprintf(stderr, "usage: gendata SEED BYTES\n");
		return 2;
	}
	seed = strtoul(argv[1], &e1, 10);
	left = strtoull(argv[2], &e2, 10);
	if (*argv[1] == 0 || *e1 || *argv[2] == 0 || *e2) {
		fprintf(stderr, "gendata: SEED and BYTES must be decimal numbers\n");
		return 2;
	}
	st = (uint32_t) seed * 2654435761u + 0x9e3779b9u;
	if (st == 0)
		st = 1;
	while (left > 0) {
		uint32_t r = rnd();
		unsigned long target = r % 200 == 0 ? 1024 + (r >> 8) % 7168 : 10 + (r >> 8) % 100;
		unsigned long len = 0;
		while (len < target && left > 0) {
			unsigned long before = left;
			if (len > 0) {
				put(rnd() % 16 == 0 ? '\t' : ' ');
			}
			word();
			len += (unsigned long) (before - left);
		}
		put('\n');
	}
	flush();
	return 0;
}
