export * from "./common.ts";
export * from "./envelope.ts";
export * from "./finding.ts";
export * from "./ids-alert.ts";
export * from "./incident.ts";
export * from "./topics.ts";
