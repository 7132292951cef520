import type { Delivery, IncidentOutput } from "../delivery.ts";
import { post } from "../http.ts";
import { incidentView, theHiveAlert } from "../payload.ts";

export interface TheHiveOutputOptions {
  name?: string;
  /** `https://thehive.example:9000` (the API path is appended). */
  baseUrl: string;
  apiKey: string;
  /** TheHive organisation to create the alert in (`X-Organisation`), when the key spans several. */
  organisation?: string;
  /** Alert `type`; TheHive's uniqueness is type + source + sourceRef. */
  alertType?: string;
  /** 0 white/clear, 1 green, 2 amber, 3 red (4 amber+strict on TheHive 5.1+). */
  tlp?: number;
  /** 0 white, 1 green, 2 amber, 3 red. */
  pap?: number;
  tags?: string[];
  consoleUrl?: string;
  timeoutMs?: number;
}

/**
 * Creates a TheHive 5 alert per incident: sourceRef is the incident id, so a second delivery for
 * the same incident is refused by TheHive as a duplicate, which counts as delivered.
 */
export function theHiveOutput(options: TheHiveOutputOptions): IncidentOutput {
  const url = `${options.baseUrl.replace(/\/+$/, "")}/api/v1/alert`;
  const timeoutMs = options.timeoutMs ?? 10_000;
  return {
    name: options.name ?? "thehive",
    async deliver(delivery: Delivery): Promise<void> {
      const alert = theHiveAlert(incidentView(delivery), {
        type: options.alertType ?? "vigil-incident",
        tlp: options.tlp ?? 2,
        pap: options.pap ?? 2,
        tags: options.tags ?? ["vigil"],
        consoleUrlTemplate: options.consoleUrl,
      });
      await post(
        url,
        JSON.stringify(alert),
        {
          "Content-Type": "application/json",
          Authorization: `Bearer ${options.apiKey}`,
          ...(options.organisation ? { "X-Organisation": options.organisation } : {}),
        },
        timeoutMs,
        (response) => (response.status >= 200 && response.status < 300) || isDuplicate(response),
      );
    },
  };
}

/** 409, or the 400 "already exists" older TheHive versions answer for a known type+source+sourceRef. */
function isDuplicate(response: { status: number; body: string }): boolean {
  if (response.status === 409) return true;
  return (
    response.status === 400 && /already exists/i.test(response.body) && !/observable/i.test(response.body)
  );
}
