import { randomBytes } from "node:crypto";
import { Readable, Writable } from "node:stream";
import { silentLogger } from "@vigil/observability";
import { parseSuricataEve } from "@vigil/parsers";
import {
  dlqHeader,
  IdsAlertV1 as IdsAlertSchema,
  type IdsAlertV1,
  idsRecordKey,
  topicName,
  topics,
} from "@vigil/schema";
import {
  createEmbeddedTransport,
  ensureRegistryTopics,
  type OutgoingMessage,
  type Transport,
} from "@vigil/stream";
import { describe, expect, it } from "vitest";
import { readLines } from "./lines.ts";
import { IngestPublishError, type ParsedLine, publishTo, runIngest } from "./run.ts";

const MAX_LINE_BYTES = 1024 * 1024;

function alertLine(index: number, overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    timestamp: `2024-01-17T09:${String(10 + (index % 50)).padStart(2, "0")}:03.118412+0100`,
    flow_id: 1_207_034_862_018_200 + index,
    in_iface: "ens192",
    event_type: "alert",
    src_ip: "203.0.113.45",
    src_port: 40_000 + index,
    dest_ip: `10.20.3.${10 + (index % 5)}`,
    dest_port: 443,
    proto: "TCP",
    alert: {
      action: "allowed",
      gid: 1,
      signature_id: 2_034_647,
      rev: 2,
      signature: "ET EXPLOIT Apache log4j RCE Attempt (http ldap) (CVE-2021-44228)",
      category: "Attempted Administrator Privilege Gain",
      severity: 1,
      metadata: { cve: ["CVE_2021_44228"], signature_severity: ["Critical"] },
    },
    ...overrides,
  });
}

const flowLine = (index: number) =>
  JSON.stringify({
    timestamp: "2024-01-17T09:10:03.118412+0100",
    flow_id: index,
    event_type: "flow",
    src_ip: "10.20.41.23",
  });

interface FixtureLine {
  text: string;
  expect: "alert" | "ignored" | { kind: string; reason: string };
}

/** Every kind of input an EVE file can hold, good and bad, with what should become of it. */
function mixedFixture(): FixtureLine[] {
  const good = (index: number): FixtureLine => ({ text: alertLine(index), expect: "alert" });
  const whole = alertLine(99);
  return [
    good(1),
    { text: flowLine(1), expect: "ignored" },
    { text: "{not json", expect: { kind: "json", reason: "not valid JSON" } },
    good(2),
    {
      text: whole.slice(0, Math.floor(whole.length / 2)),
      expect: { kind: "json", reason: "not valid JSON" },
    },
    { text: "[1,2,3]", expect: { kind: "not-object", reason: "got array" } },
    { text: "42", expect: { kind: "not-object", reason: "got number 42" } },
    { text: "null", expect: { kind: "not-object", reason: "got null" } },
    { text: '"alert"', expect: { kind: "not-object", reason: "got string" } },
    {
      text: alertLine(3).replace('"signature_id":2034647', '"signature_id":"2034647"'),
      expect: { kind: "schema", reason: "alert.signature_id: expected number, got string" },
    },
    {
      text: alertLine(4).replace('"src_port":40004', '"src_port":"40004"'),
      expect: { kind: "schema", reason: "src_port: expected number, got string" },
    },
    {
      text: alertLine(5, { alert: undefined }),
      expect: { kind: "schema", reason: "alert: expected object, got nothing" },
    },
    {
      text: "X".repeat(5 * 1024 * 1024),
      expect: {
        kind: "oversized",
        reason: "line of 5242880 bytes exceeds the line size limit of 1048576 bytes",
      },
    },
    good(6),
    {
      text: alertLine(7, { alert: { signature_id: 1, signature: "S".repeat(200_000) } }),
      expect: { kind: "schema", reason: "alert.signature: too long" },
    },
    {
      text: alertLine(8, { alert: { signature_id: 1, signature: "bell\u0007 and escape\u001b" } }),
      expect: { kind: "schema", reason: "alert.signature: contains control characters" },
    },
    {
      text: alertLine(9).replace('"metadata":{', '"metadata":{"__proto__":["polluted"],'),
      expect: { kind: "schema", reason: "alert.metadata.__proto__: key not allowed" },
    },
    {
      text: alertLine(10, { dest_ip: "10.20.3.999" }),
      expect: { kind: "schema", reason: "dest_ip: expected an IP address" },
    },
    {
      text: alertLine(11, { timestamp: "17/01/2024 09:10" }),
      expect: { kind: "schema", reason: "timestamp: expected a time like" },
    },
    { text: flowLine(2), expect: "ignored" },
    good(12),
    // Last line, cut off mid-record and without a newline: a writer killed mid-write.
    { text: whole.slice(0, 40), expect: { kind: "json", reason: "not valid JSON" } },
  ];
}

