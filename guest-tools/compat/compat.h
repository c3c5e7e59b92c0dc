/*
 * compat.h - shared definitions of the Linux 2.0.36 system-call compatibility layer.
 *
 * Everything here describes the *kernel* side (2.0.36 and the modern i386 ABI that
 * musl 1.2.3 speaks).  The layer is built freestanding: it includes no libc header,
 * so nothing in it can recurse into musl's system-call path by accident.
 */
#ifndef COMPAT_H
#define COMPAT_H

typedef unsigned int u32;
typedef int s32;
typedef unsigned short u16;
typedef unsigned char u8;
typedef unsigned long long u64;
typedef long long s64;
typedef unsigned long size_t;

#define NULL ((void *)0)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define STATIC_ASSERT(c, m) typedef char static_assert_##m[(c) ? 1 : -1]

/* ---- errno values (identical on 2.0 and today on i386) ---- */
#define EPERM 1
#define ENOENT 2
#define ESRCH 3
#define EINTR 4
#define EBADF 9
#define EAGAIN 11
#define ENOMEM 12
#define EFAULT 14
#define EEXIST 17
#define ENOTDIR 20
#define EINVAL 22
#define ERANGE 34
#define ENAMETOOLONG 36
#define ENOSYS 38
#define ELOOP 40
#define EOVERFLOW 75
#define EOPNOTSUPP 95

/* ---- Linux 2.0.36 i386 system-call numbers used by the layer ---- */
#define K_exit 1
#define K_fork 2
#define K_read 3
#define K_write 4
#define K_open 5
#define K_close 6
#define K_link 9
#define K_unlink 10
#define K_execve 11
#define K_time 13
#define K_mknod 14
#define K_chmod 15
#define K_chown 16 /* 2.0: does not follow symlinks (lchown semantics) */
#define K_lseek 19
#define K_getpid 20
#define K_mount 21
#define K_umount 22
#define K_setuid 23
#define K_getuid 24
#define K_utime 30
#define K_access 33
#define K_kill 37
#define K_rename 38
#define K_mkdir 39
#define K_rmdir 40
#define K_pipe 42
#define K_times 43
#define K_setgid 46
#define K_getgid 47
#define K_geteuid 49
#define K_getegid 50
#define K_ioctl 54
#define K_fcntl 55
#define K_sigaction 67
#define K_setreuid 70
#define K_setregid 71
#define K_sigsuspend 72
#define K_sigpending 73
#define K_setrlimit 75
#define K_getrlimit 76
#define K_gettimeofday 78
#define K_settimeofday 79
#define K_getgroups 80
#define K_setgroups 81
#define K_symlink 83
#define K_readlink 85
#define K_reboot 88
#define K_mmap 90 /* old_mmap: one pointer to a 6-word block */
#define K_truncate 92
#define K_ftruncate 93
#define K_fchown 95
#define K_statfs 99
#define K_fstatfs 100
#define K_socketcall 102
#define K_stat 106
#define K_lstat 107
#define K_fstat 108
#define K_sysinfo 116
#define K_modify_ldt 123
#define K_sigprocmask 126
#define K_setfsuid 138
#define K_setfsgid 139
#define K_llseek 140
#define K_getdents 141
#define K_newselect 142
#define K_nanosleep 162
#define K_LAST 166 /* vm86: the last implemented call of 2.0.36 */

/* socketcall(2) sub-calls of 2.0.36 (1..17; accept4 = 18 does not exist) */
#define SC_SOCKET 1
#define SC_BIND 2
#define SC_CONNECT 3
#define SC_LISTEN 4
#define SC_ACCEPT 5
#define SC_GETSOCKNAME 6
#define SC_GETPEERNAME 7
#define SC_SOCKETPAIR 8
#define SC_SENDTO 11
#define SC_RECVFROM 12
#define SC_SHUTDOWN 13
#define SC_SETSOCKOPT 14
#define SC_GETSOCKOPT 15
#define SC_SENDMSG 16
#define SC_RECVMSG 17

/* ---- flags ---- */
#define O_ACCMODE 03
#define O_CREAT 0100
#define O_EXCL 0200
#define O_NOCTTY 0400
#define O_TRUNC 01000
#define O_APPEND 02000
#define O_NONBLOCK 04000
#define O_DSYNC 010000
#define O_ASYNC 020000
#define O_DIRECT 040000
#define O_LARGEFILE 0100000
#define O_DIRECTORY 0200000
#define O_NOFOLLOW 0400000
#define O_NOATIME 01000000
#define O_CLOEXEC 02000000
#define O_RSYNC 04010000
#define O_PATH 010000000
#define O_TMPFILE_BIT 020000000
/* bits 2.0.36 understands in open(2) */
#define K_O_MASK (O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | O_DSYNC | O_ASYNC)

#define F_DUPFD 0
#define F_GETFD 1
#define F_SETFD 2
#define F_GETFL 3
#define F_SETFL 4
#define F_GETLK 5
#define F_SETLK 6
#define F_SETLKW 7
#define F_GETLK64 12
#define F_SETLK64 13
#define F_SETLKW64 14
#define F_DUPFD_CLOEXEC 1030
#define FD_CLOEXEC 1

