/* memory: mmap2 -> old_mmap, file mappings with offsets, mremap via realloc, madvise */
#include "t.h"
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include <fcntl.h>

int main(void)
{
	char *big = malloc(4 << 20);
	CHECK(big != NULL, "4 MiB malloc (mmap)");
	memset(big, 1, 4 << 20);
	big = realloc(big, 8 << 20);
	CHECK(big != NULL && big[(4 << 20) - 1] == 1, "realloc keeps contents (mremap)");
	free(big);

	char path[] = "/tmp/compat-mem-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0, "mkstemp");
	for (int i = 0; i < 3; i++) {
		char page[4096];
		memset(page, 'a' + i, sizeof page);
		write(fd, page, sizeof page);
	}
	char *m = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 8192);
	CHECK(m != MAP_FAILED && m[0] == 'c', "file mapping at page offset 2");
	CHECK(munmap(m, 4096) == 0, "munmap");
	m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED, "anonymous mapping");
	CHECK(mprotect(m, 4096, PROT_READ) == 0, "mprotect");
	CHECK(madvise(m, 8192, MADV_FREE) == 0, "madvise MADV_FREE accepted (advice)");
	CHECK(madvise(m, 8192, MADV_DONTNEED) == -1 && errno == EINVAL, "MADV_DONTNEED refused");
	close(fd);
	unlink(path);
	return t_done();
}
