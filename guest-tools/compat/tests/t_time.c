/* time: clock_gettime(64) / clock_getres / clock_nanosleep -> gettimeofday, times, nanosleep */
#include "t.h"
#include <sys/time.h>
#include <time.h>

static double now(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
	struct timespec ts, res;
	struct timeval tv;
	CHECK(clock_gettime(CLOCK_REALTIME, &ts) == 0 && ts.tv_sec > 1000000000 && ts.tv_nsec < 1000000000,
	      "CLOCK_REALTIME");
	gettimeofday(&tv, NULL);
	CHECK(tv.tv_sec - ts.tv_sec <= 1, "agrees with gettimeofday");
	CHECK(time(NULL) >= ts.tv_sec, "time()");
	CHECK(clock_gettime(CLOCK_MONOTONIC, &ts) == 0, "CLOCK_MONOTONIC");
	CHECK(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) == 0, "CLOCK_PROCESS_CPUTIME_ID (times)");
	CHECK(clock_getres(CLOCK_REALTIME, &res) == 0 && res.tv_sec == 0 && res.tv_nsec > 0, "clock_getres");
	double t0 = now(CLOCK_MONOTONIC);
	CHECK(nanosleep(&(struct timespec){0, 200000000}, NULL) == 0, "nanosleep 0.2 s");
	double t1 = now(CLOCK_MONOTONIC);
	CHECK(t1 - t0 >= 0.19, "slept %.3f s", t1 - t0);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_nsec += 200000000;
	if (ts.tv_nsec >= 1000000000)
		ts.tv_sec++, ts.tv_nsec -= 1000000000;
	CHECK(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == 0, "clock_nanosleep absolute");
	CHECK(now(CLOCK_MONOTONIC) - t1 >= 0.19, "absolute sleep waited");
	CHECK(clock_nanosleep(CLOCK_MONOTONIC, 0, &(struct timespec){0, 1000000}, NULL) == 0, "clock_nanosleep relative");
	return t_done();
}