#define AT_FDCWD (-100)
#define AT_SYMLINK_NOFOLLOW 0x100
#define AT_REMOVEDIR 0x200
#define AT_EMPTY_PATH 0x1000

#define S_IFMT 0170000
#define S_IFDIR 0040000
#define S_IFLNK 0120000

#define SOCK_NONBLOCK 04000
#define SOCK_CLOEXEC 02000000

#define SA_NOCLDSTOP 1
#define SA_SIGINFO 4
#define SA_RESTORER 0x04000000
#define SA_ONSTACK 0x08000000
#define SA_RESTART 0x10000000
#define SA_NODEFER 0x40000000
#define SA_RESETHAND 0x80000000u
#define SIG_BLOCK 0
#define SIG_UNBLOCK 1
#define SIG_SETMASK 2
#define SIGPIPE 13

#define MS_REMOUNT 32
#define MS_MGC_VAL 0xC0ED0000u
#define MS_K_MASK 0x7f /* RDONLY NOSUID NODEV NOEXEC SYNCHRONOUS REMOUNT MANDLOCK */

#define AT_NULL 0
#define AT_IGNORE 1
#define AT_SYSINFO 32
#define AT_SYSINFO_EHDR 33

/* ---- structures ---- */

/* 2.0.36 struct stat (asm-i386/stat.h "new_stat"), used by calls 106-108 */
struct k_stat {
	u16 st_dev, pad1;
	u32 st_ino;
	u16 st_mode, st_nlink, st_uid, st_gid, st_rdev, pad2;
	u32 st_size, st_blksize, st_blocks;
	u32 st_atime, unused1, st_mtime, unused2, st_ctime, unused3, unused4, unused5;
};
STATIC_ASSERT(sizeof(struct k_stat) == 64, k_stat_size);

/* today's i386 struct stat64 (what musl's struct kstat mirrors), calls 195-197/300 */
struct k_stat64 {
	u64 st_dev;
	u32 pad0;
	u32 st_ino_trunc;
	u32 st_mode, st_nlink, st_uid, st_gid;
	u64 st_rdev;
	u32 pad3;
	s64 st_size;
	u32 st_blksize;
	u64 st_blocks;
	u32 st_atime, st_atime_nsec, st_mtime, st_mtime_nsec, st_ctime, st_ctime_nsec;
	u64 st_ino;
} __attribute__((packed, aligned(4)));
STATIC_ASSERT(sizeof(struct k_stat64) == 96, k_stat64_size);

/* 2.0 struct linux_dirent (getdents 141; no d_type) and today's linux_dirent64 */
struct k_dirent {
	u32 d_ino;
	u32 d_off;
	u16 d_reclen;
	char d_name[];
} __attribute__((packed));
struct k_dirent64 {
	u64 d_ino;
	s64 d_off;
	u16 d_reclen;
	u8 d_type;
	char d_name[];
} __attribute__((packed));

/* old (2.0) and rt sigaction structures */
struct k_oldsigaction {
	void *handler;
	u32 mask;
	u32 flags;
	void *restorer;
};
struct k_rtsigaction {
	void *handler;
	u32 flags;
	void *restorer;
	u32 mask[2];
};

struct k_timeval { s32 tv_sec, tv_usec; };
struct k_timespec { s32 tv_sec, tv_nsec; };
struct k_timespec64 { s64 tv_sec, tv_nsec; };


/* ---- the raw gate to the kernel (entry.S) ---- */
long compat_raw(long nr, long a, long b, long c, long d, long e, long f);
#define raw0(n) compat_raw((n), 0, 0, 0, 0, 0, 0)
#define raw1(n, a) compat_raw((n), (long)(a), 0, 0, 0, 0, 0)
#define raw2(n, a, b) compat_raw((n), (long)(a), (long)(b), 0, 0, 0, 0)
#define raw3(n, a, b, c) compat_raw((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define raw4(n, a, b, c, d) compat_raw((n), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define raw5(n, a, b, c, d, e) compat_raw((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

/* ---- small freestanding helpers (util.c) ---- */
void *compat_memcpy(void *d, const void *s, size_t n);
void *compat_memset(void *d, int c, size_t n);
size_t compat_strlen(const char *s);
int compat_streq(const char *a, const char *b);
/* Resolve (dirfd, path) of an *at() call to one path 2.0 understands.  Uses
 * /proc/self/fd/N/ for a real directory fd.  Returns 0 or -errno. */
long compat_at_path(int dirfd, const char *path, char *buf, size_t size, const char **out);
long compat_set_cloexec(int fd);
long compat_set_nonblock(int fd);
extern int compat_debug;
void compat_log_unsupported(long nr);

/* ---- the translation areas ---- */
long compat_signal_call(long nr, long a, long b, long c, long d);
long compat_sys_execve(long path, long argv, long envp);
long compat_fs_call(long nr, long a, long b, long c, long d, long e, long f, int *handled);
long compat_net_call(long nr, long a, long b, long c, long d, long e, long f, int *handled);
long compat_proc_call(long nr, long a, long b, long c, long d, long e, long f, int *handled);
long compat_poll(void *fds, unsigned long n, const struct k_timeval *tv);
extern unsigned short compat_tls_selector;

#endif
