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
