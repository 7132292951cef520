import { describe, expect, it } from "vitest";
import { type AcquiredBroker, acquireBroker, type BrokerEnvironment, parseBrokerList } from "./broker.ts";
import { integrationSkipped } from "./integration-env.ts";

function broker(source: AcquiredBroker["source"], port: number): AcquiredBroker {
  return { brokers: [`127.0.0.1:${port}`], source, stop: async () => {} };
}

/** Nothing available: every detector says no, and any start would be a bug in the decision. */
function nothingAvailable(calls: string[]): BrokerEnvironment {
  return {
    env: {},
    verifyBrokers: async () => {
      calls.push("verify");
      throw new Error("unexpected verify");
    },
    dockerAvailable: async () => {
      calls.push("docker?");
      return false;
    },
    startContainer: async () => {
      calls.push("container");
      throw new Error("unexpected container start");
    },
    localJvmMissing: () => {
      calls.push("jvm?");
      return "no `java` on PATH (Java 17 or newer is needed)";
    },
    startLocalJvm: async () => {
      calls.push("jvm");
      throw new Error("unexpected local JVM start");
    },
    log: () => {},
  };
}

describe("acquireBroker", () => {
  it("uses KAFKA_BROKERS when it answers, and starts nothing", async () => {
    const calls: string[] = [];
    const verified: string[][] = [];
    const acquired = await acquireBroker({
      ...nothingAvailable(calls),
      env: { KAFKA_BROKERS: " 10.0.0.1:9092, 10.0.0.2:9092 " },
      verifyBrokers: async (brokers) => {
        verified.push([...brokers]);
      },
    });
    expect(acquired.source).toBe("external");
    expect(acquired.brokers).toEqual(["10.0.0.1:9092", "10.0.0.2:9092"]);
    expect(verified).toEqual([["10.0.0.1:9092", "10.0.0.2:9092"]]);
    expect(calls).toEqual([]);
  });

  it("fails with what to do when KAFKA_BROKERS is set but does not answer, instead of starting another", async () => {
    const calls: string[] = [];
    const attempt = acquireBroker({
      ...nothingAvailable(calls),
      env: { KAFKA_BROKERS: "127.0.0.1:1" },
      verifyBrokers: async () => {
        throw new Error("Connection error: connect ECONNREFUSED 127.0.0.1:1");
      },
    });
    await expect(attempt).rejects.toThrow(
      /KAFKA_BROKERS=127\.0\.0\.1:1 is set, but no broker there answered/,
    );
    await expect(attempt).rejects.toThrow(/ECONNREFUSED/);
    await expect(attempt).rejects.toThrow(/unset KAFKA_BROKERS/);
    expect(calls).toEqual([]);
  });

  it("prefers a container when Docker answers", async () => {
    const calls: string[] = [];
    const acquired = await acquireBroker({
      ...nothingAvailable(calls),
      dockerAvailable: async () => true,
      startContainer: async () => broker("testcontainers", 32_000),
    });
    expect(acquired.source).toBe("testcontainers");
    expect(calls).toEqual([]);
  });

  it("falls back to the local JVM broker when there is no Docker", async () => {
    const calls: string[] = [];
    const acquired = await acquireBroker({
      ...nothingAvailable(calls),
      localJvmMissing: () => undefined,
      startLocalJvm: async () => broker("local-jvm", 40_000),
    });
    expect(acquired).toMatchObject({ source: "local-jvm", brokers: ["127.0.0.1:40000"] });
    expect(calls).toEqual(["docker?"]);
  });

  it("falls back to the local JVM broker when the container does not start", async () => {
    const calls: string[] = [];
    const logged: string[] = [];
    const acquired = await acquireBroker({
      ...nothingAvailable(calls),
      dockerAvailable: async () => true,
      startContainer: async () => {
        throw new Error("pull access denied for apache/kafka");
      },
      localJvmMissing: () => undefined,
      startLocalJvm: async () => broker("local-jvm", 40_001),
      log: (line) => logged.push(line),
    });
    expect(acquired.source).toBe("local-jvm");
    expect(logged.join("\n")).toContain("pull access denied");
  });

  it("says exactly how to get a broker when none can be had, and names the opt-out", async () => {
    const calls: string[] = [];
    const error = await acquireBroker(nothingAvailable(calls)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message).toContain("KAFKA_BROKERS: not set");
    expect(message).toContain("Docker: no container engine answered");
    expect(message).toContain("no `java` on PATH");
    expect(message).toContain("KAFKA_BROKERS=host:port");
    expect(message).toMatch(/install Java 17\+ and Maven/);
    expect(message).toContain("start Docker");
    expect(message).toContain("VIGIL_SKIP_INTEGRATION=1");
    expect(calls).toEqual(["docker?", "jvm?"]);
  });

  it("reports why the local JVM broker failed to start", async () => {
    const calls: string[] = [];
    const attempt = acquireBroker({
      ...nothingAvailable(calls),
      localJvmMissing: () => undefined,
      startLocalJvm: async () => {
        throw new Error("kafka.sh up exited with 1:\nkafka: timed out waiting for metadata");
      },
    });
    await expect(attempt).rejects.toThrow(
      /local JVM broker \(infra\/kafka\/kafka\.sh\): kafka\.sh up exited with 1/,
    );
  });
});

describe("parseBrokerList", () => {
  it("splits, trims and drops empty entries", () => {
    expect(parseBrokerList("a:1, b:2,,")).toEqual(["a:1", "b:2"]);
    expect(parseBrokerList("")).toEqual([]);
  });
});

describe("integrationSkipped", () => {
  it("is on for 1/true-ish values only", () => {
    expect(integrationSkipped({ VIGIL_SKIP_INTEGRATION: "1" })).toBe(true);
    expect(integrationSkipped({ VIGIL_SKIP_INTEGRATION: "true" })).toBe(true);
    expect(integrationSkipped({ VIGIL_SKIP_INTEGRATION: "0" })).toBe(false);
    expect(integrationSkipped({ VIGIL_SKIP_INTEGRATION: "" })).toBe(false);
    expect(integrationSkipped({})).toBe(false);
  });
});
