import { createHmac, timingSafeEqual } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DeliveryError } from "./delivery.ts";
import { emailOutput } from "./outputs/email.ts";
import { jsonLinesOutput } from "./outputs/jsonl-file.ts";
import { slackOutput } from "./outputs/slack.ts";
import { theHiveOutput } from "./outputs/thehive.ts";
import { verifyWebhookSignature, webhookOutput } from "./outputs/webhook.ts";
import {
  type HttpReceiver,
  httpReceiver,
  type SmtpReceiver,
  sampleDelivery,
  sampleIncident,
  smtpReceiver,
} from "./testing/receivers.ts";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function receiver(...args: Parameters<typeof httpReceiver>): Promise<HttpReceiver> {
  const started = await httpReceiver(...args);
  cleanups.push(started.close);
  return started;
}

async function smtp(...args: Parameters<typeof smtpReceiver>): Promise<SmtpReceiver> {
  const started = await smtpReceiver(...args);
  cleanups.push(started.close);
  return started;
}

const hostileTitle =
  'Evil <script>alert(1)</script> *bold* [click](http://evil.example) <!channel> & "q"\r\nBcc: victim@example.com';

async function failureOf(promise: Promise<unknown>): Promise<DeliveryError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(DeliveryError);
  return error as DeliveryError;
}

describe("webhook output", () => {
  it("POSTs the delivery as JSON, signed over timestamp and body, with the idempotency key", async () => {
    const server = await receiver(() => ({ status: 204 }));
    const output = webhookOutput({ url: `${server.url}/hook`, secret: "s3cret", now: () => 1_770_000_000 });
    await output.deliver(sampleDelivery());

    const [request] = server.requests;
    expect(request?.method).toBe("POST");
    expect(request?.path).toBe("/hook");
    expect(request?.headers["content-type"]).toBe("application/json");
    expect(request?.headers["idempotency-key"]).toBe("inc-7f3a9c:3:created");
    expect(request?.headers["x-vigil-timestamp"]).toBe("1770000000");
    // As a receiver would: HMAC-SHA256 over "<timestamp>.<raw body>", constant-time comparison.
    const expected = `sha256=${createHmac("sha256", "s3cret").update(`1770000000.${request?.body}`).digest("hex")}`;
    const given = String(request?.headers["x-vigil-signature"]);
    expect(timingSafeEqual(Buffer.from(given), Buffer.from(expected))).toBe(true);
    const body = JSON.parse(request?.body ?? "");
    expect(body).toMatchObject({
      schema: "vigil.incident-delivery/v1",
      key: "inc-7f3a9c:3:created",
      event: { type: "created" },
      incident: { id: "inc-7f3a9c", version: 3, severity: "high" },
    });
  });

  it("verifyWebhookSignature accepts the genuine request and refuses a tampered, unsigned or stale one", async () => {
    const server = await receiver(() => ({ status: 200 }));
    await webhookOutput({ url: server.url, secret: "s3cret", now: () => 1_770_000_000 }).deliver(
      sampleDelivery(),
    );
    const [request] = server.requests;
    const genuine = {
      timestamp: request?.headers["x-vigil-timestamp"] as string,
      body: request?.body ?? "",
      signature: request?.headers["x-vigil-signature"] as string,
    };
    expect(verifyWebhookSignature("s3cret", genuine, { now: 1_770_000_010 })).toBe(true);
    expect(verifyWebhookSignature("other", genuine, { now: 1_770_000_010 })).toBe(false);
    expect(
      verifyWebhookSignature("s3cret", { ...genuine, body: `${genuine.body} ` }, { now: 1_770_000_010 }),
    ).toBe(false);
    expect(
      verifyWebhookSignature("s3cret", { ...genuine, timestamp: "1770000001" }, { now: 1_770_000_010 }),
    ).toBe(false);
    expect(verifyWebhookSignature("s3cret", { ...genuine, signature: undefined })).toBe(false);
    // A replay an hour later fails the freshness check even with a valid signature.
    expect(verifyWebhookSignature("s3cret", genuine, { now: 1_770_003_600 })).toBe(false);
  });

  it("classifies answers: 408, 429 and 5xx retryable, other 4xx permanent, no answer a retryable timeout", async () => {
    const statuses = [408, 429, 500, 503, 400, 401, 404, 422];
    const server = await receiver((index) => ({ status: statuses[index] ?? 200, body: "nope" }));
    const output = webhookOutput({ url: server.url, secret: "s" });
    const verdicts: Array<[number | undefined, boolean]> = [];
    for (const _ of statuses) {
      const error = await failureOf(output.deliver(sampleDelivery()));
      verdicts.push([error.status, error.retryable]);
    }
    expect(verdicts).toEqual([
      [408, true],
      [429, true],
      [500, true],
      [503, true],
      [400, false],
      [401, false],
      [404, false],
      [422, false],
    ]);

    const hanging = await receiver(() => "hang");
    const timeout = await failureOf(
      webhookOutput({ url: hanging.url, secret: "s", timeoutMs: 150 }).deliver(sampleDelivery()),
    );
    expect(timeout.retryable).toBe(true);
    expect(timeout.message).toContain("no answer within 150 ms");

    const refused = await failureOf(
      webhookOutput({ url: "http://127.0.0.1:9", secret: "s" }).deliver(sampleDelivery()),
    );
    expect(refused.retryable).toBe(true);
  });

  it("percent-encodes an idempotency key that is not header-safe instead of failing", async () => {
    const server = await receiver(() => ({ status: 200 }));
    await webhookOutput({ url: server.url, secret: "s" }).deliver(sampleDelivery("inc 1\r\nX-Injected: yes"));
    expect(server.requests[0]?.headers["idempotency-key"]).toBe("inc%201%0D%0AX-Injected%3A%20yes");
    expect(server.requests[0]?.headers["x-injected"]).toBeUndefined();
  });
});

