import { commonOptions, defineCli } from "@vigil/config";
import { topics } from "@vigil/schema";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ExitError, prepareApp } from "./main.ts";

const cli = defineCli({
  name: "vigil-test-app",
  version: "0.0.0",
  summary: "test",
  options: {
    ...commonOptions,
    dryRun: {
      flag: "dry-run",
      type: "boolean",
      description: "Publish nothing",
      schema: z.boolean().default(false),
    },
    size: {
      flag: "size",
      type: "string",
      description: "A size, a positive integer",
      schema: z.coerce.number().int().positive().default(1),
    },
  },
});

const prepare = (argv: string[], env: NodeJS.ProcessEnv = {}) =>
  prepareApp(cli, {
    stage: "test-app",
    topics: () => [topics.idsAlerts],
    needsKafka: (values) => !values.dryRun,
    io: { argv, env: { LOG_LEVEL: "silent", ...env } },
  });

async function exitOf(promise: Promise<unknown>): Promise<ExitError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ExitError) return error;
    throw error;
  }
  throw new Error("expected an ExitError");
}

describe("prepareApp", () => {
  it("turns a configuration error into exit 2 naming the key", async () => {
    const error = await exitOf(prepare(["--size", "none"]));
    expect(error.code).toBe(2);
    expect(error.message).toContain("--size");
    expect(error.message).toContain("A size, a positive integer");
  });

  it("needs brokers unless the app says it does not", async () => {
    const error = await exitOf(prepare([]));
    expect(error.code).toBe(2);
    expect(error.message).toContain("KAFKA_BROKERS");
    const dry = await prepare(["--dry-run"]);
    expect(dry.transport).toBeUndefined();
    expect(dry.values.dryRun).toBe(true);
  });

  it("fails with exit 1 and the address when Kafka cannot be reached", async () => {
    const error = await exitOf(prepare([], { KAFKA_BROKERS: "127.0.0.1:1" }));
    expect(error.code).toBe(1);
    expect(error.message).toContain("cannot reach Kafka at 127.0.0.1:1");
  }, 60_000);
});
