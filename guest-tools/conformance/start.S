/* start.S -- entry point: main(argc, argv, envp), then exit */
	.text
	.globl _start
_start:
	xorl %ebp, %ebp
	movl (%esp), %eax	/* argc */
	leal 4(%esp), %ebx	/* argv */
	leal 4(%ebx,%eax,4), %ecx	/* envp */
	pushl %ecx
	pushl %ebx
	pushl %eax
	call main
	movl %eax, %ebx
	movl $1, %eax
	int $0x80
	hlt

/*
 * xsetjmp(long b[6]) / xlongjmp(b, v): the minimal setjmp/longjmp the stress test
 * and the demo use to get back from a SIGBUS handler (no libc here).  Saves
 * %ebx %esi %edi %ebp, the caller's %esp and the return address.
 */
	.globl xsetjmp
xsetjmp:
	movl 4(%esp), %eax
	movl %ebx, 0(%eax)
	movl %esi, 4(%eax)
	movl %edi, 8(%eax)
	movl %ebp, 12(%eax)
	leal 4(%esp), %ecx
	movl %ecx, 16(%eax)
	movl (%esp), %ecx
	movl %ecx, 20(%eax)
	xorl %eax, %eax
	ret

	.globl xlongjmp
xlongjmp:
	movl 4(%esp), %edx
	movl 8(%esp), %eax
	movl 0(%edx), %ebx
	movl 4(%edx), %esi
	movl 8(%edx), %edi
	movl 12(%edx), %ebp
	movl 16(%edx), %esp
	jmp *20(%edx)