describe("Slack output", () => {
  it("posts text and blocks with severity, urgency, asset, owner, why and the console link", async () => {
    const server = await receiver(() => ({ status: 200, body: "ok" }));
    const incident = sampleIncident({
      urgency: "critical",
      owner: { organisation: "Finance IT", contacts: [{ name: "Ann", email: "ann@corp.example" }] },
    });
    await slackOutput({
      url: `${server.url}/services/T/B/X`,
      consoleUrl: "https://console.example/incidents/{id}",
    }).deliver(sampleDelivery("k", incident));
    const message = JSON.parse(server.requests[0]?.body ?? "");
    expect(message.text).toContain("[high / urgency critical]");
    expect(message.text).toContain("<https://console.example/incidents/inc-7f3a9c|open>");
    const texts = JSON.stringify(message.blocks);
    expect(message.blocks[0]).toEqual({
      type: "header",
      text: { type: "plain_text", text: "Created: Vulnerable OpenSSH on db-01", emoji: false },
    });
    expect(texts).toContain("Severity: high / urgency critical");
    expect(texts).toContain("Asset: db-01.corp.example / 10.0.0.5 (critical priority)");
    expect(texts).toContain("Owner: Finance IT (Ann <ann@corp.example>)");
    expect(texts).toContain("Why: sshd 8.9p1 is affected by CVE-2024-6387");
    expect(message.blocks).toContainEqual({
      type: "actions",
      elements: [
        {
          type: "button",
          text: { type: "plain_text", text: "Open in console", emoji: false },
          url: "https://console.example/incidents/inc-7f3a9c",
        },
      ],
    });
  });

  it("neutralises hostile strings: no links or mentions in mrkdwn, untrusted text only in plain_text", async () => {
    const server = await receiver(() => ({ status: 200, body: "ok" }));
    const incident = sampleIncident({ title: hostileTitle, explanation: "<@U123> see <http://evil|here>" });
    await slackOutput({ url: server.url }).deliver(sampleDelivery("k", incident));
    const message = JSON.parse(server.requests[0]?.body ?? "");
    expect(message.text).not.toMatch(/[<>]/);
    expect(message.text).toContain("&lt;!channel&gt;");
    expect(message.text).not.toContain("\n");
    const textObjects: Array<{ type: string; text: string }> = [];
    JSON.stringify(message.blocks, (_key, value) => {
      if (value?.type === "plain_text" || value?.type === "mrkdwn") textObjects.push(value);
      return value;
    });
    expect(textObjects.length).toBeGreaterThan(3);
    expect(textObjects.every((text) => text.type === "plain_text")).toBe(true);
  });
});

