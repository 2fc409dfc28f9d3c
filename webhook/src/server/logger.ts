import type { Logger } from 'pino';
import { createLogger as createWeirLogger } from '../../../common/src/logger.js';
import type { LogLevel } from './config.js';

/** JSON logs on stdout in Weir's one shape (common/src/logger.ts); every review's lines carry its uid (child logger in app.ts). */
export function createLogger(level: LogLevel): Logger {
  return createWeirLogger('webhook', level);
}
