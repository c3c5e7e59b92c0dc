/* ptys: openpty over BSD ptys (/dev/ptyXY + /dev/ttyXY), ttyname_r without /proc links */
#include "t.h"
#include <fcntl.h>
#include <pty.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void)
{
	int m, s;
	char name[64], *tn;
	struct stat st;

	if (stat("/dev/ptyp0", &st) == 0) { /* the guest (2.0: BSD ptys) */
		CHECK(openpty(&m, &s, name, NULL, NULL) == 0, "openpty -> %s", name);
		CHECK(write(m, "hi\n", 3) == 3, "write to the master");
		char b[8] = {0};
		CHECK(read(s, b, sizeof b) >= 2 && !memcmp(b, "hi", 2), "slave reads it");
		tn = ttyname(s);
		CHECK(tn && !strcmp(tn, name), "ttyname(slave) = %s", tn ? tn : "(null)");
		CHECK(isatty(s), "isatty");
	} else { /* a modern host: no BSD ptys; Unix98 ptys through musl */
		CHECK(openpty(&m, &s, name, NULL, NULL) == -1 && errno == ENOENT, "openpty: no BSD ptys here");
		m = posix_openpt(O_RDWR | O_NOCTTY);
		if (m < 0) { /* e.g. a chroot without devpts */
			printf("# skip: no Unix98 ptys here (%s)\n", strerror(errno));
			return t_done();
		}
		CHECK(grantpt(m) == 0 && unlockpt(m) == 0, "posix_openpt");
		char *pn = ptsname(m);
		s = open(pn, O_RDWR | O_NOCTTY);
		tn = ttyname(s);
		CHECK(tn && !strcmp(tn, pn), "ttyname(%s) = %s", pn, tn ? tn : "(null)");
	}
	CHECK(ttyname(0) == NULL || isatty(0), "ttyname on stdin consistent with isatty");
	return t_done();
}
