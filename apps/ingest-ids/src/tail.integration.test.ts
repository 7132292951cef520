import { type ChildProcess, spawn } from "node:child_process";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { dlqHeader, IdsAlertV1, topicName, topics } from "@vigil/schema";
import { createKafkaTransport, ensureRegistryTopics, type Transport } from "@vigil/stream";
import { kafkaBrokers, uniqueTopicPrefix, waitFor } from "@vigil/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alertLine } from "./testing.ts";

const main = fileURLToPath(new URL("./main.ts", import.meta.url));
const workDir = mkdtempSync(join(tmpdir(), "ingest-ids-tail-it-"));
const LINES = 20_000;
/** Every this many lines, a line that is not JSON: dead letters must be exactly once too. */
const BAD_EVERY = 1_000;

let transport: Transport;
beforeAll(() => {
  transport = createKafkaTransport({ brokers: kafkaBrokers(), clientId: "ingest-ids-tail-test" });
});
afterAll(async () => {
  await transport?.close();
  rmSync(workDir, { recursive: true, force: true });
});

function lineAt(index: number): string {
  return index % BAD_EVERY === 0
    ? `{"broken line ${index}"`
    : alertLine(index, { src_port: 1024 + (index % 60_000) });
}

function writeLines(path: string, from: number, to: number, append = false): void {
  const text = `${Array.from({ length: to - from }, (_, offset) => lineAt(from + offset)).join("\n")}\n`;
  if (append) appendFileSync(path, text);
  else writeFileSync(path, text);
}

function startTail(
  file: string,
  checkpoint: string,
  prefix: string,
): ChildProcess & { stderrText: () => string } {
  const child = spawn(process.execPath, [main, "--file", file, "--follow", "--checkpoint", checkpoint], {
    env: {
      ...process.env,
      KAFKA_BROKERS: kafkaBrokers().join(","),
      VIGIL_TOPIC_PREFIX: prefix,
      LOG_LEVEL: "info",
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  // The last log lines (progress every 5 s, tail events) say where a stuck run stopped.
  return Object.assign(child, { stderrText: () => stderr.slice(-3000) });
}

const exited = (child: ChildProcess) =>
  new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal })),
  );

/** waitFor, with the child's last log lines in the error (a message is built before the wait). */
async function waitWithLogs<T>(
  child: { stderrText: () => string },
  condition: () => T | Promise<T>,
  options: { timeoutMs: number; intervalMs?: number; message: string },
): Promise<void> {
  try {
    await waitFor(condition, options);
  } catch (error) {
    throw new Error(`${(error as Error).message}\n--- child stderr ---\n${child.stderrText()}`);
  }
}

async function count(topic: string): Promise<number> {
  const offsets = await transport.endOffsets(topic);
  return offsets.reduce((sum, { offset }) => sum + Number(offset), 0);
}

/** Flow ids of the published alerts (one per good line) and source lines of the dead letters. */
async function readBack(prefix: string): Promise<{ flows: string[]; ids: string[]; deadLetters: string[] }> {
  const alerts = (await transport.readAll(topicName(topics.idsAlerts, prefix))).map((message) =>
    IdsAlertV1.parse(JSON.parse(String(message.value))),
  );
  const letters = await transport.readAll(topicName(topics.dlq, prefix));
  return {
    flows: alerts.map((alert) => alert.connection_info.uid ?? ""),
    ids: alerts.map((alert) => alert.id),
    deadLetters: letters.map((letter) => letter.headers[dlqHeader.sourceLocation] ?? ""),
  };
}

function duplicates(values: string[]): string[] {
  const seen = new Set<string>();
  return values.filter((value) => (seen.has(value) ? true : (seen.add(value), false)));
}