function fixtureStream(lines: FixtureLine[]): Readable {
  const body = lines.map((line) => line.text).join("\n");
  // Interleave blank lines (skipped) and CRLF (tolerated) as real files do.
  return Readable.from([Buffer.from(body.replace(flowLine(1), `\r\n${flowLine(1)}\r`))], {
    objectMode: false,
  });
}

const parse = (bytes: Buffer): ParsedLine<IdsAlertV1> => {
  // Context events (the fixture's flow lines) are not this test's subject: counted as ignored.
  const result = parseSuricataEve(bytes, { now: () => new Date("2024-01-17T09:30:00Z"), context: false });
  if (result.status === "context") throw new Error("context events are off");
  return result.status === "alert" ? { status: "record", value: result.alert } : result;
};

const encode = publishTo(topics.idsAlerts, idsRecordKey, (alert) => alert.time_dt);

async function freshTransport(): Promise<{ transport: Transport; prefix: string }> {
  const transport = createEmbeddedTransport();
  const prefix = `t-${randomBytes(4).toString("hex")}.`;
  await ensureRegistryTopics(transport, prefix);
  return { transport, prefix };
}

class Collector extends Writable {
  chunks: string[] = [];
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.chunks.push(chunk.toString());
    callback();
  }
  lines(): string[] {
    return this.chunks.join("").split("\n").filter(Boolean);
  }
}