describe("TheHive output", () => {
  it("creates an alert with the API key, TheHive's fields and typed observables", async () => {
    const server = await receiver(() => ({ status: 201, body: "{}" }));
    const incident = sampleIncident({
      urgency: "high",
      observables: [
        { type: "user", value: "admin" },
        { type: "ip", value: "10.0.0.5" },
      ],
    });
    await theHiveOutput({
      baseUrl: `${server.url}/`,
      apiKey: "hive-key",
      organisation: "SOC",
      consoleUrl: "https://console.example/incidents/{id}",
    }).deliver(sampleDelivery("k", incident));
    const [request] = server.requests;
    expect(request?.path).toBe("/api/v1/alert");
    expect(request?.headers.authorization).toBe("Bearer hive-key");
    expect(request?.headers["x-organisation"]).toBe("SOC");
    const alert = JSON.parse(request?.body ?? "");
    expect(alert).toMatchObject({
      type: "vigil-incident",
      source: "vigil",
      sourceRef: "inc-7f3a9c",
      title: "Vulnerable OpenSSH on db-01",
      severity: 3,
      tlp: 2,
      pap: 2,
      date: Date.parse("2026-03-01T10:02:00Z"),
      externalLink: "https://console.example/incidents/inc-7f3a9c",
    });
    expect(alert.tags).toEqual(
      expect.arrayContaining(["vigil", "severity:high", "urgency:high", "CVE-2024-6387", "attack:T1190"]),
    );
    // The incident's ip and the asset's ip are one observable: TheHive refuses duplicates.
    expect(alert.observables).toEqual([
      { dataType: "other", data: "admin", tags: ["vigil:user"], ioc: false },
      { dataType: "ip", data: "10.0.0.5", tags: [], ioc: false },
      { dataType: "hostname", data: "db-01.corp.example", tags: [], ioc: false },
      { dataType: "other", data: "CVE-2024-6387", tags: ["vigil:cve"], ioc: false },
    ]);
    expect(alert.description).toContain("**Why:** sshd 8\\.9p1");
  });

  it("counts a duplicate sourceRef (409, or 400 'already exists') as delivered; other 400s are permanent", async () => {
    const answers = [
      { status: 409, body: '{"type":"ConflictError"}' },
      { status: 400, body: '{"type":"CreateError","message":"Alert already exists"}' },
      { status: 400, body: '{"type":"BadRequest","message":"invalid severity"}' },
    ];
    const server = await receiver((index) => answers[index] ?? { status: 500 });
    const output = theHiveOutput({ baseUrl: server.url, apiKey: "k" });
    await output.deliver(sampleDelivery());
    await output.deliver(sampleDelivery());
    const error = await failureOf(output.deliver(sampleDelivery()));
    expect(error.retryable).toBe(false);
  });

  it("escapes markdown and HTML in the description and flattens the title", async () => {
    const server = await receiver(() => ({ status: 201 }));
    const incident = sampleIncident({
      title: hostileTitle,
      description: "# heading\n![img](http://evil/x.png) <img src=x>",
    });
    await theHiveOutput({ baseUrl: server.url, apiKey: "k" }).deliver(sampleDelivery("k", incident));
    const alert = JSON.parse(server.requests[0]?.body ?? "");
    expect(alert.title).not.toMatch(/[\r\n]/);
    expect(alert.description).toContain("\\# heading");
    expect(alert.description).toContain("\\!\\[img\\]\\(http://evil/x\\.png\\)");
    expect(alert.description).toContain("&lt;img src=x&gt;");
    expect(alert.description).not.toContain("<img");
  });
});

