/**
 * The one catalogue of error codes the weir CNI plugin and the agent's CNI socket put in a CNI
 * error object. Below 100: the CNI spec's well-known codes; 100 and above: Weir's own, stable.
 * native/cni/weir.h carries the same names and values; codes.test.ts keeps them in sync.
 */
export const CNI_ERROR_CODES = {
  /** The config's cniVersion is not supported, or the command is not defined for it. */
  CNI_ERR_INCOMPATIBLE_VERSION: 1,
  /** A required CNI_* environment variable is missing or unknown. */
  CNI_ERR_INVALID_ENV: 4,
  /** Reading stdin or allocating failed. */
  CNI_ERR_IO: 5,
  /** stdin is not a JSON object or exceeds 1 MiB. */
  CNI_ERR_DECODE: 6,
  /** The config is wrong: no prevResult (weir not chained), bad "timeoutSeconds", or a "socket" outside the agent's run directory. */
  CNI_ERR_INVALID_CONFIG: 7,
  /** The agent is busy or not yet synced; the runtime should retry. */
  CNI_ERR_TRY_AGAIN_LATER: 11,
  /** STATUS: the agent is not reachable or not ready; no pod can be wired on this node. */
  CNI_ERR_NOT_READY: 50,
  /** STATUS: the agent runs but a part of it is degraded. */
  CNI_ERR_LIMITED_CONNECTIVITY: 51,
  /** The agent's socket refused or does not exist: the weir-agent DaemonSet is not running here. */
  WEIR_ERR_AGENT_UNREACHABLE: 100,
  /** The agent did not accept or answer within timeoutSeconds (or its handler ran out of time). */
  WEIR_ERR_AGENT_TIMEOUT: 101,
  /** The exchange with the agent broke or the reply was malformed. */
  WEIR_ERR_AGENT_PROTOCOL: 102,
  /** The agent could not parse the plugin's request (version skew between plugin and agent?). */
  WEIR_ERR_BAD_REQUEST: 103,
  /** The agent's handler failed unexpectedly; the message says how. */
  WEIR_ERR_AGENT_INTERNAL: 104,
  /** The process serving the agent socket is not root (SO_PEERCRED), so it is not the weir agent. */
  WEIR_ERR_AGENT_UNTRUSTED: 105,
} as const;

export type CniErrorName = keyof typeof CNI_ERROR_CODES;
