/*
 * fs.c - file-system calls: stat64 family and statx, getdents64, getcwd, open flags,
 * the *at() calls, fcntl64, statfs64, utimes/utimensat, truncate64, pread/pwrite,
 * mount flags and umount2.
 */
#include "compat.h"

#define PATHBUF 1100

/* ---------- stat ---------- */

static void stat_to_stat64(const struct k_stat *k, struct k_stat64 *s)
{
	compat_memset(s, 0, sizeof *s);
	s->st_dev = k->st_dev; /* 2.0's 16-bit major<<8|minor is a valid musl dev_t */
	s->st_ino_trunc = k->st_ino;
	s->st_ino = k->st_ino;
	s->st_mode = k->st_mode;
	s->st_nlink = k->st_nlink;
	s->st_uid = k->st_uid;
	s->st_gid = k->st_gid;
	s->st_rdev = k->st_rdev;
	s->st_size = k->st_size;
	s->st_blksize = k->st_blksize;
	s->st_blocks = k->st_blocks;
	s->st_atime = k->st_atime;
	s->st_mtime = k->st_mtime;
	s->st_ctime = k->st_ctime;
	/* nanoseconds stay 0: 2.0 keeps whole seconds only */
}

static long do_stat(long nr, long arg, struct k_stat64 *out)
{
	struct k_stat k;
	long r = raw2(nr, arg, &k);
	if (r < 0)
		return r;
	stat_to_stat64(&k, out);
	return 0;
}

__attribute__((noinline)) static long sys_fstatat64(int dirfd, const char *path, struct k_stat64 *st, int flags)
{
	char buf[PATHBUF];
	const char *p;
	long r;

	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	if ((flags & AT_EMPTY_PATH) && path && !path[0]) {
		if (dirfd == AT_FDCWD)
			return do_stat(K_stat, (long)".", st);
		return do_stat(K_fstat, dirfd, st);
	}
	r = compat_at_path(dirfd, path, buf, sizeof buf, &p);
	if (r < 0)
		return r;
	return do_stat((flags & AT_SYMLINK_NOFOLLOW) ? K_lstat : K_stat, (long)p, st);
}

/* ---------- getdents64 ---------- */

__attribute__((noinline)) static long sys_getdents64(int fd, char *out, unsigned long count)
{
	/* A 2.0 record needs at least half the bytes of its dirent64 form (12 vs 24 for a
	 * one-letter name), so reading count/2 bytes of old records always fits. */
	char tmp[1024]; /* musl reads 2048 bytes at a time: count / 2 */
	unsigned long want = count / 2, pos = 0, opos = 0;
	long r;

	if (want > sizeof tmp)
		want = sizeof tmp;
	r = raw3(K_getdents, fd, tmp, want);
	if (r <= 0)
		return r;
	while (pos < (unsigned long)r) {
		struct k_dirent *k = (struct k_dirent *)(tmp + pos);
		struct k_dirent64 *d = (struct k_dirent64 *)(out + opos);
		size_t nlen = compat_strlen(k->d_name);
		unsigned short reclen = (unsigned short)((sizeof *d + nlen + 1 + 7) & ~7u);

		if (k->d_reclen == 0 || opos + reclen > count)
			return -EINVAL; /* cannot happen with the ratio above */
		d->d_ino = k->d_ino;
		d->d_off = (s32)k->d_off;
		d->d_reclen = reclen;
		d->d_type = 0; /* DT_UNKNOWN: 2.0 has no d_type */
		compat_memcpy(d->d_name, k->d_name, nlen + 1);
		compat_memset(d->d_name + nlen + 1, 0, reclen - sizeof *d - nlen - 1);
		pos += k->d_reclen;
		opos += reclen;
	}
	return (long)opos;
}

/* ---------- getcwd: walk up ".." ---------- */

