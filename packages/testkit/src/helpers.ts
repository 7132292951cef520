import { randomBytes } from "node:crypto";
import { inject } from "vitest";
import { parseBrokerList } from "./broker.ts";

// Here rather than in the global setup, so that every package importing the testkit sees the type.
declare module "vitest" {
  export interface ProvidedContext {
    kafkaBrokers: string[];
  }
}

/** The brokers of this test run: provided by the global setup, else `KAFKA_BROKERS`. */
export function kafkaBrokers(): string[] {
  let provided: string[] | undefined;
  try {
    provided = inject("kafkaBrokers");
  } catch {
    // Outside a vitest worker (e.g. a script importing the testkit): fall back to the environment.
  }
  if (provided !== undefined && provided.length > 0) return provided;
  const fromEnv = parseBrokerList(process.env.KAFKA_BROKERS ?? "");
  if (fromEnv.length > 0) return fromEnv;
  throw new Error(
    "No Kafka brokers for this test: run it through the root vitest config (project `integration`), " +
      "or set KAFKA_BROKERS=host:port.",
  );
}

/** A prefix no other test (or concurrent run on a shared broker) uses, e.g. `t-1f3a9c2e.`. */
export function uniqueTopicPrefix(label = "t"): string {
  return `${label}-${randomBytes(4).toString("hex")}.`;
}

export interface WaitForOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Said in the error when the condition never held. */
  message?: string;
}

/** Polls until `condition` returns a truthy value, and returns it; throws after `timeoutMs`. */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  { timeoutMs = 30_000, intervalMs = 100, message = "condition" }: WaitForOptions = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value as NonNullable<T>;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : "";
      throw new Error(`waitFor: ${message} did not hold within ${timeoutMs} ms${cause}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
