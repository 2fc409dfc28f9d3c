import { ApiException } from '@kubernetes/client-node';

/** HTTP status of a client-node API error, or undefined for any other error. */
export function apiStatus(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

/**
 * The `message` of the Status an API error carries (what kubectl prints), or undefined. client-node
 * 1.x keeps the raw response body, a JSON string, on ApiException.body.
 */
export function apiMessage(err: unknown): string | undefined {
  if (!(err instanceof ApiException)) return undefined;
  const body: unknown = err.body;
  let status: unknown = body;
  if (typeof body === 'string') {
    try {
      status = JSON.parse(body);
    } catch {
      return body;
    }
  }
  if (typeof status === 'object' && status !== null && 'message' in status && typeof status.message === 'string') {
    return status.message;
  }
  return undefined;
}
