/*
 * weir: a chained CNI plugin that hands every attachment to the node's weir agent.
 *
 * All decisions live in the agent. The plugin validates its input, forwards the request over the
 * agent's unix socket (protocol: agent/src/cni/protocol.ts) and maps the outcome onto CNI results:
 * ADD/CHECK fail closed, DEL always succeeds, STATUS reports the agent's readiness (code 50),
 * VERSION answers locally.
 *
 * Socket: env WEIR_CNI_SOCKET, else the plugin config's "socket", else <run dir>/cni.sock. The
 * environment wins because it is per node (the lab runs several agents on one machine), while the
 * NetworkAttachmentDefinition is cluster-wide. Timeout: config "timeoutSeconds" (default 10),
 * covering connect, send and the agent's answer.
 *
 * Trust: the environment is the node's (the runtime's), the config is whoever wrote the NAD. So a
 * config "socket" must lie under the agent's run directory (env WEIR_RUN_DIR, default /run/weir,
 * root-only), and whatever socket is used, the process serving it must run as root (agent.c): a NAD
 * author cannot point the plugin at a fake agent that answers "ok".
 */
#include "agent.h"
#include "json.h"
#include "weir.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum command { CMD_ADD, CMD_DEL, CMD_CHECK, CMD_STATUS, CMD_GC, CMD_VERSION, CMD_UNKNOWN };

static const char *const command_names[] = { "ADD", "DEL", "CHECK", "STATUS", "GC", "VERSION" };
static const char *const supported_versions[] = { "0.3.1", "0.4.0", "1.0.0", "1.1.0" };
#define NSUPPORTED (sizeof(supported_versions) / sizeof(supported_versions[0]))
#define LATEST_VERSION "1.1.0"

/* The version used in our own output: the config's when we could read a supported one. */
static const char *out_version = LATEST_VERSION;

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* nowhere left to report it */
		p += w;
		n -= (size_t)w;
	}
}

static void write_quoted(int fd, const char *s)
{
	size_t n = strlen(s);
	size_t cap = n * 6 + 3;
	char *q = malloc(cap);
	if (!q)
		return;
	long len = json_quote(s, n, q, cap);
	if (len > 0)
		write_all(fd, q, (size_t)len);
	free(q);
}

