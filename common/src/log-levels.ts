/**
 * The log levels both processes accept in WEIR_LOG_LEVEL: pino's, which both use. The chart's
 * values.schema.json offers exactly this list for `logLevel` (test/chart/render.test.ts keeps the
 * two equal), so a value the chart accepts never makes a process exit at start-up.
 */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function parseLogLevel(value: string): LogLevel | undefined {
  return LOG_LEVELS.find((l) => l === value);
}
