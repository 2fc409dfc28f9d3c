import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';

function capture(): { stream: Writable; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const stream = new Writable({ write(chunk: Buffer, _enc, done) { chunks.push(chunk.toString()); done(); } });
  return { stream, lines: () => chunks.join('').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('one log shape for the agent and the webhook', () => {
  it('writes ISO time, the level as a word, the component, and the same field names', () => {
    const a = capture();
    const w = capture();
    createLogger('agent', 'info', { node: 'node-1' }, a.stream).warn({ err: 'boom' }, 'reconcile failed');
    createLogger('webhook', 'info', {}, w.stream).info({ uid: 'u1' }, 'denied');
    const [agent] = a.lines();
    const [webhook] = w.lines();
    expect(agent).toMatchObject({ level: 'warn', component: 'weir-agent', node: 'node-1', msg: 'reconcile failed', err: 'boom' });
    expect(webhook).toMatchObject({ level: 'info', component: 'weir-webhook', msg: 'denied', uid: 'u1' });
    for (const line of [agent, webhook]) {
      expect(String(line?.time)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      // No pino defaults that differ per process or leak host details.
      expect(line).not.toHaveProperty('pid');
      expect(line).not.toHaveProperty('hostname');
    }
    expect(Object.keys(agent ?? {}).slice(0, 3)).toEqual(Object.keys(webhook ?? {}).slice(0, 3));
  });
  it('honours the level', () => {
    const a = capture();
    const log = createLogger('agent', 'warn', { node: 'n' }, a.stream);
    log.info({}, 'hidden');
    log.error({}, 'shown');
    expect(a.lines().map((l) => l.msg)).toEqual(['shown']);
  });
});
