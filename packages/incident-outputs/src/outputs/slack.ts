import type { Delivery, IncidentOutput } from "../delivery.ts";
import { post } from "../http.ts";
import { incidentView, slackMessage } from "../payload.ts";

export interface SlackOutputOptions {
  name?: string;
  /** The incoming-webhook URL: it is the credential, so it comes from the environment and is never logged. */
  url: string;
  /** `https://console.example/incidents/{id}`: the incident id is percent-encoded into `{id}`. */
  consoleUrl?: string;
  timeoutMs?: number;
}

/**
 * Posts a Slack incoming-webhook message (`text` + `blocks`); Mattermost and Rocket.Chat accept
 * the same shape. Slack has no idempotency key: a retry after a lost answer can post twice.
 */
export function slackOutput(options: SlackOutputOptions): IncidentOutput {
  const timeoutMs = options.timeoutMs ?? 10_000;
  return {
    name: options.name ?? "slack",
    async deliver(delivery: Delivery): Promise<void> {
      const body = JSON.stringify(slackMessage(incidentView(delivery), options.consoleUrl));
      await post(options.url, body, { "Content-Type": "application/json; charset=utf-8" }, timeoutMs);
    },
  };
}
