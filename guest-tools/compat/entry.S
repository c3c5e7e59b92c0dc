/*
 * entry.S - the two doors of the compatibility layer.
 *
 * compat_syscall_entry: musl 1.2.3 (i386) makes every system call after start-up with
 * "call *%gs:16", i.e. through the thread descriptor's copy of __sysinfo, with the
 * kernel's register convention: %eax = number, %ebx %ecx %edx %esi %edi %ebp = args,
 * result in %eax, every other register preserved (the contract of __kernel_vsyscall).
 * We point __sysinfo here (tls.c), hand the call to C (dispatch.c) and return.
 *
 * compat_raw: the layer's only way into the kernel: a cdecl function doing int $0x80.
 */
	.text

	.globl compat_syscall_entry
	.type compat_syscall_entry, @function
compat_syscall_entry:
	/* saved copy of the caller's registers (cdecl callees may scribble on their
	 * argument slots, so the arguments below are a second, disposable copy) */
	pushl %ebp
	pushl %edi
	pushl %esi
	pushl %edx
	pushl %ecx
	pushl %ebx
	/* long compat_dispatch(long nr, long a1, ..., long a6) */
	pushl %ebp
	pushl %edi
	pushl %esi
	pushl %edx
	pushl %ecx
	pushl %ebx
	pushl %eax
	call compat_dispatch
	addl $28, %esp
	popl %ebx
	popl %ecx
	popl %edx
	popl %esi
	popl %edi
	popl %ebp
	ret
	.size compat_syscall_entry, .-compat_syscall_entry

	.globl compat_raw
	.type compat_raw, @function
compat_raw:
	pushl %ebp
	pushl %edi
	pushl %esi
	pushl %ebx
	movl 20(%esp), %eax	/* nr */
	movl 24(%esp), %ebx
	movl 28(%esp), %ecx
	movl 32(%esp), %edx
	movl 36(%esp), %esi
	movl 40(%esp), %edi
	movl 44(%esp), %ebp
	int $0x80
	popl %ebx
	popl %esi
	popl %edi
	popl %ebp
	ret
	.size compat_raw, .-compat_raw

	.section .note.GNU-stack,"",@progbits
