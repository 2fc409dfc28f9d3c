/**
 * One log shape for every Weir process: one JSON object per line on stdout with
 *   time       ISO 8601 in UTC ("2026-11-29T09:40:00.000Z")
 *   level      the level as a word ("info", "warn", ...), not pino's number
 *   component  "weir-agent" or "weir-webhook"
 *   node       the node, for the agent
 *   msg        the message
 * and the call's own fields after them, with errors as `err` (a string). A log pipeline can then
 * parse the webhook's and the agent's lines with one rule.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './log-levels.js';

export function createLogger(component: 'agent' | 'webhook', level: LogLevel, fields: { node?: string } = {}, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { component: `weir-${component}`, ...fields },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}
