/* ids and limits: 32-bit uid/gid calls -> 16-bit ones, prlimit64/ugetrlimit -> getrlimit */
#include "t.h"
#include <grp.h>
#include <sys/resource.h>
#include <unistd.h>

int main(void)
{
	uid_t r, e, s;
	gid_t g[64];
	CHECK(getuid() == geteuid(), "getuid32/geteuid32 (%u)", (unsigned)getuid());
	CHECK(getgid() == getegid(), "getgid32/getegid32");
	CHECK(getresuid(&r, &e, &s) == 0 && r == getuid() && e == geteuid(), "getresuid32");
	int n = getgroups(0, NULL);
	CHECK(n >= 0 && getgroups(64, g) == n, "getgroups32 (%d groups)", n);
	if (getuid() == 0) {
		gid_t mine[2] = {0, 42};
		CHECK(setgroups(2, mine) == 0 && getgroups(64, g) == 2 && g[1] == 42, "setgroups32");
		CHECK(setresuid(0, 0, 0) == 0, "setresuid32(0,0,0)");
		CHECK(setuid(70000) == -1 && errno == EINVAL, "uid above 16 bits refused");
	}
	struct rlimit rl;
	CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur > 0, "getrlimit NOFILE %llu",
	      (unsigned long long)rl.rlim_cur);
	CHECK(getrlimit(RLIMIT_CORE, &rl) == 0, "getrlimit CORE");
	rl.rlim_cur = 0;
	CHECK(setrlimit(RLIMIT_CORE, &rl) == 0 && getrlimit(RLIMIT_CORE, &rl) == 0 && rl.rlim_cur == 0, "setrlimit");
	CHECK(getrlimit(RLIMIT_CPU, &rl) == 0 && rl.rlim_cur == RLIM_INFINITY, "RLIM_INFINITY maps back");
	return t_done();
}
