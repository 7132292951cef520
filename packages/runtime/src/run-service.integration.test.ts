// runService as a process on the real broker: a SIGTERM that arrives while the service is still
// starting (restoring tables, joining its group) waits for the start and then stops it cleanly,
// exit 0, instead of the default signal death that leaves the group to time out.
import { spawn } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { kafkaBrokers, waitFor } from "@vigil/testkit";
import { describe, expect, it } from "vitest";

const fixture = path.resolve(import.meta.dirname, "test-fixtures/slow-start-service.ts");

describe("runService shutdown", () => {
  it("stops cleanly on a SIGTERM received before the start has finished", async () => {
    const child = spawn(process.execPath, [fixture], {
      env: {
        ...process.env,
        KAFKA_BROKERS: kafkaBrokers().join(","),
        LOG_LEVEL: "info",
        FIXTURE_START_MS: "3000",
      },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
    try {
      await waitFor(async () => (stderr.includes("fixture: starting") ? true : undefined), {
        timeoutMs: 60_000,
        intervalMs: 50,
        message: "the fixture service to begin starting",
      });
      child.kill("SIGTERM");
      const [code, signal] = await exited;
      expect({ code, signal }).toEqual({ code: 0, signal: null });
      // The start ran to its end, then the service was stopped: in that order, each once.
      const lines = stderr.split("\n").filter((line) => line.startsWith("fixture: "));
      expect(lines).toEqual(["fixture: starting", "fixture: started", "fixture: stopped"]);
      expect(stderr).toContain("stopped cleanly");
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
  });
});
