/*
 * timeit -- run a program (optionally fed by a producer) and time it from inside.
 *   timeit [-n K] [-s SINK] [-f SINKFILE] [-i INFILE] [-o OUTFILE] [-P PRODUCER [ARG...] --] -- PROG [ARG...]
 * PROG's standard output is the sink (-s):
 *   hash  (default) a pipe that timeit drains with read() (64 KiB) and hashes
 *         (FNV-1a 64 over all bytes, and the count); -o also saves the bytes of
 *         the first run.  The hash runs inside the timed interval: use it to
 *         check the output, not to time a tool.
 *   null  /dev/null opened for writing: no pipe, nothing read back.
 *   file  SINKFILE (default /tmp/pipemap-sink), created or truncated per run in
 *         PROG's child before exec; out_bytes is its size after the run.
 *   pipe  a pipe that timeit drains with read() of 64 KiB without looking at the
 *         bytes (out_bytes adds up read()'s return values).  PROG's stdin: INFILE (-i, reopened per run), or a pipe from
 * PRODUCER (-P, whose stdout it is; PRODUCER's stdin is INFILE or inherited),
 * else timeit's own.  stderr is inherited.  Real time: gettimeofday() before the
 * first fork and after the last wait (the whole pipeline, K runs).  User and
 * system time: the rusage that wait4() returns for PROG's pid alone (it includes
 * PROG's own waited-for children, not the producer's).  With -n K the runs are
 * repeated inside one timing and per-run averages are reported.  Prints one line
 * to its stdout:
 *   TIME real_us=R user_us=U sys_us=S status=X sink=S out_bytes=B out_fnv=HHHHHHHHHHHHHHHH reps=K
 * (out_fnv only with sink hash, out_bytes not with sink null; with -P followed
 * by " producer_status=Y").
 * status: PROG's exit status, 128+N if killed by signal N; the first run that
 * was not 0 (or that differed in output from the first run, by hash and count,
 * or by count alone for sinks pipe and file: status=255).
 * Exit: 0 if every run of PROG (and of the producer) exited 0 with the same
 * output, 1 otherwise, 2 usage or a failure of timeit itself.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE 1	/* wait4() on glibc */
#define _BSD_SOURCE 1		/* wait4() on older libcs */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

pid_t wait4(pid_t pid, int *status, int options, struct rusage *ru);

static void die(const char *what)
{
	fprintf(stderr, "timeit: %s: %s\n", what, strerror(errno));
	exit(2);
}

static long long tv_us(const struct timeval *t)
{
	return (long long) t->tv_sec * 1000000LL + t->tv_usec;
}

static int decode(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 255;
}

