/*
 * netprobe: the e2e suite's agnhost stand-in, run inside pod network namespaces.
 *
 *   netprobe serve PORT...                       echo server on TCP and UDP for every PORT
 *   netprobe probe TIMEOUT_MS SPEC...            one attempt per SPEC, all concurrently
 *   netprobe repeat TIMEOUT_MS EVERY_MS FOR_MS SPEC...   probe the SPECs again and again
 *   netprobe hold TIMEOUT_MS EVERY_MS FOR_MS SPEC         one long-lived TCP connection,
 *                                                        an echo exchange every EVERY_MS
 * SPEC is proto:ipv4:port with proto tcp or udp. Every attempt prints one line:
 *   <ms since start> <SPEC> ok|fail <why>
 * A probe is "ok" only when the payload came back: a connect that succeeds but whose data is
 * dropped counts as blocked, as upstream's agnhost connect does.
 *
 * C rather than Node: 9 probers per matrix step and 9 servers per lab stay cheap on 2 cores.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_FDS 1024
#define PAYLOAD "weir-netprobe\n"

static long long now_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long started;

static void nonblock(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

/* ---- serve ---- */

enum kind { LISTEN_TCP, LISTEN_UDP, CONN };

static int serve(int argc, char **argv) {
	struct pollfd fds[MAX_FDS];
	enum kind kinds[MAX_FDS];
	int n = 0;
	for (int i = 0; i < argc; i++) {
		int port = atoi(argv[i]);
		struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_ANY) };
		for (int udp = 0; udp < 2; udp++) {
			int fd = socket(AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
			int one = 1;
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
			if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || (!udp && listen(fd, 128) != 0)) {
				fprintf(stderr, "netprobe serve: %s port %d: %s\n", udp ? "udp" : "tcp", port, strerror(errno));
				return 1;
			}
			nonblock(fd);
			fds[n] = (struct pollfd){ .fd = fd, .events = POLLIN };
			kinds[n++] = udp ? LISTEN_UDP : LISTEN_TCP;
		}
	}
	printf("serving\n");
	fflush(stdout);
	char buf[65536];
	for (;;) {
		if (poll(fds, n, -1) < 0) {
			if (errno == EINTR) continue;
			return 1;
		}
		for (int i = 0; i < n; i++) {
			if (!fds[i].revents) continue;
			if (kinds[i] == LISTEN_TCP) {
				int c = accept(fds[i].fd, NULL, NULL);
				if (c >= 0 && n < MAX_FDS) {
					nonblock(c);
					fds[n] = (struct pollfd){ .fd = c, .events = POLLIN };
					kinds[n++] = CONN;
				} else if (c >= 0) {
					close(c);
				}
			} else if (kinds[i] == LISTEN_UDP) {
				struct sockaddr_storage from;
				socklen_t len = sizeof from;
				ssize_t got = recvfrom(fds[i].fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
				if (got > 0) sendto(fds[i].fd, buf, got, 0, (struct sockaddr *)&from, len);
			} else {
				ssize_t got = read(fds[i].fd, buf, sizeof buf);
				if (got > 0) {
					/* Small echoes only: a short write on a full buffer drops the rest, which a probe sees. */
					if (write(fds[i].fd, buf, got) < 0) got = 0;
				}
				if (got <= 0 && !(got < 0 && errno == EAGAIN)) {
					close(fds[i].fd);
					fds[i] = fds[n - 1];
					kinds[i] = kinds[n - 1];
					n--;
					i--;
				}
			}
		}
	}
}

/* ---- probe ---- */

struct probe {
	char *spec;
	int udp;
	struct sockaddr_in addr;
	int fd;
	int stage; /* 0 connecting, 1 awaiting echo, 2 done */
	const char *result;
};

static int parse_spec(char *spec, struct probe *p) {
	char copy[128];
	snprintf(copy, sizeof copy, "%s", spec);
	char *proto = strtok(copy, ":"), *ip = strtok(NULL, ":"), *port = strtok(NULL, ":");
	if (!proto || !ip || !port) return -1;
	memset(p, 0, sizeof *p);
	p->spec = spec;
	p->udp = strcmp(proto, "udp") == 0;
	if (!p->udp && strcmp(proto, "tcp") != 0) return -1;
	p->addr.sin_family = AF_INET;
	p->addr.sin_port = htons(atoi(port));
	return inet_pton(AF_INET, ip, &p->addr.sin_addr) == 1 ? 0 : -1;
}

static void start_probe(struct probe *p) {
	p->stage = 0;
	p->result = NULL;
	p->fd = socket(AF_INET, p->udp ? SOCK_DGRAM : SOCK_STREAM, 0);
	if (p->fd < 0) { p->result = "fail socket"; p->stage = 2; return; }
	nonblock(p->fd);
	int rc = connect(p->fd, (struct sockaddr *)&p->addr, sizeof p->addr);
	if (rc != 0 && errno != EINPROGRESS) { p->result = "fail connect"; p->stage = 2; return; }
	if (p->udp) {
		if (send(p->fd, PAYLOAD, sizeof PAYLOAD - 1, 0) < 0) { p->result = "fail send"; p->stage = 2; return; }
		p->stage = 1;
	}
}

