import { z } from "zod";
import type { OptionSpec } from "./cli.ts";

const hostPort = /^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9A-Fa-f:]+\]:\d{1,5}$/;

/** Kafka bootstrap servers; absent means the app cannot run standalone (the demo passes a transport). */
export const brokersOption = {
  flag: "brokers",
  env: "KAFKA_BROKERS",
  type: "string",
  description: "Kafka bootstrap servers, comma-separated host:port",
  schema: z
    .string()
    .transform((value) =>
      value
        .split(",")
        .map((part) => part.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().regex(hostPort, "each broker as host:port")).min(1, "at least one host:port"))
    .optional(),
} satisfies OptionSpec;

export const topicPrefixOption = {
  flag: "topic-prefix",
  env: "VIGIL_TOPIC_PREFIX",
  type: "string",
  description: "Prefix for every topic name (namespacing a deployment)",
  schema: z
    .string()
    .regex(/^[A-Za-z0-9._-]*$/, "letters, digits, '.', '_' or '-' only")
    .default(""),
} satisfies OptionSpec;

export const commonOptions = {
  brokers: brokersOption,
  topicPrefix: topicPrefixOption,
  clientId: {
    flag: "client-id",
    env: "KAFKA_CLIENT_ID",
    type: "string",
    description: "Kafka client id",
    schema: z.string().min(1).optional(),
  },
  logLevel: {
    flag: "log-level",
    env: "LOG_LEVEL",
    type: "string",
    description: "Log level: fatal, error, warn, info, debug, trace or silent",
    schema: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  },
  healthListen: {
    flag: "health-listen",
    env: "VIGIL_HEALTH_LISTEN",
    type: "string",
    description:
      "Serve /healthz, /readyz and /metrics (Prometheus) on HOST:PORT while the app runs, e.g. 0.0.0.0:9464",
    schema: z
      .string()
      .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, "HOST:PORT, e.g. 0.0.0.0:9464")
      .optional(),
  },
} satisfies Record<string, OptionSpec>;
