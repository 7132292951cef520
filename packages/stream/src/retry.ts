import { setTimeout as sleep } from "node:timers/promises";

export interface RetryPolicy {
  /** Attempts in all, the first included. `Infinity` retries until aborted. */
  attempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
  /** Multiplier per attempt. */
  factor: number;
}

export const defaultRetryPolicy: RetryPolicy = {
  attempts: 8,
  initialDelayMs: 100,
  maxDelayMs: 10_000,
  factor: 2,
};

/** Delay before attempt `attempt` (1 = first retry): exponential with "equal jitter" (half fixed, half random), capped. */
export function backoffDelay(
  policy: RetryPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.factor ** (attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * Runs `operation` until it succeeds, the policy's attempts are spent (the last error is thrown),
 * `isRetriable` says an error is permanent, or `signal` aborts.
 */
export async function withRetry<T>(
  operation: (attempt: number) => Promise<T>,
  options: {
    policy?: RetryPolicy;
    isRetriable?: (error: unknown) => boolean;
    onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
    signal?: AbortSignal;
  } = {},
): Promise<T> {
  const policy = options.policy ?? defaultRetryPolicy;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      const retriable = options.isRetriable?.(error) ?? true;
      if (!retriable || attempt >= policy.attempts || options.signal?.aborted) throw error;
      const delay = backoffDelay(policy, attempt);
      options.onRetry?.(error, attempt, delay);
      await sleep(delay, undefined, options.signal ? { signal: options.signal } : undefined);
    }
  }
}
