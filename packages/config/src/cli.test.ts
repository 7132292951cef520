import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ConfigError, defineCli } from "./cli.ts";
import { commonOptions } from "./common-options.ts";

const cli = defineCli({
  name: "vigil-test",
  version: "1.2.3",
  summary: "a test app",
  options: {
    ...commonOptions,
    batch: {
      flag: "batch-size",
      env: "TEST_BATCH_SIZE",
      type: "string",
      description: "Records per batch, a positive integer",
      schema: z.coerce.number().int().positive().default(100),
    },
    dryRun: {
      flag: "dry-run",
      env: "TEST_DRY_RUN",
      type: "boolean",
      description: "Publish nothing",
      schema: z.boolean().default(false),
    },
  },
});

function neverExit(code: number): never {
  throw new Error(`exit ${code}`);
}

describe("defineCli", () => {
  it("takes flags over environment over defaults", () => {
    const { values } = cli.parse(["--batch-size", "7"], { TEST_BATCH_SIZE: "9", KAFKA_BROKERS: "a:1, b:2" });
    expect(values.batch).toBe(7);
    expect(values.brokers).toEqual(["a:1", "b:2"]);
    expect(values.topicPrefix).toBe("");
    expect(values.logLevel).toBe("info");
    expect(values.dryRun).toBe(false);
    expect(cli.parse([], { TEST_BATCH_SIZE: "9" }).values.batch).toBe(9);
  });

  it("reads boolean switches from the environment", () => {
    expect(cli.parse([], { TEST_DRY_RUN: "true" }).values.dryRun).toBe(true);
    expect(cli.parse([], { TEST_DRY_RUN: "0" }).values.dryRun).toBe(false);
  });

  it("names the flag, the variable and the expectation when a value is invalid", () => {
    expect(() => cli.parse([], { KAFKA_BROKERS: "not a broker" })).toThrow(ConfigError);
    try {
      cli.parse(["--batch-size", "many"], { KAFKA_BROKERS: "x" });
      expect.unreachable();
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toContain("--batch-size / TEST_BATCH_SIZE");
      expect(message).toContain("Records per batch");
      expect(message).toContain('"many"');
      expect(message).toContain("--brokers / KAFKA_BROKERS");
      expect(message).toContain("host:port");
    }
  });

  it("rejects unknown flags with a pointer to --help", () => {
    expect(() => cli.parse(["--bogus"], {})).toThrow(/--help/);
  });

  it("tolerates the `--` pnpm forwards", () => {
    expect(cli.parse(["--", "--batch-size", "3"], {}).values.batch).toBe(3);
  });

  it("answers --help with every flag and variable, and --version", () => {
    let printed = "";
    const io = {
      out: (text: string) => {
        printed += text;
      },
      exit: neverExit,
    };
    expect(() => cli.parse(["--help"], {}, io)).toThrow("exit 0");
    for (const text of [
      "--batch-size",
      "TEST_BATCH_SIZE",
      "--brokers",
      "KAFKA_BROKERS",
      "--dry-run",
      "--version",
      "default 100",
    ]) {
      expect(printed).toContain(text);
    }
    printed = "";
    expect(() => cli.parse(["-V"], {}, io)).toThrow("exit 0");
    expect(printed).toBe("vigil-test 1.2.3\n");
  });
});
