/* t.h - minimal test helpers: CHECK prints "ok"/"not ok" per assertion; main returns t_done(). */
#ifndef T_H
#define T_H
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
static int t_fail, t_count;
#define CHECK(cond, ...)                                                          \
	do {                                                                          \
		t_count++;                                                                \
		if (cond) {                                                               \
			printf("ok %d - ", t_count);                                          \
		} else {                                                                  \
			t_fail++;                                                             \
			printf("not ok %d - (%s:%d errno=%s) ", t_count, __FILE__, __LINE__, \
			       strerror(errno));                                             \
		}                                                                         \
		printf(__VA_ARGS__);                                                      \
		printf("\n");                                                             \
		fflush(stdout);                                                           \
	} while (0)
#include <unistd.h>
/* watchdog: a test never hangs the suite (e.g. no loopback network in a container) */
__attribute__((constructor)) static void t_watchdog(void)
{
	alarm(60);
}
static int t_done(void)
{
	printf("# %d checks, %d failed\n", t_count, t_fail);
	return t_fail ? 1 : 0;
}
#endif
