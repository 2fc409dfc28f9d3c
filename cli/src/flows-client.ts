import type { FlowRecord } from '../../agent/src/flows/format.js';

/** Reads an agent's `/v1/flows` stream (one JSON FlowRecord per line) until it ends or `signal` aborts. */
export async function streamFlows(url: string, onRecord: (record: FlowRecord) => void, signal?: AbortSignal): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url, { signal });
  } catch (error) {
    if (signal?.aborted) return;
    throw new Error(`cannot reach the agent at ${url}: ${error instanceof Error ? error.message : String(error)}; is it running?`);
  }
  if (!response.ok || !response.body) throw new Error(`the agent at ${url} answered HTTP ${response.status}`);
  const decoder = new TextDecoder();
  let buffered = '';
  try {
    for await (const chunk of response.body) {
      buffered += decoder.decode(chunk, { stream: true });
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (line.trim() === '') continue;
        const value: unknown = JSON.parse(line);
        if (typeof value === 'object' && value !== null && 'source' in value && 'destination' in value && 'verdict' in value) onRecord(value as FlowRecord);
      }
    }
  } catch (error) {
    if (!signal?.aborted) throw error;
  }
}
