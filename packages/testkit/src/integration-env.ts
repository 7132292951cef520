import { SKIP_INTEGRATION_VARIABLE } from "./broker.ts";

/** Set by the global setup, read by the integration reporter (both run in vitest's main process). */
export const BROKER_INFO_VARIABLE = "VIGIL_TEST_BROKER_INFO";

export interface BrokerInfo {
  brokers: string[];
  source: string;
}

export function integrationSkipped(env: Readonly<Record<string, string | undefined>> = process.env): boolean {
  const value = env[SKIP_INTEGRATION_VARIABLE];
  return value !== undefined && value !== "" && value !== "0" && value !== "false";
}

export function readBrokerInfo(
  env: Readonly<Record<string, string | undefined>> = process.env,
): BrokerInfo | undefined {
  const raw = env[BROKER_INFO_VARIABLE];
  if (!raw) return undefined;
  try {
    const parsed: unknown = JSON.parse(raw);
    if (
      typeof parsed === "object" &&
      parsed !== null &&
      "brokers" in parsed &&
      Array.isArray(parsed.brokers) &&
      "source" in parsed &&
      typeof parsed.source === "string"
    ) {
      return { brokers: parsed.brokers.map(String), source: parsed.source };
    }
  } catch {
    // A malformed value is treated as absent.
  }
  return undefined;
}