static void step_probe(struct probe *p, short revents) {
	if (p->stage == 0) {
		int err = 0;
		socklen_t len = sizeof err;
		getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err != 0) { p->result = err == ECONNREFUSED ? "fail refused" : "fail connect"; p->stage = 2; return; }
		if (send(p->fd, PAYLOAD, sizeof PAYLOAD - 1, MSG_NOSIGNAL) < 0) { p->result = "fail send"; p->stage = 2; return; }
		p->stage = 1;
		return;
	}
	if (p->stage == 1 && (revents & (POLLIN | POLLERR | POLLHUP))) {
		char buf[256];
		ssize_t got = recv(p->fd, buf, sizeof buf, 0);
		if (got > 0) p->result = "ok";
		else if (got < 0 && errno == EAGAIN) return;
		else p->result = got == 0 ? "fail closed" : (errno == ECONNREFUSED ? "fail refused" : "fail recv");
		p->stage = 2;
	}
}

/* Runs every probe once, concurrently; each gets at most timeout_ms. */
static void run_round(struct probe *probes, int n, int timeout_ms) {
	for (int i = 0; i < n; i++) start_probe(&probes[i]);
	long long deadline = now_ms() + timeout_ms;
	struct pollfd fds[MAX_FDS];
	int map[MAX_FDS];
	for (;;) {
		int m = 0;
		for (int i = 0; i < n; i++) {
			if (probes[i].stage == 2) continue;
			fds[m] = (struct pollfd){ .fd = probes[i].fd, .events = probes[i].stage == 0 ? POLLOUT : POLLIN };
			map[m++] = i;
		}
		long long left = deadline - now_ms();
		if (m == 0 || left <= 0) break;
		if (poll(fds, m, (int)left) < 0 && errno != EINTR) break;
		for (int j = 0; j < m; j++) if (fds[j].revents) step_probe(&probes[map[j]], fds[j].revents);
	}
	for (int i = 0; i < n; i++) {
		if (!probes[i].result) probes[i].result = probes[i].stage == 0 ? "fail timeout-connect" : "fail timeout-echo";
		if (probes[i].fd >= 0) close(probes[i].fd);
		printf("%lld %s %s\n", now_ms() - started, probes[i].spec, probes[i].result);
	}
	fflush(stdout);
}

static int probe_main(int timeout_ms, int every_ms, int for_ms, int argc, char **argv) {
	if (argc > MAX_FDS) return 2;
	struct probe *probes = calloc(argc, sizeof *probes);
	for (int i = 0; i < argc; i++) {
		if (parse_spec(argv[i], &probes[i]) != 0) { fprintf(stderr, "netprobe: bad spec %s\n", argv[i]); return 2; }
	}
	long long end = now_ms() + for_ms;
	do {
		long long round = now_ms();
		run_round(probes, argc, timeout_ms);
		long long wait = round + every_ms - now_ms();
		if (for_ms > 0 && wait > 0) usleep(wait * 1000);
	} while (now_ms() < end);
	return 0;
}

/* ---- hold: one TCP connection for the whole run ---- */

static int hold(int timeout_ms, int every_ms, int for_ms, char *spec) {
	struct probe p;
	if (parse_spec(spec, &p) != 0 || p.udp) { fprintf(stderr, "netprobe hold: tcp spec needed\n"); return 2; }
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&p.addr, sizeof p.addr) != 0) {
		printf("%lld %s fail connect\n", now_ms() - started, spec);
		return 0;
	}
	printf("%lld %s connected\n", now_ms() - started, spec);
	fflush(stdout);
	long long end = now_ms() + for_ms;
	int broken = 0;
	while (now_ms() < end) {
		long long round = now_ms();
		const char *result = "ok";
		char buf[256];
		if (broken) result = "fail broken";
		else if (send(fd, PAYLOAD, sizeof PAYLOAD - 1, MSG_NOSIGNAL) < 0) { result = "fail send"; broken = 1; }
		else {
			ssize_t got = recv(fd, buf, sizeof buf, 0);
			if (got == 0) { result = "fail closed"; broken = 1; }
			else if (got < 0) { result = errno == EAGAIN ? "fail timeout-echo" : "fail reset"; broken = errno != EAGAIN; }
		}
		printf("%lld %s %s\n", now_ms() - started, spec, result);
		fflush(stdout);
		long long wait = round + every_ms - now_ms();
		if (wait > 0) usleep(wait * 1000);
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv) {
	signal(SIGPIPE, SIG_IGN);
	started = now_ms();
	if (argc >= 3 && strcmp(argv[1], "serve") == 0) return serve(argc - 2, argv + 2);
	if (argc >= 4 && strcmp(argv[1], "probe") == 0) return probe_main(atoi(argv[2]), 0, 0, argc - 3, argv + 3);
	if (argc >= 6 && strcmp(argv[1], "repeat") == 0) return probe_main(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), argc - 5, argv + 5);
	if (argc == 6 && strcmp(argv[1], "hold") == 0) return hold(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), argv[5]);
	fprintf(stderr, "usage: netprobe serve PORT... | probe TIMEOUT_MS SPEC... | repeat TIMEOUT_MS EVERY_MS FOR_MS SPEC... | hold TIMEOUT_MS EVERY_MS FOR_MS SPEC\n");
	return 2;
}
