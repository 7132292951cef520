import { type Logger, type LoggerOptions, pino } from "pino";

export type { Logger };

/** Paths never written to logs, wherever they appear in a log object. */
export const redactedPaths = [
  "password",
  "*.password",
  "sasl.password",
  "*.sasl.password",
  "secret",
  "*.secret",
  "token",
  "*.token",
  "authorization",
  "*.authorization",
  "headers.authorization",
  "*.headers.authorization",
  "apiKey",
  "*.apiKey",
];

export interface LoggerFactoryOptions {
  level?: string;
  /** Where JSON lines go; default stderr so stdout stays free for data (`--dry-run`, `--json`). */
  destination?: NodeJS.WritableStream | { write(line: string): void };
  base?: Record<string, unknown>;
}

/** One structured JSON logger per service, secrets redacted, writing to stderr by default. */
export function createLogger(service: string, options: LoggerFactoryOptions = {}): Logger {
  const config: LoggerOptions = {
    name: service,
    level: options.level ?? process.env.LOG_LEVEL ?? "info",
    redact: { paths: redactedPaths, censor: "[redacted]" },
    base: { service, pid: process.pid, ...options.base },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  const destination = options.destination ?? pino.destination({ fd: 2, sync: true });
  return pino(config, destination as pino.DestinationStream);
}

/** A logger that drops everything: for unit tests and embedded runs that want quiet. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
