/* One request/response exchange with the weir agent over its unix socket, under a deadline. */
#ifndef WEIR_CNI_AGENT_H
#define WEIR_CNI_AGENT_H

#include <stddef.h>

enum agent_status {
	AGENT_OK,	   /* the agent answered {"ok":true} */
	AGENT_REFUSED,	   /* the agent answered {"ok":false,...}: code/message/details set */
	AGENT_UNREACHABLE, /* connect failed: err holds errno */
	AGENT_TIMEOUT,	   /* the deadline passed; connected says in which phase */
	AGENT_IO,	   /* write/read failed after connecting: err holds errno */
	AGENT_BAD_REPLY,   /* the reply was not a valid response object: what says why */
	AGENT_UNTRUSTED,   /* the peer is not root (peer_uid/peer_pid), or SO_PEERCRED failed (err) */
};

struct agent_result {
	enum agent_status status;
	int err;
	int connected;
	int peer_known;
	unsigned peer_uid;
	int peer_pid;
	const char *what;
	long code;
	char message[4096];
	char details[4096];
};

/*
 * Connects to socket_path, checks that the process serving it runs as root (SO_PEERCRED: anyone
 * who can bind a path may otherwise answer "ok" for the agent), writes req, shuts the write side,
 * reads one reply until EOF.
 */
void agent_call(const char *socket_path, const char *req, size_t reqlen, double timeout_s, struct agent_result *out);

#endif
