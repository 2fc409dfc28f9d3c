/* The plugin's only I/O besides stdin/stdout: one bounded exchange with the agent. */
#define _GNU_SOURCE /* struct ucred */
#include "agent.h"
#include "json.h"
#include "weir.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Waits for events on fd until the deadline; returns 1 ready, 0 timed out, -1 error (errno). */
static int wait_fd(int fd, short events, double deadline)
{
	for (;;) {
		double left = deadline - now_s();
		if (left <= 0)
			return 0;
		struct pollfd pfd = { fd, events, 0 };
		int ms = (int)(left * 1000.0) + 1; /* round up: never spin on 0 ms */
		int r = poll(&pfd, 1, ms);
		if (r > 0)
			return 1;
		if (r == 0)
			continue; /* re-check the clock; poll may round */
		if (errno != EINTR)
			return -1;
	}
}

static int do_connect(int fd, const struct sockaddr_un *sa, double deadline, struct agent_result *out)
{
	for (;;) {
		if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			/* A unix socket's backlog is full: the agent is alive but busy; retry briefly. */
			if (now_s() >= deadline) {
				out->status = AGENT_TIMEOUT;
				return -1;
			}
			struct timespec ts = { 0, 5 * 1000 * 1000 };
			nanosleep(&ts, NULL);
			continue;
		}
		if (errno == EINPROGRESS) {
			int r = wait_fd(fd, POLLOUT, deadline);
			if (r == 0) {
				out->status = AGENT_TIMEOUT;
				return -1;
			}
			int soerr = 0;
			socklen_t len = sizeof(soerr);
			if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
				soerr = errno;
			if (soerr == 0)
				return 0;
			errno = soerr;
		}
		out->status = AGENT_UNREACHABLE;
		out->err = errno;
		return -1;
	}
}

/* The agent runs as root; a socket served by anyone else is refused before a byte is sent. */
static int check_peer(int fd, struct agent_result *out)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || len != sizeof(cred)) {
		out->status = AGENT_UNTRUSTED;
		out->err = errno ? errno : EPROTO;
		return -1;
	}
	out->peer_known = 1;
	out->peer_uid = (unsigned)cred.uid;
	out->peer_pid = (int)cred.pid;
	if (cred.uid != WEIR_AGENT_UID) {
		out->status = AGENT_UNTRUSTED;
		return -1;
	}
	return 0;
}

static void parse_reply(const char *buf, size_t n, struct agent_result *out)
{
	static const char *const keys[] = { "ok", "code", "message", "details" };
	struct json_span v[4];
	const char *err = NULL;
	size_t pos = 0;
	out->status = AGENT_BAD_REPLY;
	if (n == 0) {
		out->what = "the agent closed the connection without answering";
		return;
	}
	if (json_object_members(buf, n, keys, 4, v, &err, &pos)) {
		out->what = "the agent's reply is not a JSON object";
		return;
	}
	if (json_is_literal(v[0], "true")) {
		out->status = AGENT_OK;
		return;
	}
	if (!json_is_literal(v[0], "false")) {
		out->what = "the agent's reply has no boolean \"ok\"";
		return;
	}
	double code;
	if (json_number_value(v[1], &code) || code < 0 || code > 1e9 || (double)(long)code != code) {
		out->what = "the agent's error reply has no integer \"code\"";
		return;
	}
	if (json_string_value(v[2], out->message, sizeof(out->message)) < 0) {
		out->what = "the agent's error reply has no string \"message\" (or it is too long)";
		return;
	}
	if (v[3].p && json_string_value(v[3], out->details, sizeof(out->details)) < 0) {
		out->what = "the agent's error reply has a \"details\" that is not a string";
		return;
	}
	out->code = (long)code;
	out->status = AGENT_REFUSED;
}

void agent_call(const char *socket_path, const char *req, size_t reqlen, double timeout_s, struct agent_result *out)
{
	memset(out, 0, sizeof(*out));
	double deadline = now_s() + timeout_s;
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	size_t plen = strlen(socket_path);
	if (plen == 0 || plen >= sizeof(sa.sun_path)) {
		out->status = AGENT_UNREACHABLE;
		out->err = ENAMETOOLONG;
		return;
	}
	memcpy(sa.sun_path, socket_path, plen);

	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		out->status = AGENT_UNREACHABLE;
		out->err = errno;
		return;
	}
	if (do_connect(fd, &sa, deadline, out)) {
		close(fd);
		return;
	}
	out->connected = 1;
	if (check_peer(fd, out)) {
		close(fd);
		return;
	}

	size_t off = 0;
	while (off < reqlen) {
		ssize_t w = send(fd, req + off, reqlen - off, MSG_NOSIGNAL);
		if (w > 0) {
			off += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			int r = wait_fd(fd, POLLOUT, deadline);
			if (r == 1)
				continue;
			out->status = r == 0 ? AGENT_TIMEOUT : AGENT_IO;
			out->err = errno;
			close(fd);
			return;
		}
		out->status = AGENT_IO;
		out->err = errno;
		close(fd);
		return;
	}
	shutdown(fd, SHUT_WR);

	char *buf = malloc(WEIR_MAX_REPLY);
	if (!buf) {
		out->status = AGENT_IO;
		out->err = ENOMEM;
		close(fd);
		return;
	}
	size_t n = 0;
	for (;;) {
		if (n >= WEIR_MAX_REPLY) {
			out->status = AGENT_BAD_REPLY;
			out->what = "the agent's reply exceeds 1 MiB";
			goto done;
		}
		ssize_t r = recv(fd, buf + n, WEIR_MAX_REPLY - n, 0);
		if (r > 0) {
			n += (size_t)r;
			continue;
		}
		if (r == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			int wr = wait_fd(fd, POLLIN, deadline);
			if (wr == 1)
				continue;
			out->status = wr == 0 ? AGENT_TIMEOUT : AGENT_IO;
			out->err = errno;
			goto done;
		}
		out->status = AGENT_IO;
		out->err = errno;
		goto done;
	}
	parse_reply(buf, n, out);
done:
	free(buf);
	close(fd);
}
