// Structured JSON logs (pino) on stdout, one object per line, so container log collectors can parse
// them without configuration. The level comes from LOG_LEVEL (config.ts).
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level: string;
  /** Where lines go; stdout by default (tests pass a stream to capture them). */
  destination?: DestinationStream;
}

export function createLogger({ level, destination }: LoggerOptions): Logger {
  return pino(
    {
      name: 'recommender',
      level,
      base: { service: 'recommender', pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      // "level":"info" reads better in log search than pino's numeric 30.
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ fd: 1, sync: false }),
  );
}
