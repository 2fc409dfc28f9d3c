import { parseFlowRecord, type FlowRecord } from '../../agent/src/api.js';
import { errorMessage } from '../../common/src/errors.js';
import { CommandError } from './errors.js';

/**
 * Reads an agent's `/v1/flows` stream (one JSON FlowRecord per line) until it ends or `signal`
 * aborts. The URL is an agent API: a local port-forward to it, or a lab agent on loopback.
 */
export async function streamFlows(url: string, onRecord: (record: FlowRecord) => void, signal?: AbortSignal, onConnected?: () => void): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url, { signal });
  } catch (error) {
    if (signal?.aborted) return;
    throw new CommandError(`cannot reach the agent at ${url}: ${errorMessage(error)}; is it running?`);
  }
  if (!response.ok || !response.body) throw new CommandError(`the agent at ${url} answered HTTP ${response.status}: ${(await response.text().catch(() => '')).trim()}`);
  onConnected?.();
  let buffered = '';
  try {
    // The decoder stream keeps a character split across two chunks whole.
    for await (const text of response.body.pipeThrough(new TextDecoderStream())) {
      buffered += text;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (line.trim() === '') continue;
        const parsed = parseFlowRecord(JSON.parse(line));
        if (!parsed.ok) throw new CommandError(`the agent at ${url} sent a flow this CLI cannot read (${parsed.error}); are the CLI and agent the same version?`);
        onRecord(parsed.record);
      }
    }
  } catch (error) {
    if (!signal?.aborted) throw error;
  }
}
