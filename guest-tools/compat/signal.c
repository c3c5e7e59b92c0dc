/*
 * signal.c - rt_sig* (174-179) onto the 2.0 calls sigaction 67, sigprocmask 126,
 * sigpending 73, sigsuspend 72.
 *
 * 2.0 knows signals 1-32 only, a one-word mask and the old struct sigaction
 * {handler, mask, flags, restorer}; no SA_SIGINFO, SA_RESTORER or SA_ONSTACK.
 * We never pass a restorer: 2.0 builds its own sigreturn trampoline on the stack.
 *
 * The %gs problem: 2.0's setup_frame() loads USER_DS into %gs before it runs a handler,
 * so musl code in the handler (errno, any system call through %gs:16) would fault.
 * Every handler is therefore installed as compat_sig_trampoline, which reloads the TLS
 * selector and then calls the program's handler from a table.  sigreturn restores the
 * interrupted %gs from the sigcontext.  SA_SIGINFO handlers get a siginfo holding only
 * si_signo (2.0 delivers nothing more) and a NULL ucontext.
 */
#include "compat.h"

#define NSIG_2_0 32
#define SIG_DFL_P ((void *)0)
#define SIG_IGN_P ((void *)1)
#define K_FLAGS_OK (SA_NOCLDSTOP | SA_RESTART | SA_NODEFER | SA_RESETHAND)

static void *user_handler[NSIG_2_0 + 1];
static u32 user_flags[NSIG_2_0 + 1];

static void compat_sig_trampoline(int sig)
{
	void *h;

	if (compat_tls_selector)
		__asm__ __volatile__("movw %w0, %%gs" : : "r"(compat_tls_selector) : "memory");
	if (sig < 1 || sig > NSIG_2_0)
		return;
	h = user_handler[sig];
	if (h == SIG_DFL_P || h == SIG_IGN_P)
		return;
	if (user_flags[sig] & SA_SIGINFO) {
		int info[32]; /* siginfo_t is 128 bytes */
		compat_memset(info, 0, sizeof info);
		info[0] = sig;
		((void (*)(int, void *, void *))h)(sig, info, NULL);
	} else {
		((void (*)(int))h)(sig);
	}
}

static long rt_sigaction(long sig, const struct k_rtsigaction *act, struct k_rtsigaction *oact,
			 unsigned long setsize)
{
	struct k_oldsigaction kact, kold;
	void *prev_h;
	u32 prev_f;
	long r;

	if (setsize != 8)
		return -EINVAL;
	if (sig < 1 || sig > NSIG_2_0)
		return -EINVAL;
	prev_h = user_handler[sig];
	prev_f = user_flags[sig];
	if (act) {
		kact.handler = act->handler;
		kact.mask = act->mask[0];
		kact.flags = act->flags & K_FLAGS_OK;
		kact.restorer = NULL;
		if (act->handler != SIG_DFL_P && act->handler != SIG_IGN_P) {
			user_handler[sig] = act->handler;
			user_flags[sig] = act->flags;
			kact.handler = (void *)compat_sig_trampoline;
		}
	}
	r = raw3(K_sigaction, sig, act ? &kact : NULL, oact ? &kold : NULL);
	if (r < 0) {
		user_handler[sig] = prev_h;
		user_flags[sig] = prev_f;
		return r;
	}
	if (oact) {
		if (kold.handler == (void *)compat_sig_trampoline) {
			oact->handler = prev_h;
			oact->flags = prev_f & ~SA_RESTORER;
		} else {
			oact->handler = kold.handler;
			oact->flags = kold.flags;
		}
		oact->restorer = NULL;
		oact->mask[0] = kold.mask;
		oact->mask[1] = 0;
	}
	return 0;
}

static long rt_sigprocmask(long how, const u32 *set, u32 *oset, unsigned long setsize)
{
	u32 nset, oldset;
	long r;

	if (setsize != 8)
		return -EINVAL;
	if (set)
		nset = set[0];
	r = raw3(K_sigprocmask, how, set ? &nset : NULL, oset ? &oldset : NULL);
	if (r < 0)
		return r;
	if (oset) {
		oset[0] = oldset;
		oset[1] = 0;
	}
	return 0;
}

static long rt_sigpending(u32 *set, unsigned long setsize)
{
	u32 p;
	long r;

	if (setsize != 8)
		return -EINVAL;
	r = raw1(K_sigpending, &p);
	if (r < 0)
		return r;
	set[0] = p;
	set[1] = 0;
	return 0;
}

long compat_signal_call(long nr, long a, long b, long c, long d)
{
	switch (nr) {
	case 174: /* rt_sigaction */
		return rt_sigaction(a, (const void *)b, (void *)c, (unsigned long)d);
	case 175: /* rt_sigprocmask */
		return rt_sigprocmask(a, (const u32 *)b, (u32 *)c, (unsigned long)d);
	case 176: /* rt_sigpending */
		return rt_sigpending((u32 *)a, (unsigned long)b);
	case 179: /* rt_sigsuspend(mask, size) -> sigsuspend(0, 0, mask) */
		if ((unsigned long)b != 8)
			return -EINVAL;
		return raw3(K_sigsuspend, 0, 0, ((const u32 *)a)[0]);
	default: /* 173 rt_sigreturn, 177 rt_sigtimedwait, 178 rt_sigqueueinfo, 186 sigaltstack */
		return -ENOSYS;
	}
}