describe("runIngest", () => {
  it("publishes good records, counts ignored ones and dead-letters every bad line with its bytes, reason and place", async () => {
    const { transport, prefix } = await freshTransport();
    const fixture = mixedFixture();
    const summary = await runIngest({
      transport,
      lines: readLines(fixtureStream(fixture), { maxLineBytes: MAX_LINE_BYTES }),
      parse,
      encode,
      topicPrefix: prefix,
      stage: "ingest-ids",
      source: "fixtures/eve.json",
      logger: silentLogger(),
      maxLineBytes: MAX_LINE_BYTES,
    });

    const good = fixture.filter((line) => line.expect === "alert");
    const bad = fixture.filter((line) => typeof line.expect === "object");
    expect(summary).toMatchObject({
      read: fixture.length,
      published: good.length,
      ignored: 2,
      deadLettered: bad.length,
      deadLetteredByKind: { json: 3, "not-object": 4, schema: 8, oversized: 1 },
      aborted: false,
    });
    expect(summary.read).toBe(summary.published + summary.ignored + summary.deadLettered);
    // The CRLF and blank line around the first flow record shift later line numbers by one.
    expect(summary.lastAckedLine).toBe(fixture.length + 1);

    const alerts = await transport.readAll(topicName(topics.idsAlerts, prefix));
    expect(alerts).toHaveLength(good.length);
    const published = alerts.map((message) => IdsAlertSchema.parse(JSON.parse(message.value!.toString())));
    expect(new Set(published.map((alert) => alert.id)).size).toBe(good.length);
    for (const [index, message] of alerts.entries()) {
      expect(message.key?.toString()).toBe(idsRecordKey(published[index]!));
      expect(message.headers).toMatchObject({
        ce_id: published[index]!.id,
        ce_type: topics.idsAlerts.ceType,
        ce_source: "vigil/ingest-ids",
        ce_specversion: "1.0",
        ce_time: published[index]!.time_dt,
      });
    }
    expect(published.map((alert) => alert.src_endpoint?.port).sort()).toEqual([
      40_001, 40_002, 40_006, 40_012,
    ]);

    const deadLetters = await transport.readAll(topicName(topics.dlq, prefix));
    expect(deadLetters).toHaveLength(bad.length);
    const byLocation = new Map(
      deadLetters.map((message) => [message.headers[dlqHeader.sourceLocation], message]),
    );
    let lineNumber = 0;
    for (const line of fixture) {
      lineNumber += line.text === flowLine(1) ? 2 : 1;
      if (typeof line.expect !== "object") continue;
      const letter = byLocation.get(`fixtures/eve.json:${lineNumber}`);
      if (!letter) throw new Error(`no dead letter for line ${lineNumber} (${line.expect.kind})`);
      expect(letter.headers[dlqHeader.kind]).toBe(line.expect.kind);
      expect(letter.headers[dlqHeader.reason]).toContain(line.expect.reason);
      expect(letter.headers[dlqHeader.stage]).toBe("ingest-ids");
      if (line.expect.kind === "oversized") {
        expect(letter.value).toEqual(Buffer.from(line.text.slice(0, 64 * 1024)));
        expect(letter.headers[dlqHeader.reason]).toContain(
          "the value holds the first 65536 of 5242880 bytes",
        );
      } else {
        expect(letter.value).toEqual(Buffer.from(line.text));
      }
    }
    expect(Object.prototype).not.toHaveProperty("polluted");
    await transport.close();
  });

  it("sends in bounded batches and waits for each acknowledgement", async () => {
    const { transport, prefix } = await freshTransport();
    const sends: Array<{ topic: string; count: number; bytes: number }> = [];
    const counting: Transport = Object.assign(Object.create(transport) as Transport, {
      send: async (topic: string, messages: OutgoingMessage[]) => {
        sends.push({
          topic,
          count: messages.length,
          bytes: messages.reduce((n, m) => n + (m.value?.length ?? 0), 0),
        });
        await transport.send(topic, messages);
      },
    });
    const lines = Array.from({ length: 23 }, (_, index) => alertLine(index)).join("\n");
    const summary = await runIngest({
      transport: counting,
      lines: readLines(Readable.from([Buffer.from(lines)]), { maxLineBytes: MAX_LINE_BYTES }),
      parse,
      encode,
      topicPrefix: prefix,
      stage: "ingest-ids",
      source: "stdin",
      logger: silentLogger(),
      batchSize: 5,
    });
    expect(summary).toMatchObject({ read: 23, published: 23, lastAckedLine: 23 });
    expect(sends.map((send) => send.count)).toEqual([5, 5, 5, 5, 3]);

    sends.length = 0;
    await runIngest({
      transport: counting,
      lines: readLines(Readable.from([Buffer.from(lines)]), { maxLineBytes: MAX_LINE_BYTES }),
      parse,
      encode,
      topicPrefix: prefix,
      stage: "ingest-ids",
      source: "stdin",
      logger: silentLogger(),
      maxBatchBytes: 4000,
    });
    expect(sends.length).toBeGreaterThan(5);
    for (const send of sends) expect(send.bytes).toBeLessThanOrEqual(4000);
    expect(sends.reduce((n, send) => n + send.count, 0)).toBe(23);
    await transport.close();
  });

  it("flushes a partial batch after the linger time while the input is still open", async () => {
    const { transport, prefix } = await freshTransport();
    const input = new Readable({ read() {} });
    const running = runIngest({
      transport,
      lines: readLines(input, { maxLineBytes: MAX_LINE_BYTES }),
      parse,
      encode,
      topicPrefix: prefix,
      stage: "ingest-ids",
      source: "stdin",
      logger: silentLogger(),
      lingerMs: 10,
    });
    input.push(`${alertLine(1)}\n`);
    const topic = topicName(topics.idsAlerts, prefix);
    for (let attempt = 0; attempt < 200 && (await transport.readAll(topic)).length === 0; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(await transport.readAll(topic)).toHaveLength(1);
    input.push(null);
    expect(await running).toMatchObject({ read: 1, published: 1 });
    await transport.close();
  });

  it("retries a failing send, then fails saying which lines were acknowledged", async () => {
    const { transport, prefix } = await freshTransport();
    let alertSends = 0;
    const flaky: Transport = Object.assign(Object.create(transport) as Transport, {
      send: async (topic: string, messages: OutgoingMessage[]) => {
        if (topic.endsWith(topics.idsAlerts.name)) {
          alertSends += 1;
          // The first batch goes through; the second fails once (retried), the third for good.
          if (alertSends === 2 || alertSends >= 4) throw new Error("NOT_ENOUGH_REPLICAS");
        }
        await transport.send(topic, messages);
      },
    });
    const lines = Array.from({ length: 12 }, (_, index) => alertLine(index)).join("\n");
    const failure = await runIngest({
      transport: flaky,
      lines: readLines(Readable.from([Buffer.from(lines)]), { maxLineBytes: MAX_LINE_BYTES }),
      parse,
      encode,
      topicPrefix: prefix,
      stage: "ingest-ids",
      source: "eve.json",
      logger: silentLogger(),
      batchSize: 4,
      sendRetry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 2, factor: 1 },
    }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(IngestPublishError);
    const error = failure as IngestPublishError;
    expect(error.message).toContain("failed after 3 attempts (NOT_ENOUGH_REPLICAS)");
    expect(error.message).toContain(
      "lines 1-8 of eve.json are fully acknowledged, a rerun can resume after line 8",
    );
    expect(error.summary).toMatchObject({ lastAckedLine: 8, published: 8 });
    expect(alertSends).toBe(6);
    expect(await transport.readAll(topicName(topics.idsAlerts, prefix))).toHaveLength(8);
    await transport.close();
  });

  it("reports as acknowledged only lines whose outputs were acknowledged, also when a line's output starts the next batch", async () => {
    const { transport, prefix } = await freshTransport();
    const alertsTopic = topicName(topics.idsAlerts, prefix);
    const seen: Array<{ line: number; publishedThen: number }> = [];
    await runIngest({
      transport,
      lines: readLines(
        Readable.from([Buffer.from(`${[1, 2, 3, 4, 5].map((index) => alertLine(index)).join("\n")}\n`)]),
        {
          maxLineBytes: 4096,
        },
      ),
      parse,
      encode,
      topicPrefix: prefix,
      stage: "ingest-ids",
      source: "eve.json",
      logger: silentLogger(),
      // Every record overflows the byte budget: each batch is cut before the line being handled.
      maxBatchBytes: 1,
      onAcknowledged: async (line) => {
        const offsets = await transport.endOffsets(alertsTopic);
        seen.push({
          line: line.lineNumber,
          publishedThen: offsets.reduce((sum, { offset }) => sum + Number(offset), 0),
        });
      },
    });
    expect(seen.map((entry) => entry.line)).toEqual([1, 2, 3, 4, 5]);
    for (const entry of seen) expect(entry.publishedThen).toBe(entry.line);
  });

  it("dead-letters a record its encoder refuses instead of stopping", async () => {
    const { transport, prefix } = await freshTransport();
    const summary = await runIngest({
      transport,
      lines: readLines(Readable.from([Buffer.from(`${alertLine(1)}\n${alertLine(2)}\n`)]), {
        maxLineBytes: 4096,
      }),
      parse: (bytes) => {
        const parsed = parse(bytes);
        // A parser bug: an address the schema refuses.
        return parsed.status === "record" && parsed.value.src_endpoint?.port === 40_002
          ? { status: "record", value: { ...parsed.value, asset_ip: "not-an-ip" } }
          : parsed;
      },
      encode,
      topicPrefix: prefix,
      stage: "ingest-ids",
      source: "eve.json",
      logger: silentLogger(),
    });
    expect(summary).toMatchObject({ published: 1, deadLettered: 1, deadLetteredByKind: { schema: 1 } });
    const [letter] = await transport.readAll(topicName(topics.dlq, prefix));
    expect(letter?.headers[dlqHeader.reason]).toContain(
      "normalized record refused: refusing to publish an invalid vigil.ids.alerts record: asset_ip",
    );
    expect(letter?.headers[dlqHeader.sourceLocation]).toBe("eve.json:2");
    await transport.close();
  });

  it("in a dry run writes records and dead letters as JSON lines and publishes nothing", async () => {
    const out = new Collector();
    const errOut = new Collector();
    const fixture = mixedFixture();
    const summary = await runIngest({
      lines: readLines(fixtureStream(fixture), { maxLineBytes: MAX_LINE_BYTES }),
      parse,
      encode,
      stage: "ingest-ids",
      source: "eve.json",
      logger: silentLogger(),
      dryRun: true,
      out,
      errOut,
      maxLineBytes: MAX_LINE_BYTES,
    });
    const good = fixture.filter((line) => line.expect === "alert").length;
    const bad = fixture.filter((line) => typeof line.expect === "object").length;
    expect(summary).toMatchObject({ read: fixture.length, published: good, ignored: 2, deadLettered: bad });
    const records = out.lines().map((text) => IdsAlertSchema.parse(JSON.parse(text)));
    expect(records).toHaveLength(good);
    const letters = errOut
      .lines()
      .map((text) => JSON.parse(text) as { dead_letter: { location: string; kind: string; reason: string } });
    expect(letters).toHaveLength(bad);
    expect(letters[0]?.dead_letter).toMatchObject({ location: "eve.json:4", kind: "json" });
    expect(letters.find((letter) => letter.dead_letter.kind === "oversized")?.dead_letter.reason).toContain(
      "exceeds the line size limit",
    );
  });

  it("refuses to run without a transport unless dry", async () => {
    await expect(
      runIngest({
        lines: readLines(Readable.from([]), { maxLineBytes: 10 }),
        parse,
        encode,
        stage: "ingest-ids",
        source: "stdin",
        logger: silentLogger(),
      }),
    ).rejects.toThrow("needs a transport");
  });
});
