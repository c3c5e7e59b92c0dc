/* signals: rt_sigaction/rt_sigprocmask/rt_sigpending/rt_sigsuspend, raise (tkill) */
#include "t.h"
#include <signal.h>
#include <unistd.h>
#include <fcntl.h>

static volatile int got, got_info, info_signo;
static volatile int handler_errno_ok;
static void h(int sig)
{
	int e = errno;
	got = sig;
	/* a call and an errno write from inside the handler (needs %gs on 2.0) */
	handler_errno_ok = (open("/nonexistent", O_RDONLY) == -1 && errno == ENOENT);
	errno = e;
}
static void hi(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	got_info = sig;
	info_signo = si->si_signo;
}

int main(void)
{
	struct sigaction sa = {0}, old;
	sigset_t set, oset, pend;

	sa.sa_handler = h;
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(SIGUSR1, &sa, NULL) == 0, "sigaction install");
	CHECK(raise(SIGUSR1) == 0 && got == SIGUSR1, "raise delivers to handler");
	CHECK(handler_errno_ok, "system call and errno inside handler");
	CHECK(sigaction(SIGUSR1, NULL, &old) == 0 && old.sa_handler == h, "old action reports our handler");

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	got = 0;
	CHECK(sigprocmask(SIG_BLOCK, &set, &oset) == 0, "block SIGUSR1");
	raise(SIGUSR1);
	CHECK(got == 0, "blocked signal not delivered");
	CHECK(sigpending(&pend) == 0 && sigismember(&pend, SIGUSR1), "sigpending shows it");
	CHECK(sigprocmask(SIG_SETMASK, &oset, NULL) == 0 && got == SIGUSR1, "unblock delivers");

	sa.sa_sigaction = hi;
	sa.sa_flags = SA_SIGINFO;
	CHECK(sigaction(SIGUSR2, &sa, NULL) == 0, "SA_SIGINFO handler");
	raise(SIGUSR2);
	CHECK(got_info == SIGUSR2 && info_signo == SIGUSR2, "siginfo carries si_signo");

	sa.sa_handler = h;
	sa.sa_flags = SA_RESETHAND;
	sigaction(SIGALRM, &sa, NULL);
	sigprocmask(SIG_BLOCK, &(sigset_t){0}, &oset);
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	got = 0;
	alarm(1);
	sigemptyset(&set);
	sigsuspend(&set);
	CHECK(got == SIGALRM, "sigsuspend returns after SIGALRM");
	CHECK(sigaction(SIGALRM, NULL, &old) == 0 && old.sa_handler == SIG_DFL, "SA_RESETHAND reset to SIG_DFL");
	signal(SIGPIPE, SIG_IGN);
	CHECK(sigaction(SIGPIPE, NULL, &old) == 0 && old.sa_handler == SIG_IGN, "SIG_IGN round trip");
	return t_done();
}
