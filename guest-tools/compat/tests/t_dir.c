/* directories: getdents64 -> getdents conversion, getcwd by walking "..", *at calls */
#include "t.h"
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void)
{
	char dir[] = "/tmp/compat-dir-XXXXXX", name[300], cwd[512];
	int i, seen[200] = {0}, n = 0, bad = 0;
	CHECK(mkdtemp(dir) != NULL && chdir(dir) == 0, "mkdtemp + chdir");
	for (i = 0; i < 200; i++) {
		/* names from 1 to 200 characters */
		memset(name, 'a' + i % 26, sizeof name);
		snprintf(name, sizeof name, "%d", i);
		name[strlen(name)] = 'x';
		name[i + 1 < 4 ? 4 : i + 1] = 0;
		int fd = open(name, O_CREAT | O_WRONLY, 0644);
		if (fd < 0)
			bad++;
		close(fd);
	}
	CHECK(!bad, "200 files with names up to 200 characters");
	DIR *d = opendir(".");
	CHECK(d != NULL, "opendir");
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		i = atoi(e->d_name);
		if (i >= 0 && i < 200 && !seen[i]++)
			n++;
		else
			bad++;
	}
	closedir(d);
	CHECK(n == 200 && !bad, "readdir returns each of them once (%d)", n);
	CHECK(mkdir("sub", 0755) == 0 && mkdir("sub/deeper", 0755) == 0 && chdir("sub/deeper") == 0, "nested dirs");
	CHECK(mkdir("/", 0755) == -1 && errno == EEXIST, "mkdir(\"/\") is EEXIST (mkdir -p)");
	snprintf(name, sizeof name, "%s/sub/deeper", dir);
	CHECK(getcwd(cwd, sizeof cwd) && !strcmp(cwd, name), "getcwd = %s", cwd);
	CHECK(getcwd(cwd, 5) == NULL && errno == ERANGE, "getcwd ERANGE");
	CHECK(chdir("/") == 0 && getcwd(cwd, sizeof cwd) && !strcmp(cwd, "/"), "getcwd at /");
	CHECK(chdir("/proc/self") == 0 && getcwd(cwd, sizeof cwd) && !strncmp(cwd, "/proc/", 6),
	      "getcwd below a mount point: %s", cwd);
	chdir(dir);
	int dfd = open(".", O_RDONLY | O_DIRECTORY);
	CHECK(mkdirat(dfd, "at", 0700) == 0, "mkdirat");
	int fd = openat(dfd, "at/file", O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	CHECK(fd >= 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC), "openat with O_CLOEXEC");
	close(fd);
	CHECK(symlinkat("file", dfd, "at/link") == 0, "symlinkat");
	ssize_t rl = readlinkat(dfd, "at/link", name, sizeof name);
	CHECK(rl == 4 && !memcmp(name, "file", 4), "readlinkat");
	CHECK(renameat(dfd, "at/file", dfd, "at/file2") == 0, "renameat");
	CHECK(linkat(dfd, "at/file2", dfd, "at/hard", 0) == 0, "linkat");
	CHECK(fchmodat(dfd, "at/file2", 0644, 0) == 0, "fchmodat");
	CHECK(faccessat(dfd, "at/file2", R_OK, 0) == 0, "faccessat");
	CHECK(unlinkat(dfd, "at/link", 0) == 0 && unlinkat(dfd, "at/hard", 0) == 0 && unlinkat(dfd, "at/file2", 0) == 0,
	      "unlinkat files");
	CHECK(unlinkat(dfd, "at", AT_REMOVEDIR) == 0, "unlinkat AT_REMOVEDIR");
	close(dfd);
	/* cleanup */
	rmdir("sub/deeper");
	rmdir("sub");
	for (i = 0; i < 200; i++) {
		memset(name, 'a' + i % 26, sizeof name);
		snprintf(name, sizeof name, "%d", i);
		name[strlen(name)] = 'x';
		name[i + 1 < 4 ? 4 : i + 1] = 0;
		unlink(name);
	}
	chdir("/");
	CHECK(rmdir(dir) == 0, "cleanup");
	return t_done();
}
