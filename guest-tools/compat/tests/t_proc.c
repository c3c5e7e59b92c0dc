/* processes: fork, vfork (-> fork), execve (%gs cleared around it), posix_spawn (clone),
 * waitpid/wait4, exit_group -> exit, kill/tkill, uname, sysinfo */
#include "t.h"
#include <spawn.h>
#include <stdlib.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
	int st;
	if (argc > 1) /* the re-executed copy */
		return atoi(argv[1]);
	pid_t p = fork();
	if (p == 0)
		_exit(3);
	CHECK(p > 0 && waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 3, "fork + waitpid");
	p = vfork();
	if (p == 0)
		_exit(4);
	CHECK(p > 0 && waitpid(p, &st, 0) == p && WEXITSTATUS(st) == 4, "vfork (a fork on 2.0)");
	p = fork();
	if (p == 0) {
		execve(argv[0], (char *[]){argv[0], "42", NULL}, environ);
		_exit(99);
	}
	CHECK(waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 42, "execve of ourselves");
	unsigned short gs0, gs1;
	__asm__ volatile("movw %%gs,%0" : "=r"(gs0));
	errno = 0;
	CHECK(execve("/nonexistent", (char *[]){"x", NULL}, environ) == -1 && errno == ENOENT,
	      "failed execve returns ENOENT (errno needs %%gs back)");
	__asm__ volatile("movw %%gs,%0" : "=r"(gs1));
	CHECK(gs0 == gs1 && gs1 != 0, "%%gs restored after a failed execve");
	CHECK(posix_spawn(&p, argv[0], NULL, NULL, (char *[]){argv[0], "5", NULL}, environ) == 0 &&
	          waitpid(p, &st, 0) == p && WEXITSTATUS(st) == 5,
	      "posix_spawn (clone + pipe2)");
	p = fork();
	if (p == 0) {
		pause();
		_exit(0);
	}
	CHECK(kill(p, SIGTERM) == 0 && waitpid(p, &st, 0) == p && WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM,
	      "kill");
	struct utsname u;
	CHECK(uname(&u) == 0 && !strcmp(u.sysname, "Linux"), "uname: %s %s", u.sysname, u.release);
	struct sysinfo si;
	CHECK(sysinfo(&si) == 0 && si.mem_unit >= 1 && si.totalram > 0, "sysinfo (mem_unit %u)", si.mem_unit);
	/* 0 is a valid answer when the parent or session leader lives outside
	 * our PID namespace (CI runs in one), so only the error value fails. */
	CHECK(getppid() >= 0 && getpgrp() >= 0 && getsid(0) >= 0, "getppid/getpgrp/getsid");
	fflush(stdout);
	p = fork();
	if (p == 0)
		exit(7); /* exit() -> exit_group -> exit */
	CHECK(waitpid(p, &st, 0) == p && WEXITSTATUS(st) == 7, "exit_group");
	return t_done();
}
