/* descriptors: open flags, fcntl64 (locks, F_DUPFD_CLOEXEC), pipe2, dup3, pread/pwrite */
#include "t.h"
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>

int main(void)
{
	char path[] = "/tmp/compat-fd-XXXXXX";
	int fd = mkstemp(path), p[2];
	CHECK(fd >= 0, "mkstemp");
	CHECK(write(fd, "0123456789", 10) == 10, "write");
	char b[8] = {0};
	CHECK(pread(fd, b, 3, 4) == 3 && !memcmp(b, "456", 3), "pread at offset 4");
	CHECK(lseek(fd, 0, SEEK_CUR) == 10, "pread leaves the offset alone");
	CHECK(pwrite(fd, "AB", 2, 1) == 2 && pread(fd, b, 4, 0) == 4 && !memcmp(b, "0AB3", 4), "pwrite");
	int d = fcntl(fd, F_DUPFD_CLOEXEC, 10);
	CHECK(d >= 10 && (fcntl(d, F_GETFD) & FD_CLOEXEC), "F_DUPFD_CLOEXEC");
	close(d);
	struct flock lk = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 5};
	CHECK(fcntl(fd, F_SETLK, &lk) == 0, "F_SETLK (flock64 -> flock)");
	pid_t pid = fork();
	if (pid == 0) {
		struct flock q = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
		int r = fcntl(fd, F_GETLK, &q);
		_exit(r == 0 && q.l_type == F_WRLCK && q.l_pid == getppid() ? 0 : 1);
	}
	int st;
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "F_GETLK in a child sees the parent's lock");
	CHECK(fcntl(fd, F_SETFL, O_NONBLOCK | O_APPEND) == 0 && (fcntl(fd, F_GETFL) & O_APPEND), "F_SETFL");
	close(fd);
	CHECK(open(path, O_RDONLY | O_DIRECTORY) == -1 && errno == ENOTDIR, "O_DIRECTORY on a file");
	symlink(path, "/tmp/compat-fd-link");
	CHECK(open("/tmp/compat-fd-link", O_RDONLY | O_NOFOLLOW) == -1 && errno == ELOOP, "O_NOFOLLOW on a link");
	unlink("/tmp/compat-fd-link");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC), "O_CLOEXEC");
	CHECK(pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0, "pipe2");
	CHECK((fcntl(p[0], F_GETFD) & FD_CLOEXEC) && (fcntl(p[1], F_GETFL) & O_NONBLOCK), "pipe2 flags applied");
	CHECK(read(p[0], b, 1) == -1 && errno == EAGAIN, "non-blocking empty read: EAGAIN");
	CHECK(dup3(p[1], 20, O_CLOEXEC) == 20 && (fcntl(20, F_GETFD) & FD_CLOEXEC), "dup3 O_CLOEXEC");
	CHECK(dup3(20, 20, 0) == -1 && errno == EINVAL, "dup3 same fd: EINVAL");
	close(fd);
	unlink(path);
	return t_done();
}