__attribute__((noinline)) static long sys_getcwd(char *ubuf, unsigned long size)
{
	char up[PATHBUF];   /* "../../.." */
	char path[PATHBUF]; /* built from the end */
	char dbuf[1024];
	struct k_stat cur, par, root, ent;
	size_t uplen = 0, pos = sizeof path - 1;
	long r;

	path[pos] = 0;
	if ((r = raw2(K_stat, ".", &cur)) < 0)
		return r;
	if ((r = raw2(K_stat, "/", &root)) < 0)
		return r;
	while (!(cur.st_dev == root.st_dev && cur.st_ino == root.st_ino)) {
		int fd, found = 0;

		if (uplen + 3 + 256 + 1 >= sizeof up)
			return -ENAMETOOLONG;
		compat_memcpy(up + uplen, "../", 3);
		uplen += 3;
		up[uplen] = 0;
		if ((r = raw2(K_stat, up, &par)) < 0)
			return r;
		if (par.st_dev == cur.st_dev && par.st_ino == cur.st_ino)
			break; /* a root we cannot leave (e.g. chroot) */
		fd = (int)raw3(K_open, up, 0, 0);
		if (fd < 0)
			return fd;
		while (!found && (r = raw3(K_getdents, fd, dbuf, sizeof dbuf)) > 0) {
			long off = 0;
			while (off < r) {
				struct k_dirent *k = (struct k_dirent *)(dbuf + off);
				const char *n = k->d_name;
				off += k->d_reclen;
				if (n[0] == '.' && (!n[1] || (n[1] == '.' && !n[2])))
					continue;
				if (par.st_dev == cur.st_dev) {
					if (k->d_ino != cur.st_ino)
						continue;
				} else {
					/* mount point: directory entry inode is the covered one */
					size_t nl = compat_strlen(n);
					if (uplen + nl + 1 > sizeof up)
						continue;
					long lr;
					compat_memcpy(up + uplen, n, nl + 1);
					lr = raw2(K_lstat, up, &ent);
					up[uplen] = 0;
					if (lr < 0 || ent.st_dev != cur.st_dev || ent.st_ino != cur.st_ino)
						continue;
				}
				{
					size_t nl = compat_strlen(n);
					if (nl + 1 > pos)
						found = -1;
					else {
						pos -= nl;
						compat_memcpy(path + pos, n, nl);
						path[--pos] = '/';
						found = 1;
					}
				}
				break;
			}
		}
		raw1(K_close, fd);
		if (found < 0)
			return -ENAMETOOLONG;
		if (!found)
			return r < 0 ? r : -ENOENT;
		cur = par;
	}
	if (pos == sizeof path - 1)
		path[--pos] = '/';
	if (sizeof path - pos > size)
		return -ERANGE;
	compat_memcpy(ubuf, path + pos, sizeof path - pos);
	return (long)(sizeof path - pos);
}

/* ---------- open ---------- */

