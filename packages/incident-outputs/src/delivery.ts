import type { IncidentEventV1, IncidentV1 } from "@vigil/schema";

/** One incident change to hand to an output. Delivered at least once; receivers dedupe by `key`. */
export interface Delivery {
  /** Idempotency key: the same change always carries the same key, across retries and restarts. */
  key: string;
  incident: IncidentV1;
  /** The change this delivery announces (the `vigil.incident-events` record). */
  event: IncidentEventV1;
}

/** Something that delivers incidents to SOC tooling. `deliver` resolves when the receiver has the delivery. */
export interface IncidentOutput {
  readonly name: string;
  deliver(delivery: Delivery): Promise<void>;
  /** Releases connections and handles; called once by the dispatcher's `close()`. */
  close?(): Promise<void>;
}

/**
 * A delivery failure that says whether trying again can help. Errors that are not a
 * `DeliveryError` are treated as retryable (a bug or an outage both deserve another attempt
 * before the dead letter).
 */
export class DeliveryError extends Error {
  readonly retryable: boolean;
  /** HTTP status or SMTP response code, when the receiver answered. */
  readonly status: number | undefined;

  constructor(message: string, options: { retryable: boolean; status?: number; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "DeliveryError";
    this.retryable = options.retryable;
    this.status = options.status;
  }
}

export function isRetryable(error: unknown): boolean {
  return error instanceof DeliveryError ? error.retryable : true;
}
