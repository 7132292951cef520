import { context, TraceFlags, trace } from "@opentelemetry/api";
import { installTracing } from "@vigil/observability";
import { ceHeader, dlqHeader, topics } from "@vigil/schema";
import { describe, expect, it } from "vitest";
import { DecodeError, decodeValue, encodeValue, output } from "./codec.ts";
import { deadLetterMessage } from "./dead-letter.ts";
import { backoffDelay, withRetry } from "./retry.ts";

const dlq = topics.dlq;
const incidentLike = { schema: "nope" };

describe("decodeValue", () => {
  const schema = topics.idsAlerts.value;
  const cases: Array<[string, Buffer | null, DecodeError["kind"], RegExp]> = [
    ["no value", null, "empty", /no value/],
    ["empty value", Buffer.alloc(0), "empty", /no value/],
    ["malformed JSON", Buffer.from('{"schema": "vigil.ids'), "json", /not valid JSON/],
    ["a non-object", Buffer.from("[1,2,3]"), "schema", /\(root\)/],
    [
      "wrong types",
      Buffer.from(JSON.stringify({ ...incidentLike, id: 5 })),
      "schema",
      /schema: Invalid input/,
    ],
  ];
  for (const [name, value, kind, pattern] of cases) {
    it(`rejects ${name} with kind ${kind}`, () => {
      try {
        decodeValue(schema, { value });
        expect.unreachable();
      } catch (error) {
        expect(error).toBeInstanceOf(DecodeError);
        expect((error as DecodeError).kind).toBe(kind);
        expect((error as Error).message).toMatch(pattern);
      }
    });
  }

  it("does not let a hostile __proto__ key reach object prototypes", () => {
    const hostile = Buffer.from('{"__proto__": {"polluted": true}, "schema": "x"}');
    expect(() => decodeValue(schema, { value: hostile })).toThrow(DecodeError);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe("encodeValue", () => {
  it("refuses to publish a record that breaks the topic schema", () => {
    expect(() =>
      encodeValue(topics.findings, { schema: "vigil.finding/v1" } as never, { key: "k", source: "test" }),
    ).toThrow(/refusing to publish an invalid vigil.findings record/);
  });

  it("adds CloudEvents headers and the active trace context", () => {
    installTracing();
    const spanContext = {
      traceId: "0af7651916cd43dd8448eb211c80319c",
      spanId: "b7ad6b7169203331",
      traceFlags: TraceFlags.SAMPLED,
    };
    const ctx = trace.setSpanContext(context.active(), spanContext);
    const message = context.with(ctx, () =>
      output(
        dlq,
        { anything: true },
        { key: "k", source: "vigil/test", id: "evt-1", time: "2026-01-01T00:00:00Z", prefix: "p." },
      ),
    );
    expect(message.topic).toBe("p.vigil.dlq");
    expect(message.message.headers).toMatchObject({
      [ceHeader.id]: "evt-1",
      [ceHeader.type]: dlq.ceType,
      [ceHeader.source]: "vigil/test",
      [ceHeader.time]: "2026-01-01T00:00:00Z",
      [ceHeader.specversion]: "1.0",
      traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    });
    expect(JSON.parse(String(message.message.value))).toEqual({ anything: true });
  });
});

describe("deadLetterMessage", () => {
  it("keeps the original bytes and headers and says why and where", () => {
    const original = Buffer.from([0xff, 0x00, 0x7b]);
    const letter = deadLetterMessage(
      {
        reason: "x".repeat(5000),
        kind: "json",
        stage: "rules-engine",
        value: original,
        key: Buffer.from("10.0.0.1"),
        source: { topic: "vigil.ids.alerts", partition: 2, offset: "41", headers: { traceparent: "tp" } },
      },
      new Date("2026-01-02T03:04:05Z"),
    );
    expect(letter.value).toBe(original);
    expect(letter.headers).toMatchObject({
      traceparent: "tp",
      [dlqHeader.kind]: "json",
      [dlqHeader.stage]: "rules-engine",
      [dlqHeader.sourceTopic]: "vigil.ids.alerts",
      [dlqHeader.sourcePartition]: "2",
      [dlqHeader.sourceOffset]: "41",
      [dlqHeader.time]: "2026-01-02T03:04:05.000Z",
    });
    expect(letter.headers?.[dlqHeader.reason]?.length).toBeLessThanOrEqual(2001);
  });
});

describe("withRetry", () => {
  const fast = { attempts: 4, initialDelayMs: 1, maxDelayMs: 4, factor: 2 };

  it("retries transient failures until success", async () => {
    let calls = 0;
    const result = await withRetry(
      async () => {
        calls++;
        if (calls < 3) throw new Error("broker unavailable");
        return "ok";
      },
      { policy: fast },
    );
    expect(result).toBe("ok");
    expect(calls).toBe(3);
  });

  it("gives up after the policy's attempts with the last error", async () => {
    let calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          throw new Error(`fail ${calls}`);
        },
        { policy: fast },
      ),
    ).rejects.toThrow("fail 4");
    expect(calls).toBe(4);
  });

  it("does not retry permanent errors", async () => {
    let calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          throw new Error("permanent");
        },
        { policy: fast, isRetriable: () => false },
      ),
    ).rejects.toThrow("permanent");
    expect(calls).toBe(1);
  });

  it("backs off exponentially within the cap", () => {
    const policy = { attempts: 10, initialDelayMs: 100, maxDelayMs: 1000, factor: 2 };
    expect(backoffDelay(policy, 1, () => 1)).toBe(100);
    expect(backoffDelay(policy, 3, () => 1)).toBe(400);
    expect(backoffDelay(policy, 3, () => 0)).toBe(200);
    expect(backoffDelay(policy, 9, () => 1)).toBe(1000);
  });
});
