// SPDX-License-Identifier: Apache-2.0
/*
 * New-connections-per-second probe for bench/datapath-throughput.ts (compiled at bench time).
 *   connrate serve <port>                   accept and close, forever (prints "ready")
 *   connrate connect <ipv4> <port> <secs>   connect, then close with SO_LINGER 0 (RST, so no
 *                                           TIME_WAIT exhaustion), in a loop for <secs> seconds;
 *                                           prints "<connections> <failures> <elapsed seconds>"
 * One blocking connection at a time: the rate is bounded by the round trip through the datapath,
 * which is what the benchmark compares.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int serve(int port)
{
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4096) < 0) {
		perror("connrate serve");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		int c = accept(fd, NULL, NULL);

		if (c >= 0)
			close(c);
	}
}

static int client(const char *ip, int port, double secs)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct timeval tmo = { .tv_sec = 1 }; /* a dropped SYN must not stall the loop for minutes */
	long ok = 0, failed = 0;
	double start, end;

	if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1) {
		fprintf(stderr, "connrate: bad address %s\n", ip);
		return 2;
	}
	start = now_s();
	end = start + secs;
	while (now_s() < end) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		if (fd < 0) {
			perror("socket");
			return 1;
		}
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tmo, sizeof(tmo));
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			ok++;
		else
			failed++;
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
	}
	printf("%ld %ld %.3f\n", ok, failed, now_s() - start);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "serve") == 0)
		return serve(atoi(argv[2]));
	if (argc == 5 && strcmp(argv[1], "connect") == 0)
		return client(argv[2], atoi(argv[3]), atof(argv[4]));
	fprintf(stderr, "usage: connrate serve <port> | connrate connect <ipv4> <port> <secs>\n");
	return 2;
}