/* Prints a CNI error object on stdout and returns the exit status for it. */
static int cni_error(int code, const char *details, const char *fmt, ...)
{
	char msg[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	char head[96];
	int hl = snprintf(head, sizeof(head), "{\"cniVersion\":\"%s\",\"code\":%d,\"msg\":", out_version, code);
	write_all(1, head, (size_t)hl);
	write_quoted(1, msg);
	if (details && details[0]) {
		write_all(1, ",\"details\":", 11);
		write_quoted(1, details);
	}
	write_all(1, "}\n", 2);
	return 1;
}

/* DEL never fails: it reports on stderr (the runtime logs it) and exits 0. */
static int del_warning(const char *fmt, ...)
{
	char msg[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	dprintf(2, "weir: DEL: %s (ignored: DEL always succeeds)\n", msg);
	return 0;
}

static enum command parse_command(const char *s)
{
	for (int c = CMD_ADD; c <= CMD_VERSION; c++)
		if (strcmp(s, command_names[c]) == 0)
			return (enum command)c;
	return CMD_UNKNOWN;
}

static int version_index(const char *v)
{
	for (size_t k = 0; k < NSUPPORTED; k++)
		if (strcmp(v, supported_versions[k]) == 0)
			return (int)k;
	return -1;
}

static int print_version(void)
{
	char buf[256];
	size_t o = (size_t)snprintf(buf, sizeof(buf), "{\"cniVersion\":\"%s\",\"supportedVersions\":[", LATEST_VERSION);
	for (size_t k = 0; k < NSUPPORTED; k++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s\"%s\"", k ? "," : "", supported_versions[k]);
	o += (size_t)snprintf(buf + o, sizeof(buf) - o, "]}\n");
	write_all(1, buf, o);
	return 0;
}

/* Reads all of stdin up to WEIR_MAX_INPUT; returns the length, or -1 (too large) / -2 (I/O). */
static long read_stdin(char *buf)
{
	size_t n = 0;
	for (;;) {
		if (n > WEIR_MAX_INPUT)
			return -1;
		ssize_t r = read(0, buf + n, WEIR_MAX_INPUT + 1 - n);
		if (r == 0)
			return (long)n;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -2;
		}
		n += (size_t)r;
	}
}

static const char *env_or_empty(const char *name)
{
	const char *v = getenv(name);
	return v ? v : "";
}

/* strerror with a lower-case first letter, to read well inside a sentence. */
static const char *reason(int err, char *buf, size_t bufsz)
{
	snprintf(buf, bufsz, "%s", strerror(err));
	if (buf[0])
		buf[0] = (char)tolower((unsigned char)buf[0]);
	return buf;
}

/* Appends a JSON string member "key":"value", to b. */
static size_t put_member(char *b, size_t o, size_t cap, const char *key, const char *val)
{
	o += (size_t)snprintf(b + o, cap - o, "\"%s\":", key);
	long q = json_quote(val, strlen(val), b + o, cap - o);
	return q < 0 ? cap : o + (size_t)q;
}

static char *build_request(enum command cmd, const char *config, size_t config_len, size_t *out_len)
{
	const char *fields[][2] = {
		{ "containerId", env_or_empty("CNI_CONTAINERID") },
		{ "netns", env_or_empty("CNI_NETNS") },
		{ "ifName", env_or_empty("CNI_IFNAME") },
		{ "args", env_or_empty("CNI_ARGS") },
		{ "path", env_or_empty("CNI_PATH") },
	};
	size_t cap = config_len + 256;
	for (size_t k = 0; k < 5; k++)
		cap += strlen(fields[k][1]) * 6 + 32;
	char *b = malloc(cap);
	if (!b)
		return NULL;
	size_t o = (size_t)snprintf(b, cap, "{\"version\":%d,\"command\":\"%s\"", WEIR_PROTOCOL_VERSION,
				    command_names[cmd]);
	for (size_t k = 0; k < 5; k++) {
		b[o++] = ',';
		o = put_member(b, o, cap, fields[k][0], fields[k][1]);
		if (o >= cap) {
			free(b);
			return NULL;
		}
	}
	o += (size_t)snprintf(b + o, cap - o, ",\"config\":");
	memcpy(b + o, config, config_len);
	o += config_len;
	b[o++] = '}';
	*out_len = o;
	return b;
}

/*
 * Echoes the prevResult as this plugin's result, byte for byte except for "cniVersion", which must
 * be the config's: kept if equal, replaced if different, inserted if absent.
 */
static int echo_prev_result(struct json_span prev, const char *version)
{
	static const char *const keys[] = { "cniVersion" };
	struct json_span v[1];
	const char *err = NULL;
	size_t pos = 0;
	char have[64];
	char quoted[64];
	long ql = json_quote(version, strlen(version), quoted, sizeof(quoted));
	if (ql < 0 || json_object_members(prev.p, prev.n, keys, 1, v, &err, &pos))
		return cni_error(CNI_ERR_INVALID_CONFIG, NULL, "prevResult is not a valid JSON object");
	if (v[0].p && json_string_value(v[0], have, sizeof(have)) >= 0 && strcmp(have, version) == 0) {
		write_all(1, prev.p, prev.n);
	} else if (v[0].p) {
		write_all(1, prev.p, (size_t)(v[0].p - prev.p));
		write_all(1, quoted, (size_t)ql);
		const char *after = v[0].p + v[0].n;
		write_all(1, after, (size_t)(prev.p + prev.n - after));
	} else {
		/* prev.p[0] == '{' (checked by json_is_object); is the object empty? */
		size_t k = 1;
		while (k < prev.n && strchr(" \t\r\n", prev.p[k]))
			k++;
		int empty = k < prev.n && prev.p[k] == '}';
		write_all(1, "{\"cniVersion\":", 14);
		write_all(1, quoted, (size_t)ql);
		if (!empty)
			write_all(1, ",", 1);
		write_all(1, prev.p + 1, prev.n - 1);
	}
	write_all(1, "\n", 1);
	return 0;
}

/* Is path a clean absolute path strictly below dir: no "", "." or ".." components? */
static int path_under(const char *path, const char *dir)
{
	size_t dl = strlen(dir);
	while (dl > 0 && dir[dl - 1] == '/')
		dl--;
	if (path[0] != '/' || strncmp(path, dir, dl) != 0 || path[dl] != '/' || path[dl + 1] == '\0')
		return 0;
	for (const char *p = path + 1; *p;) {
		size_t n = strcspn(p, "/");
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		p += n;
		if (*p == '/' && *++p == '\0')
			return 0; /* trailing slash */
	}
	return 1;
}

/* Turns a failed exchange into a message; returns the CNI code to report it with. */
static int describe_failure(const struct agent_result *r, const char *sock, double timeout, char *msg, size_t msgsz)
{
	char rb[128];
	switch (r->status) {
	case AGENT_UNREACHABLE:
		snprintf(msg, msgsz,
			 "weir agent not reachable at %s: %s; is the weir-agent DaemonSet running on this node?", sock,
			 reason(r->err, rb, sizeof(rb)));
		return WEIR_ERR_AGENT_UNREACHABLE;
	case AGENT_TIMEOUT:
		snprintf(msg, msgsz, "weir agent at %s did not %s within %gs (timeoutSeconds)", sock,
			 r->connected ? "answer" : "accept the connection", timeout);
		return WEIR_ERR_AGENT_TIMEOUT;
	case AGENT_IO:
		snprintf(msg, msgsz, "talking to the weir agent at %s failed: %s", sock,
			 reason(r->err, rb, sizeof(rb)));
		return WEIR_ERR_AGENT_PROTOCOL;
	case AGENT_BAD_REPLY:
		snprintf(msg, msgsz, "weir agent at %s sent a bad reply: %s", sock, r->what ? r->what : "unknown");
		return WEIR_ERR_AGENT_PROTOCOL;
	case AGENT_UNTRUSTED:
		if (!r->peer_known) {
			snprintf(
				msg, msgsz,
				"cannot read the credentials of the process serving %s (SO_PEERCRED): %s; refusing to trust its answer",
				sock, reason(r->err, rb, sizeof(rb)));
		} else {
			snprintf(
				msg, msgsz,
				"the process serving %s (pid %d) runs as uid %u, not root: it is not the weir agent, so its answer is not trusted; "
				"check what listens on %s (the weir-agent DaemonSet runs as root)",
				sock, r->peer_pid, r->peer_uid, sock);
		}
		return WEIR_ERR_AGENT_UNTRUSTED;
	case AGENT_REFUSED: snprintf(msg, msgsz, "%s", r->message); return (int)r->code;
	case AGENT_OK: break;
	}
	msg[0] = '\0';
	return 0;
}

int main(void)
{
	const char *cmd_name = getenv("CNI_COMMAND");
	if (!cmd_name || !cmd_name[0])
		return cni_error(CNI_ERR_INVALID_ENV, NULL,
				 "CNI_COMMAND is not set; weir is a CNI plugin, run by the container runtime");
	enum command cmd = parse_command(cmd_name);
	if (cmd == CMD_UNKNOWN)
		return cni_error(CNI_ERR_INVALID_ENV, NULL,
				 "unknown CNI_COMMAND %.64s (want ADD, DEL, CHECK, STATUS, GC or VERSION)", cmd_name);
	if (cmd == CMD_VERSION)
		return print_version();

	char *input = malloc(WEIR_MAX_INPUT + 1);
	if (!input)
		return cmd == CMD_DEL ? del_warning("out of memory") : cni_error(CNI_ERR_IO, NULL, "out of memory");
	long len = read_stdin(input);
	if (len == -1)
		return cmd == CMD_DEL
			       ? del_warning("network configuration exceeds 1 MiB")
			       : cni_error(CNI_ERR_DECODE, NULL, "the network configuration on stdin exceeds 1 MiB");
	if (len < 0)
		return cmd == CMD_DEL ? del_warning("cannot read stdin")
				      : cni_error(CNI_ERR_IO, NULL, "cannot read the network configuration from stdin");

	static const char *const keys[] = { "cniVersion", "prevResult", "socket", "timeoutSeconds" };
	struct json_span v[4];
	const char *jerr = NULL;
	size_t jpos = 0;
	if (json_object_members(input, (size_t)len, keys, 4, v, &jerr, &jpos))
		return cmd == CMD_DEL ? del_warning("bad network configuration: %s at byte %zu", jerr, jpos)
				      : cni_error(CNI_ERR_DECODE, NULL,
						  "cannot decode the network configuration on stdin: %s at byte %zu",
						  jerr, jpos);

	char version[64];
	if (json_string_value(v[0], version, sizeof(version)) < 0)
		return cmd == CMD_DEL ? del_warning("no cniVersion")
				      : cni_error(CNI_ERR_INVALID_CONFIG, NULL,
						  "the network configuration has no string \"cniVersion\"");
	int vi = version_index(version);
	if (vi < 0)
		return cmd == CMD_DEL
			       ? del_warning("unsupported cniVersion %s", version)
			       : cni_error(
					 CNI_ERR_INCOMPATIBLE_VERSION, NULL,
					 "weir supports CNI versions 0.3.1, 0.4.0, 1.0.0 and 1.1.0; the configuration asks for %s",
					 version);
	out_version = supported_versions[vi];
	if ((cmd == CMD_CHECK && vi < 1) || ((cmd == CMD_STATUS || cmd == CMD_GC) && vi < 3))
		return cni_error(CNI_ERR_INCOMPATIBLE_VERSION, NULL, "CNI %s is not defined for cniVersion %s",
				 command_names[cmd], version);

	if (cmd == CMD_ADD || cmd == CMD_CHECK || cmd == CMD_DEL) {
		const char *required[] = { "CNI_CONTAINERID", "CNI_IFNAME", "CNI_NETNS" };
		size_t nreq = cmd == CMD_DEL ? 2 : 3; /* DEL: the netns may already be gone */
		for (size_t k = 0; k < nreq; k++)
			if (!getenv(required[k]) || !getenv(required[k])[0])
				return cmd == CMD_DEL
					       ? del_warning("%s is not set", required[k])
					       : cni_error(CNI_ERR_INVALID_ENV, NULL, "%s is not set", required[k]);
	}
	if ((cmd == CMD_ADD || cmd == CMD_CHECK) && !json_is_object(v[1]))
		return cni_error(
			CNI_ERR_INVALID_CONFIG, NULL,
			"weir must be chained after the interface plugin (macvlan/ipvlan) in a conflist; it got no prevResult");

	char sock[108]; /* sizeof(sockaddr_un.sun_path): longer paths cannot be connected to */
	const char *env_sock = getenv("WEIR_CNI_SOCKET");
	/* The config's value is checked even when the environment overrides it: a bad NAD is a bug. */
	if (v[2].p && json_string_value(v[2], sock, sizeof(sock)) <= 0)
		return cmd == CMD_DEL
			       ? del_warning("bad \"socket\"")
			       : cni_error(
					 CNI_ERR_INVALID_CONFIG, NULL,
					 "\"socket\" must be a non-empty string (a unix socket path of at most 107 bytes)");
	if (env_sock && env_sock[0] && strlen(env_sock) >= sizeof(sock))
		return cmd == CMD_DEL
			       ? del_warning("WEIR_CNI_SOCKET is too long")
			       : cni_error(CNI_ERR_INVALID_ENV, NULL, "WEIR_CNI_SOCKET is longer than 107 bytes");
	const char *run_dir = getenv("WEIR_RUN_DIR");
	if (!run_dir || !run_dir[0])
		run_dir = WEIR_DEFAULT_RUN_DIR;
	if (run_dir[0] != '/')
		return cmd == CMD_DEL
			       ? del_warning("WEIR_RUN_DIR is not absolute")
			       : cni_error(
					 CNI_ERR_INVALID_ENV, NULL,
					 "WEIR_RUN_DIR must be an absolute path (the weir agent's run directory); it is %.200s",
					 run_dir);
	if (env_sock && env_sock[0]) {
		snprintf(sock, sizeof(sock), "%s", env_sock);
	} else if (!v[2].p) {
		if (snprintf(sock, sizeof(sock), "%s/cni.sock", run_dir) >= (int)sizeof(sock))
			return cmd == CMD_DEL
				       ? del_warning("WEIR_RUN_DIR is too long")
				       : cni_error(
						 CNI_ERR_INVALID_ENV, NULL,
						 "WEIR_RUN_DIR is too long for a unix socket path (at most 98 bytes)");
	} else if (!path_under(sock, run_dir)) {
		return cmd == CMD_DEL
			       ? del_warning("\"socket\" %s is outside %s", sock, run_dir)
			       : cni_error(
					 CNI_ERR_INVALID_CONFIG, NULL,
					 "\"socket\" is %s, which is not a path under the weir agent's run directory %s; "
					 "the plugin talks only to a socket there. Remove \"socket\" from the network configuration "
					 "(NetworkAttachmentDefinition) to use %s/cni.sock, or name a path under %s",
					 sock, run_dir, run_dir, run_dir);
	}
	double timeout = WEIR_DEFAULT_TIMEOUT_SECONDS;
	if (v[3].p && (json_number_value(v[3], &timeout) || !(timeout > 0) || timeout > WEIR_MAX_TIMEOUT_SECONDS))
		return cmd == CMD_DEL ? del_warning("bad \"timeoutSeconds\"")
				      : cni_error(CNI_ERR_INVALID_CONFIG, NULL,
						  "\"timeoutSeconds\" must be a number in (0, 300]");

	size_t req_len = 0;
	char *req = build_request(cmd, input, (size_t)len, &req_len);
	if (!req)
		return cmd == CMD_DEL ? del_warning("out of memory") : cni_error(CNI_ERR_IO, NULL, "out of memory");
	static struct agent_result r; /* large: keep it off the stack */
	agent_call(sock, req, req_len, timeout, &r);
	free(req);

	char msg[8192];
	int code = describe_failure(&r, sock, timeout, msg, sizeof(msg));
	switch (cmd) {
	case CMD_ADD:
		return r.status == AGENT_OK ? echo_prev_result(v[1], version) : cni_error(code, r.details, "%s", msg);
	case CMD_CHECK:
	case CMD_GC: return r.status == AGENT_OK ? 0 : cni_error(code, r.details, "%s", msg);
	case CMD_STATUS:
		if (r.status == AGENT_OK)
			return 0;
		/* Transport failures mean "not ready"; an agent's own answer keeps its code. */
		return cni_error(r.status == AGENT_REFUSED ? code : CNI_ERR_NOT_READY, r.details, "%s", msg);
	case CMD_DEL: return r.status == AGENT_OK ? 0 : del_warning("%s", msg);
	case CMD_VERSION:
	case CMD_UNKNOWN: break;
	}
	return 0;
}
