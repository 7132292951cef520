export {
  type ConfigProblem,
  type LoadedOutputs,
  type LoadOptions,
  loadOutputsConfig,
  OutputConfig,
  OutputsConfig,
  OutputsConfigError,
  onlyEvents,
  parseOutputsConfig,
} from "./config.ts";
export {
  type Delivery,
  DeliveryError,
  type IncidentOutput,
  isRetryable,
} from "./delivery.ts";
export {
  createDispatcher,
  DEFAULT_QUEUE_CAPACITY,
  DeadLetterError,
  type DeadLetterReason,
  type Dispatcher,
  type DispatcherOptions,
  type DispatchReceipt,
  type OutputCounters,
  type OutputOutcome,
} from "./dispatcher.ts";
export { type EmailOutputOptions, emailOutput } from "./outputs/email.ts";
export { type JsonLinesOutputOptions, jsonLinesOutput } from "./outputs/jsonl-file.ts";
export { type SlackOutputOptions, slackOutput } from "./outputs/slack.ts";
export { type TheHiveOutputOptions, theHiveOutput } from "./outputs/thehive.ts";
export {
  SIGNATURE_HEADER,
  signWebhook,
  TIMESTAMP_HEADER,
  verifyWebhookSignature,
  type WebhookOutputOptions,
  webhookOutput,
} from "./outputs/webhook.ts";
export { type IncidentView, incidentView } from "./payload.ts";