describe("ingest-ids --follow --checkpoint on a real broker", () => {
  it("killed with SIGKILL mid-file and restarted, publishes every line exactly once; a clean restart repeats nothing", async () => {
    const prefix = uniqueTopicPrefix("ids-tail");
    await ensureRegistryTopics(transport, prefix);
    const file = join(workDir, "eve.json");
    const checkpoint = join(workDir, "state", "eve.ckpt");
    writeLines(file, 1, LINES + 1);
    const alertsTopic = topicName(topics.idsAlerts, prefix);
    const expectedAlerts = LINES - Math.floor(LINES / BAD_EVERY);

    // 1. Killed without warning once a part of the file is published.
    const first = startTail(file, checkpoint, prefix);
    await waitWithLogs(first, async () => (await count(alertsTopic)) >= 4_000, {
      timeoutMs: 60_000,
      intervalMs: 20,
      message: "4000 alerts published before the kill",
    });
    first.kill("SIGKILL");
    expect((await exited(first)).signal).toBe("SIGKILL");
    const atKill = await count(alertsTopic);
    expect(atKill).toBeLessThan(expectedAlerts);
    expect(existsSync(checkpoint)).toBe(true);

    // 2. Restarted: resumes at the checkpoint and follows to the end of the file.
    const second = startTail(file, checkpoint, prefix);
    await waitWithLogs(second, async () => (await count(alertsTopic)) >= expectedAlerts, {
      timeoutMs: 90_000,
      intervalMs: 100,
      message: `all ${expectedAlerts} alerts after the restart`,
    });
    // Let it checkpoint the end (the linger after the last batch), then stop it cleanly.
    await waitFor(
      () =>
        (JSON.parse(readFileSync(checkpoint, "utf8")) as { position: { line: number } }).position.line ===
        LINES,
      { timeoutMs: 30_000, message: "the checkpoint at the last line" },
    );
    second.kill("SIGTERM");
    expect((await exited(second)).code).toBe(0);

    const afterKill = await readBack(prefix);
    const expectedFlows = Array.from({ length: LINES }, (_, offset) => offset + 1)
      .filter((index) => index % BAD_EVERY !== 0)
      .map((index) => String(1_207_034_862_018_200 + index));
    // Nothing lost: every good line's alert and every bad line's dead letter is there.
    expect(new Set(afterKill.flows)).toEqual(new Set(expectedFlows));
    expect(new Set(afterKill.deadLetters).size).toBe(Math.floor(LINES / BAD_EVERY));
    // Nothing twice: each batch and its checkpoint are one Kafka transaction, so the kill left
    // either both or neither, and the restart resumed from the committed checkpoint.
    const repeatedAlerts = duplicates(afterKill.ids);
    const repeatedLetters = duplicates(afterKill.deadLetters);
    console.info(
      `tail SIGKILL test: ${atKill} alerts published at the kill; ${repeatedAlerts.length} alerts and ${repeatedLetters.length} dead letters published twice`,
    );
    expect(repeatedAlerts).toEqual([]);
    expect(repeatedLetters).toEqual([]);
    expect(afterKill.ids).toHaveLength(expectedAlerts);

    // 3. A clean stop and restart repeats nothing: only the lines appended since are published.
    writeLines(file, LINES + 1, LINES + 2_001, true);
    const third = startTail(file, checkpoint, prefix);
    const total = afterKill.ids.length + 2_000 - 2;
    await waitWithLogs(third, async () => (await count(alertsTopic)) >= total, {
      timeoutMs: 60_000,
      message: "the appended alerts",
    });
    await waitFor(
      () =>
        (JSON.parse(readFileSync(checkpoint, "utf8")) as { position: { line: number } }).position.line ===
        LINES + 2_000,
      { timeoutMs: 30_000, message: "the checkpoint at the appended last line" },
    );
    third.kill("SIGTERM");
    expect((await exited(third)).code).toBe(0);
    const final = await readBack(prefix);
    expect(final.ids).toHaveLength(total);
    expect(duplicates(final.ids)).toEqual([]);
  });
});
