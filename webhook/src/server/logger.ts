import { pino, type Logger } from 'pino';
import type { LogLevel } from './config.js';

/** JSON logs on stdout; every review's lines carry its uid (child logger in app.ts). */
export function createLogger(level: LogLevel): Logger {
  return pino({ level, base: { component: 'weir-webhook' }, timestamp: pino.stdTimeFunctions.isoTime });
}
