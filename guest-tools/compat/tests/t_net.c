/* sockets: socket..shutdown (359-373) -> socketcall, SOCK_CLOEXEC/NONBLOCK, MSG_NOSIGNAL/DONTWAIT */
#include "t.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	int one = 1, l, c, s;
	char buf[64];

	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(l >= 0 && (fcntl(l, F_GETFD) & FD_CLOEXEC), "socket with SOCK_CLOEXEC");
	CHECK(setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0, "setsockopt");
	CHECK(bind(l, (struct sockaddr *)&a, sizeof a) == 0 && listen(l, 4) == 0, "bind + listen");
	CHECK(getsockname(l, (struct sockaddr *)&a, &al) == 0 && a.sin_port != 0, "getsockname port %d",
	      ntohs(a.sin_port));
	c = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(connect(c, (struct sockaddr *)&a, sizeof a) == 0, "connect");
	if (t_fail) { /* no usable loopback (e.g. a network namespace with lo down) */
		printf("# no loopback network: stopping here\n");
		return t_done();
	}
	s = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	CHECK(s >= 0 && (fcntl(s, F_GETFL) & O_NONBLOCK) && (fcntl(s, F_GETFD) & FD_CLOEXEC), "accept4 flags");
	CHECK(recv(s, buf, sizeof buf, 0) == -1 && errno == EAGAIN, "non-blocking recv: EAGAIN");
	CHECK(send(c, "ping", 4, 0) == 4, "send");
	usleep(10000);
	CHECK(recv(s, buf, sizeof buf, 0) == 4 && !memcmp(buf, "ping", 4), "recv");
	CHECK(recv(c, buf, sizeof buf, MSG_DONTWAIT) == -1 && errno == EAGAIN, "MSG_DONTWAIT on a blocking socket");
	CHECK(!(fcntl(c, F_GETFL) & O_NONBLOCK), "socket blocking again afterwards");
	struct sockaddr_in peer;
	socklen_t pl = sizeof peer;
	CHECK(getpeername(c, (struct sockaddr *)&peer, &pl) == 0 && peer.sin_port == a.sin_port, "getpeername");
	int so = -1;
	socklen_t sol = sizeof so;
	CHECK(getsockopt(c, SOL_SOCKET, SO_TYPE, &so, &sol) == 0 && so == SOCK_STREAM, "getsockopt SO_TYPE");
	CHECK(shutdown(s, SHUT_RDWR) == 0 && close(s) == 0, "shutdown");
	usleep(10000);
	CHECK(recv(c, buf, sizeof buf, 0) == 0, "peer sees EOF");
	/* Our own write side shut: EPIPE (and SIGPIPE, which MSG_NOSIGNAL must suppress)
	 * on 2.0 and today alike. */
	CHECK(shutdown(c, SHUT_WR) == 0, "shutdown SHUT_WR");
	CHECK(send(c, "x", 1, MSG_NOSIGNAL) == -1 && errno == EPIPE, "MSG_NOSIGNAL: EPIPE and no SIGPIPE");
	struct sigaction old;
	CHECK(sigaction(SIGPIPE, NULL, &old) == 0 && old.sa_handler == SIG_DFL, "SIGPIPE disposition restored");
	close(c);
	close(l);

	int u = socket(AF_INET, SOCK_DGRAM, 0), v = socket(AF_INET, SOCK_DGRAM, 0);
	a.sin_port = 0;
	al = sizeof a;
	bind(u, (struct sockaddr *)&a, sizeof a);
	getsockname(u, (struct sockaddr *)&a, &al);
	CHECK(sendto(v, "dgram", 5, 0, (struct sockaddr *)&a, sizeof a) == 5, "sendto");
	struct sockaddr_in from;
	socklen_t fl = sizeof from;
	CHECK(recvfrom(u, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl) == 5 && !memcmp(buf, "dgram", 5),
	      "recvfrom");
	struct iovec iov = {buf, sizeof buf};
	struct msghdr mh = {.msg_name = &a, .msg_namelen = sizeof a, .msg_iov = &iov, .msg_iovlen = 1};
	memcpy(buf, "msg", 3);
	iov.iov_len = 3;
	CHECK(sendmsg(v, &mh, 0) == 3, "sendmsg");
	iov.iov_len = sizeof buf;
	mh.msg_name = NULL;
	mh.msg_namelen = 0;
	CHECK(recvmsg(u, &mh, 0) == 3 && !memcmp(buf, "msg", 3), "recvmsg");
	close(u);
	close(v);
	return t_done();
}