static void exec_or_die(char **argv)
{
	execvp(argv[0], argv);
	fprintf(stderr, "timeit: cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

static void set_stdin(const char *infile)
{
	int fd = open(infile, O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "timeit: %s: %s\n", infile, strerror(errno));
		_exit(127);
	}
	if (fd != 0) {
		dup2(fd, 0);
		close(fd);
	}
}

enum { S_HASH, S_NULL, S_FILE, S_PIPE };
static const char *const SINKS[] = { "hash", "null", "file", "pipe" };

/* PROG's stdout for sinks null and file, opened in PROG's child (so per run) */
static void set_stdout(int sink, const char *sinkfile)
{
	int fd = sink == S_NULL ? open("/dev/null", O_WRONLY)
	    : open(sinkfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		fprintf(stderr, "timeit: %s: %s\n", sink == S_NULL ? "/dev/null" : sinkfile, strerror(errno));
		_exit(127);
	}
	if (fd != 1) {
		dup2(fd, 1);
		close(fd);
	}
}

int main(int argc, char **argv)
{
	int i = 1, k, reps = 1, status = 0, pstatus = 0, differ = 0;
	const char *infile = 0, *outfile = 0, *sinkfile = "/tmp/pipemap-sink";
	int sink = S_HASH, piped;
	char **prod = 0, **prog;
	static char buf[65536];
	unsigned long long first_bytes = 0, first_fnv = 0;
	long long user = 0, sys = 0;
	struct timeval t0, t1;
	int outfd = -1;

	while (i < argc) {
		if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
			reps = atoi(argv[i + 1]);
			if (reps < 1) {
				fprintf(stderr, "timeit: -n needs a count >= 1\n");
				return 2;
			}
			i += 2;
		} else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc) {
			for (sink = 0; sink < 4 && strcmp(argv[i + 1], SINKS[sink]) != 0; sink++)
				;
			if (sink == 4) {
				fprintf(stderr, "timeit: unknown sink '%s' (hash, null, file or pipe)\n", argv[i + 1]);
				return 2;
			}
			i += 2;
		} else if (strcmp(argv[i], "-f") == 0 && i + 1 < argc) {
			sinkfile = argv[i + 1];
			i += 2;
		} else if (strcmp(argv[i], "-i") == 0 && i + 1 < argc) {
			infile = argv[i + 1];
			i += 2;
		} else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
			outfile = argv[i + 1];
			i += 2;
		} else if (strcmp(argv[i], "-P") == 0 && i + 1 < argc) {
			prod = argv + i + 1;
			for (i = i + 1; i < argc && strcmp(argv[i], "--") != 0; i++)
				;
			if (i >= argc || prod == argv + i) {
				fprintf(stderr, "timeit: -P PRODUCER [ARG...] must end with --\n");
				return 2;
			}
			argv[i] = 0;	/* ends the producer's argv */
			i++;
		} else if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else {
			fprintf(stderr, "usage: timeit [-n K] [-s hash|null|file|pipe] [-f SINKFILE] [-i INFILE] "
				"[-o OUTFILE] [-P PRODUCER [ARG...] --] -- PROG [ARG...]\n");
			return 2;
		}
	}
	if (i >= argc) {
		fprintf(stderr, "timeit: no program given\n");
		return 2;
	}
	prog = argv + i;
	piped = sink == S_HASH || sink == S_PIPE;
	if (outfile && sink != S_HASH) {
		fprintf(stderr, "timeit: -o needs sink hash\n");
		return 2;
	}
	if (outfile) {
		outfd = open(outfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (outfd < 0)
			die(outfile);
	}
	signal(SIGPIPE, SIG_IGN);	/* children get it back at exec (SIG_IGN is inherited: reset) */
	fflush(stdout);
	if (gettimeofday(&t0, 0) < 0)
		die("gettimeofday");
	for (k = 0; k < reps; k++) {
		int out[2], pp[2], st;
		pid_t pid, ppid = -1;
		unsigned long long bytes = 0, h = 0xcbf29ce484222325ULL;
		struct rusage ru;
		ssize_t r;
		if (piped && pipe(out) < 0)
			die("pipe");
		if (prod) {
			if (pipe(pp) < 0)
				die("pipe");
			ppid = fork();
			if (ppid < 0)
				die("fork");
			if (ppid == 0) {
				signal(SIGPIPE, SIG_DFL);
				if (infile)
					set_stdin(infile);
				dup2(pp[1], 1);
				close(pp[0]);
				close(pp[1]);
				if (piped) {
					close(out[0]);
					close(out[1]);
				}
				if (outfd >= 0)
					close(outfd);
				exec_or_die(prod);
			}
		}
		pid = fork();
		if (pid < 0)
			die("fork");
		if (pid == 0) {
			signal(SIGPIPE, SIG_DFL);
			if (prod) {
				dup2(pp[0], 0);
				close(pp[0]);
				close(pp[1]);
			} else if (infile)
				set_stdin(infile);
			if (piped) {
				dup2(out[1], 1);
				close(out[0]);
				close(out[1]);
			} else
				set_stdout(sink, sinkfile);
			if (outfd >= 0)
				close(outfd);
			exec_or_die(prog);
		}
		if (prod) {
			close(pp[0]);
			close(pp[1]);
		}
		if (piped)
			close(out[1]);
		for (; piped;) {
			ssize_t j;
			r = read(out[0], buf, sizeof(buf));
			if (r < 0) {
				if (errno == EINTR)
					continue;
				die("read");
			}
			if (r == 0)
				break;
			bytes += (unsigned long long) r;
			if (sink == S_PIPE)
				continue;
			for (j = 0; j < r; j++) {
				h ^= (unsigned char) buf[j];
				h *= 0x100000001b3ULL;
			}
			if (k == 0 && outfd >= 0) {
				const char *p = buf;
				ssize_t left = r;
				while (left > 0) {
					ssize_t w = write(outfd, p, (size_t) left);
					if (w < 0) {
						if (errno == EINTR)
							continue;
						die("write");
					}
					p += w;
					left -= w;
				}
			}
		}
		if (piped)
			close(out[0]);
		while (wait4(pid, &st, 0, &ru) < 0)
			if (errno != EINTR)
				die("wait4");
		user += tv_us(&ru.ru_utime);
		sys += tv_us(&ru.ru_stime);
		if (status == 0 && st != 0)
			status = decode(st);
		if (ppid > 0) {
			int ps;
			while (waitpid(ppid, &ps, 0) < 0)
				if (errno != EINTR)
					die("waitpid");
			if (pstatus == 0 && ps != 0)
				pstatus = decode(ps);
		}
		if (sink == S_FILE) {
			struct stat sb;
			if (stat(sinkfile, &sb) < 0)
				die(sinkfile);
			bytes = (unsigned long long) sb.st_size;
		}
		if (k == 0) {
			first_bytes = bytes;
			first_fnv = h;
		} else if (bytes != first_bytes || h != first_fnv)
			differ = 1;
	}
	if (gettimeofday(&t1, 0) < 0)
		die("gettimeofday");
	if (outfd >= 0)
		close(outfd);
	if (differ && status == 0)
		status = 255;
	printf("TIME real_us=%lld user_us=%lld sys_us=%lld status=%d sink=%s", (tv_us(&t1) - tv_us(&t0)) / reps,
	       user / reps, sys / reps, status, SINKS[sink]);
	if (sink != S_NULL)
		printf(" out_bytes=%llu", first_bytes);
	if (sink == S_HASH)
		printf(" out_fnv=%016llx", first_fnv);
	printf(" reps=%d", reps);
	if (prod)
		printf(" producer_status=%d", pstatus);
	printf("\n");
	fflush(stdout);
	return status == 0 && pstatus == 0 ? 0 : 1;
}
