/*
 * tls.c - thread pointer, the syscall hook, exec and vfork.
 *
 * musl's start-up (__init_tp) calls __set_thread_area(tp) and then copies __sysinfo into
 * the thread descriptor (%gs:16).  We define both symbols, so the linker takes ours and
 * never pulls musl's __set_thread_area.lo / defsysinfo.lo out of libc.a:
 *   - __sysinfo = compat_syscall_entry: every later musl call lands in the layer.
 *   - __set_thread_area: 2.0.36 has no set_thread_area (243).  musl's own fallback
 *     asks modify_ldt for a 4 GiB segment, which 2.0's limits_ok() refuses
 *     (base + limit must stay below TASK_SIZE = 0xC0000000), and musl then crashes.  We
 *     install LDT entry 0 with base = tp and a limit that ends just below TASK_SIZE.
 *     Consequence: only non-negative %gs offsets work, i.e. no static TLS (__thread) in
 *     the program; build-compat.sh's audit rejects binaries with a PT_TLS segment.
 *     Returns 1 like musl's modify_ldt path ("TLS works, threads do not").
 * It also hides AT_SYSINFO / AT_SYSINFO_EHDR in the aux vector, so that on a modern
 * host kernel (tests) musl neither calls the vDSO nor bypasses the layer: the program
 * then behaves as it will on 2.0, which has neither.
 */
#include "compat.h"

extern void compat_syscall_entry(void);
void *__sysinfo = (void *)compat_syscall_entry;
unsigned short compat_tls_selector;
extern char **__environ;

struct k_user_desc {
	u32 entry_number, base_addr, limit, flags;
};
#define LDT_SEG_32BIT 0x01
#define LDT_LIMIT_IN_PAGES 0x10
#define LDT_USEABLE 0x40
#define TASK_SIZE_2_0 0xC0000000u

static void scan_environment(void)
{
	char **e = __environ;
	unsigned long *aux;

	if (!e)
		return;
	for (; *e; e++) {
		const char *s = *e;
		if (s[0] == 'C' && s[1] == 'O' && s[2] == 'M' && s[3] == 'P' && s[4] == 'A' &&
		    s[5] == 'T' && s[6] == '_' && compat_streq(s + 7, "DEBUG=1"))
			compat_debug = 1;
	}
	for (aux = (unsigned long *)(e + 1); aux[0] != AT_NULL; aux += 2)
		if (aux[0] == AT_SYSINFO || aux[0] == AT_SYSINFO_EHDR)
			aux[0] = AT_IGNORE;
}

int __set_thread_area(void *tp)
{
	struct k_user_desc d;
	u32 base = (u32)tp;
	long r;

	scan_environment();
	__sysinfo = (void *)compat_syscall_entry;

	d.entry_number = 0;
	d.base_addr = base;
	d.limit = ((TASK_SIZE_2_0 - base) >> 12) - 1; /* in pages; last byte < TASK_SIZE */
	d.flags = LDT_SEG_32BIT | LDT_LIMIT_IN_PAGES | LDT_USEABLE;
	r = raw3(K_modify_ldt, 1, &d, sizeof d);
	if (r < 0) {
		static const char msg[] = "compat: modify_ldt for TLS failed\n";
		raw3(K_write, 2, msg, sizeof msg - 1);
		return -1;
	}
	compat_tls_selector = (0 << 3) | 4 | 3; /* LDT entry 0, RPL 3 */
	__asm__ __volatile__("movw %w0, %%gs" : : "r"(compat_tls_selector) : "memory");
	return 1;
}

/*
 * execve: 2.0.36's flush_thread() frees the LDT on exec but leaves %gs holding the LDT
 * selector; the next %gs reload in the kernel's exit path then faults ("Ignoring GPF
 * attempt", or an "invalid TSS" oops).  Clear %gs around the call; if execve fails we
 * are still the old program and put the selector back.
 */
long compat_sys_execve(long path, long argv, long envp)
{
	unsigned short gs;
	long r;

	__asm__ __volatile__("movw %%gs, %w0" : "=r"(gs));
	__asm__ __volatile__("movw %w0, %%gs" : : "r"(0) : "memory");
	r = raw3(K_execve, path, argv, envp);
	__asm__ __volatile__("movw %w0, %%gs" : : "r"(gs) : "memory");
	return r;
}

/*
 * vfork: musl's vfork.s issues syscall 190 directly (int $0x80), which 2.0 lacks, and
 * 2.0 ignores CLONE_VFORK.  A plain fork is the honest equivalent; defining vfork here
 * keeps musl's vfork.lo out of the link.
 */
extern int fork(void);
int vfork(void)
{
	return fork();
}
