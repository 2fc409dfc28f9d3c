/*
 * The weir CNI plugin: constants and the error-code catalogue. Codes below 100 are the CNI spec's
 * well-known codes; 100 and above are Weir's own. agent/src/cni/codes.ts mirrors this list and
 * a test keeps the two in sync.
 */
#ifndef WEIR_CNI_H
#define WEIR_CNI_H

/* The agent's run directory (env WEIR_RUN_DIR): a NetworkAttachmentDefinition's "socket" must lie
 * under it, and the default socket is <run dir>/cni.sock. */
#define WEIR_DEFAULT_RUN_DIR "/run/weir"
/* Only a root process may answer for the agent (SO_PEERCRED of the socket's server). */
#define WEIR_AGENT_UID 0
#define WEIR_DEFAULT_TIMEOUT_SECONDS 10.0
#define WEIR_MAX_TIMEOUT_SECONDS 300.0
/* stdin config and agent reply are bounded: a runaway producer must not exhaust memory. */
#define WEIR_MAX_INPUT (1024 * 1024)
#define WEIR_MAX_REPLY (1024 * 1024)
#define WEIR_PROTOCOL_VERSION 1

/* CNI spec well-known codes used by the plugin. */
#define CNI_ERR_INCOMPATIBLE_VERSION 1
#define CNI_ERR_INVALID_ENV 4
#define CNI_ERR_IO 5
#define CNI_ERR_DECODE 6
#define CNI_ERR_INVALID_CONFIG 7
#define CNI_ERR_TRY_AGAIN_LATER 11
#define CNI_ERR_NOT_READY 50
#define CNI_ERR_LIMITED_CONNECTIVITY 51

/* Weir's own codes (stable; documented in agent/src/cni/codes.ts). */
#define WEIR_ERR_AGENT_UNREACHABLE 100
#define WEIR_ERR_AGENT_TIMEOUT 101
#define WEIR_ERR_AGENT_PROTOCOL 102
/* Answered by the agent's socket server, never produced by the plugin itself. */
#define WEIR_ERR_BAD_REQUEST 103
#define WEIR_ERR_AGENT_INTERNAL 104
/* The process serving the socket is not root: whoever it is, it is not the weir agent. */
#define WEIR_ERR_AGENT_UNTRUSTED 105

#endif
