/*
 * sys.h -- a tiny freestanding system-call layer for i386 Linux 2.0.36
 * (int $0x80, 2.0.36 call numbers; ../../../shared/notes/syscalls-2.0.36.txt).
 * Calls return the kernel's value: >= 0 or -errno.  No libc needed.
 */
#ifndef SYS_H
#define SYS_H

typedef unsigned long size_t;

#define NR_exit		1
#define NR_fork		2
#define NR_read		3
#define NR_write	4
#define NR_open		5
#define NR_close	6
#define NR_waitpid	7
#define NR_unlink	10
#define NR_execve	11
#define NR_mknod	14
#define NR_mount	21
#define NR_lseek	19
#define NR_getpid	20
#define NR_alarm	27
#define NR_sync		36
#define NR_kill		37
#define NR_pipe		42
#define NR_ioctl	54
#define NR_fcntl	55
#define NR_dup2		63
#define NR_sigaction	67
#define NR_gettimeofday	78
#define NR_reboot	88
#define NR_mmap		90	/* old_mmap: one pointer to 6 longs */
#define NR_munmap	91
#define NR_socketcall	102
#define NR_fstat	108	/* newfstat */
#define NR_mprotect	125
#define NR_sigprocmask	126
#define NR__newselect	142
#define NR_nanosleep	162
#define NR_chdir	12
#define NR_setuid	23
#define NR_setrlimit	75
#define NR_mlock	150
#define NR_munlock	151
#define NR_mlockall	152
#define NR_munlockall	153

#define EPERM 1
#define ENOENT 2
#define EINTR 4
#define EBADF 9
#define EAGAIN 11
#define ENOMEM 12
#define EACCES 13
#define EFAULT 14
#define EEXIST 17
#define ENODEV 19
#define EINVAL 22
#define ENOTTY 25
#define ESPIPE 29
#define EPIPE 32
#define ENOSYS 38

#define O_RDONLY 0
#define O_WRONLY 1
#define O_RDWR 2
#define O_CREAT 0100
#define O_NOCTTY 0400
#define O_NONBLOCK 04000
#define F_GETFL 3
#define F_SETFL 4

#define PROT_NONE 0
#define PROT_READ 1
#define PROT_WRITE 2
#define PROT_EXEC 4
#define MAP_SHARED 1
#define MAP_PRIVATE 2
#define MAP_FIXED 0x10
#define MAP_ANONYMOUS 0x20

#define SIGHUP 1
#define SIGQUIT 3
#define SIGINT 2
#define SIGKILL 9
#define SIGBUS 7
#define SIGUSR1 10
#define SIGSEGV 11
#define SIGPIPE 13
#define SIGALRM 14
#define SIGTERM 15
#define SIGCHLD 17

#define SIG_DFL ((void (*)(int)) 0)
#define SIG_IGN ((void (*)(int)) 1)
#define SA_RESTART 0x10000000
#define SA_NOMASK 0x40000000
#define SA_ONESHOT 0x80000000

#define WNOHANG 1
#define RLIMIT_CORE 4
#define RLIMIT_MEMLOCK 8
#define MCL_CURRENT 1
#define MCL_FUTURE 2
struct rlimit { unsigned long rlim_cur, rlim_max; };
#define S_IFIFO 0010000
#define FIONREAD 0x541B

struct old_sigaction {			/* 2.0.36 include/asm-i386/signal.h */
	void (*handler)(int);
	unsigned long mask;
	unsigned long flags;
	void (*restorer)(void);
};

struct timeval { long tv_sec, tv_usec; };
struct timespec { long tv_sec, tv_nsec; };
typedef struct { unsigned long bits[8]; } fd_set256;	/* 256 fds */

struct new_stat {
	unsigned short st_dev, pad1;
	unsigned long st_ino;
	unsigned short st_mode, st_nlink, st_uid, st_gid, st_rdev, pad2;
	unsigned long st_size, st_blksize, st_blocks;
	unsigned long st_atime, u1, st_mtime, u2, st_ctime, u3, u4, u5;
};

