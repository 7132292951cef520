/** Test inputs shared by the unit and integration tests: every kind of line an EVE file can hold. */

export interface FixtureLine {
  text: string;
  expect: "alert" | "ignored" | { kind: string; reason: string };
}

export function alertLine(index: number, overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    timestamp: `2024-03-12T09:${String(10 + (index % 50)).padStart(2, "0")}:03.118412+0100`,
    flow_id: 1_207_034_862_018_200 + index,
    in_iface: "ens224",
    event_type: "alert",
    src_ip: "10.20.9.77",
    src_port: 53_000 + index,
    dest_ip: index % 2 === 0 ? "10.20.1.10" : "10.20.5.20",
    dest_port: 49_667,
    proto: "TCP",
    app_proto: "dcerpc",
    host: "sensor-core-1",
    alert: {
      action: "allowed",
      gid: 1,
      signature_id: 2_030_870,
      rev: 2,
      signature:
        "ET EXPLOIT Possible Zerologon NetrServerReqChallenge with 0x00 Client Challenge (CVE-2020-1472)",
      category: "Attempted Administrator Privilege Gain",
      severity: 1,
      metadata: { cve: ["CVE_2020_1472"], signature_severity: ["Major"] },
    },
    ...overrides,
  });
}

/** An EVE type ingest-ids does not keep (context types such as flow are published to vigil.ids.context). */
export const ignoredLine = (index: number): string =>
  JSON.stringify({
    timestamp: "2024-03-12T09:10:03.118412+0100",
    event_type: "stats",
    stats: { uptime: index },
  });

export const FIVE_MIB = 5 * 1024 * 1024;

/** Good alerts, ignored events and every kind of bad line, the last one cut off without a newline. */
export function mixedFixture(): FixtureLine[] {
  const good = (index: number): FixtureLine => ({ text: alertLine(index), expect: "alert" });
  const whole = alertLine(99);
  return [
    good(1),
    { text: ignoredLine(1), expect: "ignored" },
    { text: "{not json", expect: { kind: "json", reason: "not valid JSON" } },
    good(2),
    {
      text: whole.slice(0, Math.floor(whole.length / 2)),
      expect: { kind: "json", reason: "not valid JSON" },
    },
    { text: "[1,2,3]", expect: { kind: "not-object", reason: "got array" } },
    { text: "null", expect: { kind: "not-object", reason: "got null" } },
    {
      text: alertLine(3).replace('"signature_id":2030870', '"signature_id":"2030870"'),
      expect: { kind: "schema", reason: "alert.signature_id: expected number, got string" },
    },
    {
      text: alertLine(4).replace('"src_port":53004', '"src_port":"53004"'),
      expect: { kind: "schema", reason: "src_port: expected number, got string" },
    },
    {
      text: alertLine(5, { alert: undefined }),
      expect: { kind: "schema", reason: "alert: expected object, got nothing" },
    },
    {
      text: `{"timestamp":"2024-03-12T09:10:03+0100","event_type":"alert","pad":"${"X".repeat(FIVE_MIB)}"}`,
      expect: { kind: "oversized", reason: "exceeds the line size limit of 1048576 bytes" },
    },
    good(6),
    {
      text: alertLine(7, { alert: { signature_id: 1, signature: "S".repeat(300_000) } }),
      expect: { kind: "schema", reason: "alert.signature: too long: 300000 characters" },
    },
    {
      text: alertLine(8, { alert: { signature_id: 1, signature: "bell\u0007 and escape\u001b[2J" } }),
      expect: { kind: "schema", reason: "alert.signature: contains control characters" },
    },
    {
      text: alertLine(9).replace('"metadata":{', '"metadata":{"__proto__":{"polluted":["yes"]},'),
      expect: { kind: "schema", reason: "alert.metadata.__proto__: key not allowed" },
    },
    {
      text: alertLine(10, { dest_ip: "10.20.1.999" }),
      expect: { kind: "schema", reason: "dest_ip: expected an IP address" },
    },
    {
      text: alertLine(11, { timestamp: "2024-02-30T09:10:03+0100" }),
      expect: { kind: "schema", reason: "timestamp: expected a time like" },
    },
    { text: ignoredLine(2), expect: "ignored" },
    good(12),
    { text: whole.slice(0, 40), expect: { kind: "json", reason: "not valid JSON" } },
  ];
}

/** The file's bytes: `\n`-separated, no newline after the last (cut-off) line. */
export function fixtureFile(lines: FixtureLine[]): string {
  return lines.map((line) => line.text).join("\n");
}
