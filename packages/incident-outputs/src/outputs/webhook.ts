import { createHmac, timingSafeEqual } from "node:crypto";
import type { Delivery, IncidentOutput } from "../delivery.ts";
import { post } from "../http.ts";
import { headerSafeKey, webhookBody } from "../payload.ts";

export interface WebhookOutputOptions {
  name?: string;
  url: string;
  /** Shared secret for the signature; never logged. */
  secret: string;
  timeoutMs?: number;
  /** Extra headers (an API gateway's key, say). */
  headers?: Record<string, string>;
  /** Seconds since the epoch; injectable for tests. */
  now?: () => number;
}

export const SIGNATURE_HEADER = "X-Vigil-Signature";
export const TIMESTAMP_HEADER = "X-Vigil-Timestamp";

/**
 * `sha256=<hex>` over `<timestamp>.<raw body>`: the timestamp is inside the signed material, so a
 * captured request cannot be replayed later with a fresh timestamp.
 */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

/**
 * The receiver's check: the signature matches the timestamp and raw body, compared in constant
 * time, and the timestamp is within `toleranceSeconds` (default 300) of the receiver's clock.
 */
export function verifyWebhookSignature(
  secret: string,
  request: { timestamp: string | undefined; body: string; signature: string | undefined },
  options: { toleranceSeconds?: number; now?: number } = {},
): boolean {
  const { timestamp, body, signature } = request;
  if (timestamp === undefined || signature === undefined || !/^\d{1,12}$/.test(timestamp)) return false;
  const now = options.now ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - Number(timestamp)) > (options.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(signWebhook(secret, timestamp, body));
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** POSTs the delivery as JSON, signed, with its idempotency key. */
export function webhookOutput(options: WebhookOutputOptions): IncidentOutput {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  return {
    name: options.name ?? "webhook",
    async deliver(delivery: Delivery): Promise<void> {
      const body = JSON.stringify(webhookBody(delivery));
      // A fresh timestamp per attempt: a retry hours later still passes the receiver's freshness check.
      const timestamp = String(now());
      await post(
        options.url,
        body,
        {
          ...options.headers,
          "Content-Type": "application/json",
          "Idempotency-Key": headerSafeKey(delivery.key),
          [TIMESTAMP_HEADER]: timestamp,
          [SIGNATURE_HEADER]: signWebhook(options.secret, timestamp, body),
          "User-Agent": "vigil-incident-outputs",
        },
        timeoutMs,
      );
    },
  };
}