long sys0(long n);
long sys1(long n, long a);
long sys2(long n, long a, long b);
long sys3(long n, long a, long b, long c);
long sys5(long n, long a, long b, long c, long d, long e);

#define s_exit(c)		sys1(NR_exit, (c))
#define s_fork()		sys0(NR_fork)
#define s_read(f,b,n)		sys3(NR_read, (f), (long)(b), (n))
#define s_write(f,b,n)		sys3(NR_write, (f), (long)(b), (n))
#define s_open(p,fl,m)		sys3(NR_open, (long)(p), (fl), (m))
#define s_close(f)		sys1(NR_close, (f))
#define s_waitpid(p,st,o)	sys3(NR_waitpid, (p), (long)(st), (o))
#define s_unlink(p)		sys1(NR_unlink, (long)(p))
#define s_mknod(p,m,d)		sys3(NR_mknod, (long)(p), (m), (d))
#define s_lseek(f,o,w)		sys3(NR_lseek, (f), (o), (w))
#define s_getpid()		sys0(NR_getpid)
#define s_alarm(s)		sys1(NR_alarm, (s))
#define s_sync()		sys0(NR_sync)
#define s_kill(p,s)		sys2(NR_kill, (p), (s))
#define s_pipe(fds)		sys1(NR_pipe, (long)(fds))
#define s_ioctl(f,c,a)		sys3(NR_ioctl, (f), (long)(c), (long)(a))
#define s_fcntl(f,c,a)		sys3(NR_fcntl, (f), (c), (long)(a))
#define s_dup2(a,b)		sys2(NR_dup2, (a), (b))
#define s_sigaction(s,n,o)	sys3(NR_sigaction, (s), (long)(n), (long)(o))
#define s_gettimeofday(t)	sys2(NR_gettimeofday, (long)(t), 0)
#define s_munmap(a,l)		sys2(NR_munmap, (long)(a), (l))
#define s_fstat(f,st)		sys2(NR_fstat, (f), (long)(st))
#define s_mprotect(a,l,p)	sys3(NR_mprotect, (long)(a), (l), (p))
#define s_select(n,r,w,e,t)	sys5(NR__newselect, (n), (long)(r), (long)(w), (long)(e), (long)(t))
#define s_nanosleep(a,b)	sys2(NR_nanosleep, (long)(a), (long)(b))
#define s_reboot(a,b,c)		sys3(NR_reboot, (a), (b), (c))
#define s_execve(p,a,e)		sys3(NR_execve, (long)(p), (long)(a), (long)(e))
#define s_chdir(p)		sys1(NR_chdir, (long)(p))
#define s_setuid(u)		sys1(NR_setuid, (u))
#define s_setrlimit(r,l)	sys2(NR_setrlimit, (r), (long)(l))
#define s_mlock(a,l)		sys2(NR_mlock, (long)(a), (l))
#define s_munlock(a,l)		sys2(NR_munlock, (long)(a), (l))
#define s_mlockall(f)		sys1(NR_mlockall, (f))
#define s_munlockall()		sys0(NR_munlockall)

long s_mmap(void *addr, unsigned long len, long prot, long flags, long fd, unsigned long off);
long s_socket(long domain, long type, long proto);
int is_err(long r);			/* -4095..-1 */

/* tiny libc */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);

/* output: a line buffer flushed to fd 1 */
void out_s(const char *s);
void out_u(unsigned long v);
void out_d(long v);
void out_x(unsigned long v);
void out_c(char c);
void out_flush(void);
void msleep(long ms);
long now_ms(void);
void set_handler(int sig, void (*h)(int), unsigned long flags);

long memfree(void);
long meminfo(int field);
void init_console(void);

/* start.S: setjmp/longjmp for getting back from a SIGBUS handler */
int xsetjmp(long *b) __attribute__((returns_twice));
void xlongjmp(long *b, int v) __attribute__((noreturn));

#endif
