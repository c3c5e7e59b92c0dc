/* polling: poll/ppoll/pselect6 -> _newselect */
#include "t.h"
#include <poll.h>
#include <signal.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
	int p[2];
	CHECK(pipe(p) == 0, "pipe");
	struct pollfd f[3] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}, {-1, POLLIN, 0}};
	CHECK(poll(f, 3, 0) == 1 && f[0].revents == 0 && f[1].revents == POLLOUT && f[2].revents == 0,
	      "empty pipe: only the write end is ready");
	write(p[1], "x", 1);
	/* (2.0's pipe counts as writable only while EMPTY, so poll the read end alone) */
	int r = poll(f, 1, 0);
	CHECK(r == 1 && f[0].revents == POLLIN, "after a write the read end is ready (r=%d, revents %#x)", r,
	      f[0].revents);
	char c;
	read(p[0], &c, 1);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(poll(f, 1, 150) == 0, "poll timeout");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double dt = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	CHECK(dt >= 0.14, "waited %.3f s", dt);
	int spare = dup(p[0]);
	close(spare);
	struct pollfd bad[2] = {{spare, POLLIN, 0}, {p[1], POLLOUT, 0}};
	CHECK(poll(bad, 2, 0) == 1 && bad[0].revents == POLLNVAL, "closed fd: POLLNVAL");
	fd_set rs;
	FD_ZERO(&rs);
	FD_SET(p[0], &rs);
	struct timeval tv = {0, 1000};
	CHECK(select(p[0] + 1, &rs, NULL, NULL, &tv) == 0, "select timeout");
	sigset_t m;
	sigemptyset(&m);
	FD_SET(p[0], &rs);
	write(p[1], "y", 1);
	CHECK(pselect(p[0] + 1, &rs, NULL, NULL, &(struct timespec){0, 1000000}, &m) == 1, "pselect");
	CHECK(ppoll(f, 1, &(struct timespec){0, 1000000}, &m) == 1 && f[0].revents == POLLIN, "ppoll");
	return t_done();
}
