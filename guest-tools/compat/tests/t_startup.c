/* start-up: TLS through modify_ldt, errno (a %gs access), exit status, no vDSO */
#include "t.h"
#include <pthread.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <unistd.h>
#include <fcntl.h>

int main(void)
{
	unsigned short gs;
	__asm__ volatile("movw %%gs,%0" : "=r"(gs));
	CHECK(gs == 7, "%%gs holds LDT entry 0 (selector %#x)", gs);
	CHECK(pthread_self() != 0, "thread pointer readable");
	errno = 0;
	CHECK(open("/nonexistent/x", O_RDONLY) == -1 && errno == ENOENT, "errno set through TLS");
	CHECK(getauxval(AT_SYSINFO_EHDR) == 0, "vDSO hidden (as on 2.0)");
	CHECK(getpid() > 0, "getpid");
	char *p = malloc(64);
	CHECK(p != NULL, "malloc");
	free(p);
	return t_done();
}