static long sys_open(const char *path, long flags, long mode)
{
	struct k_stat st;
	long fd, kflags;

	if ((flags & O_TMPFILE_BIT))
		return -EOPNOTSUPP;
	if (flags & O_NOFOLLOW) {
		/* 2.0 cannot refuse a final symlink itself: check first (not atomic) */
		if (raw2(K_lstat, path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFLNK)
			return -ELOOP;
	}
	kflags = flags & K_O_MASK;
	if (flags & O_PATH)
		kflags = 0; /* O_PATH: a read-only open is the nearest 2.0 has */
	fd = raw3(K_open, path, kflags, mode);
	if (fd < 0)
		return fd;
	if (flags & O_DIRECTORY) {
		if (raw2(K_fstat, fd, &st) < 0 || (st.st_mode & S_IFMT) != S_IFDIR) {
			raw1(K_close, fd);
			return -ENOTDIR;
		}
	}
	if (flags & O_CLOEXEC)
		compat_set_cloexec((int)fd);
	return fd;
}

/* ---------- fcntl64 ---------- */

struct k_flock32 {
	short l_type, l_whence;
	s32 l_start, l_len;
	s32 l_pid;
};
struct k_flock64 {
	short l_type, l_whence;
	s64 l_start, l_len;
	s32 l_pid;
} __attribute__((packed, aligned(4)));
STATIC_ASSERT(sizeof(struct k_flock64) == 24, flock64_size);

static int fits32(s64 v)
{
	return v >= -0x80000000LL && v <= 0x7fffffffLL;
}

static long sys_fcntl(long fd, long cmd, long arg, int lk64)
{
	long r;

	switch (cmd) {
	case F_DUPFD_CLOEXEC:
		r = raw3(K_fcntl, fd, F_DUPFD, arg);
		if (r >= 0)
			compat_set_cloexec((int)r);
		return r;
	case F_GETLK64:
	case F_SETLK64:
	case F_SETLKW64:
		if (!lk64)
			return -EINVAL;
		{
			struct k_flock64 *l = (struct k_flock64 *)arg;
			struct k_flock32 k;
			if (!fits32(l->l_start) || !fits32(l->l_len))
				return -EOVERFLOW;
			k.l_type = l->l_type;
			k.l_whence = l->l_whence;
			k.l_start = (s32)l->l_start;
			k.l_len = (s32)l->l_len;
			k.l_pid = l->l_pid;
			r = raw3(K_fcntl, fd, cmd - F_GETLK64 + F_GETLK, &k);
			if (r < 0)
				return r;
			if (cmd == F_GETLK64) {
				l->l_type = k.l_type;
				l->l_whence = k.l_whence;
				l->l_start = k.l_start;
				l->l_len = k.l_len;
				l->l_pid = k.l_pid;
			}
			return r;
		}
	case F_SETFL:
		return raw3(K_fcntl, fd, cmd, arg & K_O_MASK);
	default:
		return raw3(K_fcntl, fd, cmd, arg);
	}
}

/* ---------- statfs64 ---------- */

struct k_statfs {
	s32 f_type, f_bsize, f_blocks, f_bfree, f_bavail, f_files, f_ffree;
	s32 f_fsid[2];
	s32 f_namelen;
	s32 f_spare[6];
};
struct k_statfs64 {
	u32 f_type, f_bsize;
	u64 f_blocks, f_bfree, f_bavail, f_files, f_ffree;
	s32 f_fsid[2];
	u32 f_namelen, f_frsize, f_flags, f_spare[4];
} __attribute__((packed, aligned(4)));
STATIC_ASSERT(sizeof(struct k_statfs64) == 84, statfs64_size);

static long sys_statfs64(long nr, long arg, unsigned long size, struct k_statfs64 *out)
{
	struct k_statfs k;
	long r;

	if (size != sizeof *out)
		return -EINVAL;
	r = raw2(nr, arg, &k);
	if (r < 0)
		return r;
	compat_memset(out, 0, sizeof *out);
	out->f_type = (u32)k.f_type;
	out->f_bsize = (u32)k.f_bsize;
	out->f_blocks = (u32)k.f_blocks;
	out->f_bfree = (u32)k.f_bfree;
	out->f_bavail = (u32)k.f_bavail;
	out->f_files = (u32)k.f_files;
	out->f_ffree = (u32)k.f_ffree;
	out->f_fsid[0] = k.f_fsid[0];
	out->f_fsid[1] = k.f_fsid[1];
	out->f_namelen = (u32)k.f_namelen;
	out->f_frsize = (u32)k.f_bsize;
	return 0;
}

/* ---------- utimes family -> utime(2) (whole seconds) ---------- */

#define UTIME_NOW ((1l << 30) - 1l)
#define UTIME_OMIT ((1l << 30) - 2l)

static long set_times(const char *path, int nofollow, s64 as, long ans, s64 ms, long mns)
{
	s32 tb[2];
	struct k_timeval now;

	if (nofollow)
		return -EOPNOTSUPP; /* 2.0 cannot set times on a symlink itself */
	if (ans == UTIME_NOW && mns == UTIME_NOW)
		return raw2(K_utime, path, NULL);
	if (ans == UTIME_OMIT || mns == UTIME_OMIT) {
		struct k_stat st;
		long r = raw2(K_stat, path, &st);
		if (r < 0)
			return r;
		if (ans == UTIME_OMIT)
			as = st.st_atime, ans = 0;
		if (mns == UTIME_OMIT)
			ms = st.st_mtime, mns = 0;
	}
	if (ans == UTIME_NOW || mns == UTIME_NOW) {
		raw2(K_gettimeofday, &now, NULL);
		if (ans == UTIME_NOW)
			as = now.tv_sec;
		if (mns == UTIME_NOW)
			ms = now.tv_sec;
	}
	if (!fits32(as) || !fits32(ms))
		return -EOVERFLOW;
	tb[0] = (s32)as;
	tb[1] = (s32)ms;
	return raw2(K_utime, path, tb);
}

/* ts: NULL, or two {sec, nsec} pairs of 32-bit (wide = 0) or 64-bit (wide = 1) words */
__attribute__((noinline)) static long sys_utimensat(int dirfd, const char *path, const void *ts, int flags, int wide)
{
	char buf[PATHBUF];
	const char *p;
	long r;

	if (!path) { /* futimens(fd, ts) */
		r = compat_at_path(dirfd, "", buf, sizeof buf, &p);
		if (dirfd == AT_FDCWD)
			return -EFAULT;
	} else
		r = compat_at_path(dirfd, path, buf, sizeof buf, &p);
	if (r < 0)
		return r;
	if (!ts)
		return set_times(p, flags & AT_SYMLINK_NOFOLLOW, 0, UTIME_NOW, 0, UTIME_NOW);
	if (wide) {
		const s64 *t = ts;
		return set_times(p, flags & AT_SYMLINK_NOFOLLOW, t[0], (long)t[1], t[2], (long)t[3]);
	} else {
		const s32 *t = ts;
		return set_times(p, flags & AT_SYMLINK_NOFOLLOW, t[0], t[1], t[2], t[3]);
	}
}

static long sys_utimes(const char *path, const struct k_timeval *tv)
{
	if (!tv)
		return raw2(K_utime, path, NULL);
	return set_times(path, 0, tv[0].tv_sec, 0, tv[1].tv_sec, 0);
}

/* ---------- pread/pwrite: no such calls in 2.0; seek, transfer, seek back ---------- */

static long sys_prw(long nr, long fd, long buf, long cnt, u32 lo, u32 hi)
{
	long cur, r;

	if (hi || lo > 0x7fffffffu)
		return -EOVERFLOW;
	cur = raw3(K_lseek, fd, 0, 1 /* SEEK_CUR */);
	if (cur < 0)
		return cur;
	r = raw3(K_lseek, fd, (long)lo, 0 /* SEEK_SET */);
	if (r < 0)
		return r;
	r = raw3(nr, fd, buf, cnt);
	raw3(K_lseek, fd, cur, 0);
	return r;
}

/* ---------- dispatcher of this area ----------
 * Stack matters: musl's posix_spawn runs its child on a 5 KiB stack, so the common path
 * keeps small frames and every path buffer lives in a noinline helper. */

__attribute__((noinline)) static long symlinkat_call(const char *target, int dirfd, const char *path)
{
	char buf[PATHBUF];
	const char *p;
	long r = compat_at_path(dirfd, path, buf, sizeof buf, &p);
	return r < 0 ? r : raw2(K_symlink, target, p);
}

/*
 * mkdir: 2.0.36 answers a path whose last component is empty ("/", "dir/") with
 * ENOENT even when the directory exists.  Programs that make a chain of
 * directories (busybox mkdir -p starts with "/") need today's EEXIST there.
 */
static long sys_mkdir(const char *p, long mode)
{
	struct k_stat st;
	long r = raw2(K_mkdir, p, mode);

	if (r == -ENOENT && raw2(K_stat, p, &st) == 0)
		return -EEXIST;
	return r;
}

__attribute__((noinline)) static long at_call(long nr, long a, long b, long c, long d, long e)
{
	char buf[PATHBUF], buf2[PATHBUF];
	const char *p, *q;
	long r;

	if ((r = compat_at_path((int)a, (const char *)b, buf, sizeof buf, &p)) < 0)
		return r;
	switch (nr) {
	case 295: /* openat(dirfd, path, flags, mode) */
		return sys_open(p, c, d);
	case 299: /* futimesat(dirfd, path, tv) */
		return sys_utimes(p, (const struct k_timeval *)c);
	case 296: /* mkdirat */
		return sys_mkdir(p, c);
	case 297: /* mknodat */
		return raw3(K_mknod, p, c, d);
	case 298: /* fchownat(dirfd, path, uid, gid, flags) */
		return raw3(K_chown, p, (u16)c, (u16)d);
	case 301: /* unlinkat */
		return raw1((c & AT_REMOVEDIR) ? K_rmdir : K_unlink, p);
	case 302: /* renameat */
	case 303: /* linkat(olddirfd, old, newdirfd, new, flags) */
		if ((r = compat_at_path((int)c, (const char *)d, buf2, sizeof buf2, &q)) < 0)
			return r;
		return raw2(nr == 302 ? K_rename : K_link, p, q);
	case 305: /* readlinkat */
		return raw3(K_readlink, p, c, d);
	case 306: /* fchmodat */
		return raw2(K_chmod, p, c);
	case 307: /* faccessat (AT_EACCESS ignored: 2.0 checks the real ids) */
	case 439: /* faccessat2 */
		return raw2(K_access, p, c);
	default:
		return -ENOSYS;
	}
}

long compat_fs_call(long nr, long a, long b, long c, long d, long e, long f, int *handled)
{
	(void)f;
	*handled = 1;
	switch (nr) {
	case 5: /* open */
		return sys_open((const char *)a, b, c);
	case 39: /* mkdir */
		return sys_mkdir((const char *)a, b);
	case 295: case 296: case 297: case 298: case 299: case 301: case 302: case 303:
	case 305: case 306: case 307: case 439:
		return at_call(nr, a, b, c, d, e);
	case 304: /* symlinkat(target, newdirfd, linkpath): the dirfd is the 2nd argument */
		return symlinkat_call((const char *)a, (int)b, (const char *)c);
	case 195: /* stat64 */
		return do_stat(K_stat, a, (struct k_stat64 *)b);
	case 196: /* lstat64 */
		return do_stat(K_lstat, a, (struct k_stat64 *)b);
	case 197: /* fstat64 */
		return do_stat(K_fstat, a, (struct k_stat64 *)b);
	case 300: /* fstatat64 */
		return sys_fstatat64((int)a, (const char *)b, (struct k_stat64 *)c, (int)d);
	case 383: /* statx: refuse, musl falls back to the stat64 family */
		return -ENOSYS;
	case 220: /* getdents64 */
		return sys_getdents64((int)a, (char *)b, (unsigned long)c);
	case 183: /* getcwd */
		return sys_getcwd((char *)a, (unsigned long)b);
	case 55: /* fcntl */
		return sys_fcntl(a, b, c, 0);
	case 221: /* fcntl64 */
		return sys_fcntl(a, b, c, 1);
	case 268: /* statfs64(path, size, buf) */
		return sys_statfs64(K_statfs, a, (unsigned long)b, (struct k_statfs64 *)c);
	case 269: /* fstatfs64(fd, size, buf) */
		return sys_statfs64(K_fstatfs, a, (unsigned long)b, (struct k_statfs64 *)c);
	case 193: /* truncate64(path, lo, hi) */
	case 194: /* ftruncate64(fd, lo, hi) */
		if (c || (u32)b > 0x7fffffffu)
			return -EOVERFLOW;
		return raw2(nr == 193 ? K_truncate : K_ftruncate, a, b);
	case 180: /* pread64(fd, buf, count, lo, hi) */
		return sys_prw(K_read, a, b, c, (u32)d, (u32)e);
	case 181: /* pwrite64 */
		return sys_prw(K_write, a, b, c, (u32)d, (u32)e);
	case 271: /* utimes */
		return sys_utimes((const char *)a, (const struct k_timeval *)b);
	case 320: /* utimensat */
		return sys_utimensat((int)a, (const char *)b, (const void *)c, (int)d, 0);
	case 412: /* utimensat_time64 */
		return sys_utimensat((int)a, (const char *)b, (const void *)c, (int)d, 1);
	case 21: /* mount: 2.0 ignores flags and data unless the magic is in the top half */
		return raw5(K_mount, a, b, c, (d & MS_K_MASK) | MS_MGC_VAL, e);
	case 52: /* umount2 (52 is the "phys" stub on 2.0): plain umount, flags dropped */
		return raw1(K_umount, a);
	case 272: /* fadvise64_64: advice only */
	case 250: /* fadvise64 */
		return 0;
	default:
		*handled = 0;
		return -ENOSYS;
	}
}