describe("email output", () => {
  it("sends plain text and HTML with a Message-ID derived from the idempotency key", async () => {
    const server = await smtp();
    const output = emailOutput({
      host: "127.0.0.1",
      port: server.port,
      from: "vigil@soc.example",
      to: ["finance-it@corp.example"],
      consoleUrl: "https://console.example/incidents/{id}",
    });
    cleanups.push(async () => output.close?.());
    await output.deliver(sampleDelivery("inc-7f3a9c:3:created"));
    await output.deliver(sampleDelivery("inc-7f3a9c:3:created"));
    await output.deliver(sampleDelivery("inc-7f3a9c:4:escalated"));
    expect(server.messages).toHaveLength(3);
    const [first, again, other] = server.messages;
    expect(first?.from).toBe("vigil@soc.example");
    expect(first?.to).toEqual(["finance-it@corp.example"]);
    const messageId = (data: string | undefined) => /^Message-ID: (<[^>]+>)/im.exec(data ?? "")?.[1];
    expect(messageId(first?.data)).toMatch(/^<[0-9a-f]{40}@soc\.example>$/);
    expect(messageId(again?.data)).toBe(messageId(first?.data));
    expect(messageId(other?.data)).not.toBe(messageId(first?.data));
    expect(first?.data).toMatch(/^Subject: \[Vigil high\] Created: Vulnerable OpenSSH on db-01\r?$/m);
    expect(first?.data).toContain("X-Vigil-Idempotency-Key: inc-7f3a9c:3:created");
    expect(first?.data).toContain("Content-Type: text/plain");
    expect(first?.data).toContain("Content-Type: text/html");
    expect(first?.data).toContain("https://console.example/incidents/inc-7f3a9c");
  });

  it("keeps CRLF in the title out of the headers and escapes HTML in the HTML part", async () => {
    const server = await smtp();
    const output = emailOutput({
      host: "127.0.0.1",
      port: server.port,
      from: "vigil@soc.example",
      to: ["a@corp.example"],
    });
    cleanups.push(async () => output.close?.());
    await output.deliver(sampleDelivery("k", sampleIncident({ title: hostileTitle })));
    const data = server.messages[0]?.data ?? "";
    const [headers = "", ...rest] = data.split(/\r\n\r\n/);
    expect(headers).not.toMatch(/^Bcc:/im);
    expect(server.messages[0]?.to).toEqual(["a@corp.example"]);
    const body = rest.join("\r\n\r\n");
    const html = decodeQuotedPrintable(body.slice(body.indexOf("Content-Type: text/html")));
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(html).not.toContain("<script>");
  });

  it("reports 4xx as retryable, 5xx as permanent, a dead server as retryable", async () => {
    const server = await smtp((index) => (index === 0 ? 451 : 550));
    const output = emailOutput({
      host: "127.0.0.1",
      port: server.port,
      from: "v@soc.example",
      to: ["a@corp.example"],
    });
    cleanups.push(async () => output.close?.());
    expect((await failureOf(output.deliver(sampleDelivery()))).retryable).toBe(true);
    const refused = await failureOf(output.deliver(sampleDelivery()));
    expect(refused.retryable).toBe(false);
    expect(refused.status).toBe(550);
    const dead = emailOutput({ host: "127.0.0.1", port: 9, from: "v@soc.example", to: ["a@corp.example"] });
    expect((await failureOf(dead.deliver(sampleDelivery()))).retryable).toBe(true);
  });
});

function decodeQuotedPrintable(text: string): string {
  return text
    .replace(/=\r?\n/g, "")
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

describe("JSON-lines output", () => {
  it("appends one line per delivery with its key, and repairs a torn last line first", async () => {
    const directory = await mkdtemp(join(tmpdir(), "vigil-outputs-"));
    cleanups.push(() => rm(directory, { recursive: true, force: true }));
    const path = join(directory, "nested", "incidents.jsonl");
    const output = jsonLinesOutput({ path, now: () => "2026-03-01T11:00:00.000Z" });
    await Promise.all([output.deliver(sampleDelivery("a")), output.deliver(sampleDelivery("b"))]);
    await output.close?.();
    await writeFile(path, '{"key":"torn', { flag: "a" });
    const reopened = jsonLinesOutput({ path });
    await reopened.deliver(sampleDelivery("c"));
    await reopened.close?.();

    const lines = (await readFile(path, "utf8")).split("\n");
    expect(lines.at(-1)).toBe("");
    expect(lines[2]).toBe('{"key":"torn');
    const records = [lines[0], lines[1], lines[3]].map((line) => JSON.parse(line ?? ""));
    expect(records.map((record) => record.key)).toEqual(["a", "b", "c"]);
    expect(records[0]).toMatchObject({
      delivered_at: "2026-03-01T11:00:00.000Z",
      event: { type: "created" },
      incident: { id: "inc-7f3a9c" },
    });
  });
});
