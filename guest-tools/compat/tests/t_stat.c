/* stat family: stat64/lstat64/fstat64/fstatat64 (statx refused), statfs64, utimes, truncate */
#include "t.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <unistd.h>
#include <stdlib.h>

int main(void)
{
	char dir[] = "/tmp/compat-stat-XXXXXX";
	struct stat st, st2;
	CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	CHECK(chdir(dir) == 0, "chdir");
	int fd = open("f", O_CREAT | O_WRONLY, 0640);
	CHECK(fd >= 0 && write(fd, "hello", 5) == 5, "create file");
	CHECK(stat("f", &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0640 && st.st_size == 5,
	      "stat: regular, 0640, size 5");
	CHECK(fstat(fd, &st2) == 0 && st2.st_ino == st.st_ino && st2.st_dev == st.st_dev, "fstat matches stat");
	CHECK(symlink("f", "l") == 0, "symlink");
	CHECK(lstat("l", &st2) == 0 && S_ISLNK(st2.st_mode), "lstat sees the link");
	CHECK(stat("l", &st2) == 0 && st2.st_ino == st.st_ino, "stat follows it");
	int dfd = open(".", O_RDONLY | O_DIRECTORY);
	CHECK(dfd >= 0, "open dir O_DIRECTORY");
	CHECK(fstatat(dfd, "f", &st2, 0) == 0 && st2.st_ino == st.st_ino, "fstatat relative to dirfd");
	CHECK(fstatat(dfd, "l", &st2, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st2.st_mode), "fstatat NOFOLLOW");
	CHECK(fstatat(fd, "", &st2, AT_EMPTY_PATH) == 0 && st2.st_ino == st.st_ino, "fstatat AT_EMPTY_PATH");
	CHECK(stat("/dev/null", &st2) == 0 && S_ISCHR(st2.st_mode) && major(st2.st_rdev) == 1 && minor(st2.st_rdev) == 3,
	      "device numbers of /dev/null: 1,3");
	CHECK(stat("/nonexistent", &st2) == -1 && errno == ENOENT, "ENOENT");
	CHECK(ftruncate(fd, 2) == 0 && fstat(fd, &st2) == 0 && st2.st_size == 2, "ftruncate64");
	CHECK(truncate("f", 1) == 0 && stat("f", &st2) == 0 && st2.st_size == 1, "truncate64");
	struct timeval tv[2] = {{1000000000, 0}, {1100000000, 0}};
	CHECK(utimes("f", tv) == 0 && stat("f", &st2) == 0 && st2.st_mtime == 1100000000 && st2.st_atime == 1000000000,
	      "utimes -> utime");
	struct timespec ts[2] = {{0, UTIME_OMIT}, {1200000000, 0}};
	CHECK(utimensat(AT_FDCWD, "f", ts, 0) == 0 && stat("f", &st2) == 0 && st2.st_mtime == 1200000000 &&
	          st2.st_atime == 1000000000,
	      "utimensat with UTIME_OMIT");
	CHECK(futimens(fd, NULL) == 0 && fstat(fd, &st2) == 0 && st2.st_mtime > 1200000000, "futimens(now)");
	struct statvfs vf;
	CHECK(statvfs("/", &vf) == 0 && vf.f_bsize > 0 && vf.f_blocks > 0, "statvfs (statfs64)");
	close(fd);
	close(dfd);
	unlink("l");
	unlink("f");
	chdir("/");
	CHECK(rmdir(dir) == 0, "cleanup");
	return t_done();
}
