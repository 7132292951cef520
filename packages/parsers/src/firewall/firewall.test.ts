import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { NetworkSet } from "../network.ts";
import { firewallEventKey, parseFirewallLine, parseSyslogHeader } from "./index.ts";

const now = Date.UTC(2025, 2, 12, 12, 0, 0);
const homeNets = new NetworkSet(["10.20.0.0/16", "172.16.10.0/24"]);
const parse = (
  line: string | Uint8Array,
  format?: "auto" | "iptables" | "pfsense" | "asa" | "panos" | "cef",
) => parseFirewallLine(line, { now, homeNets, ...(format ? { format } : {}) });

function record(line: string) {
  const result = parse(line);
  if (result.status !== "record") throw new Error(`expected a record, got ${JSON.stringify(result)}`);
  return result.value;
}

describe("syslog header", () => {
  it("reads RFC 5424", () => {
    const header = parseSyslogHeader(
      "<134>1 2025-03-12T09:10:03.118Z fw01 filterlog 4242 - - 5,,,1000,em0",
      now,
    );
    expect(header).toMatchObject({
      format: "rfc5424",
      hostname: "fw01",
      appName: "filterlog",
      procId: "4242",
      facility: 16,
      severity: 6,
      body: "5,,,1000,em0",
    });
    expect(header.time).toBe(Date.UTC(2025, 2, 12, 9, 10, 3, 118));
  });

  it("reads RFC 3164 with the year inferred (never a day ahead of now)", () => {
    expect(parseSyslogHeader("<4>Mar 12 09:10:03 gw kernel: x", now)).toMatchObject({
      hostname: "gw",
      appName: "kernel",
      body: "x",
      time: Date.UTC(2025, 2, 12, 9, 10, 3),
    });
    expect(parseSyslogHeader("Dec 31 23:59:59 gw kernel: x", now).time).toBe(
      Date.UTC(2024, 11, 31, 23, 59, 59),
    );
  });

  it("keeps a header with no body as an empty body", () => {
    expect(parseSyslogHeader("<13>Mar 12 09:10:03 gw app: ", now).body).toBe("");
  });
});

describe("iptables", () => {
  it("reads an IPv6 ICMPv6 line with an nftables-style prefix", () => {
    const event = record(
      "Mar 12 09:10:03 edge kernel: DROP: IN=eth0 OUT= MAC=00:11:22:33:44:55:66:77:88:99:aa:bb:86:dd SRC=2001:db8::5 DST=fd00::10 LEN=104 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=ICMPv6 TYPE=128 CODE=0 ID=1 SEQ=1",
    );
    expect(event).toMatchObject({
      format: "iptables",
      action: "Denied",
      src_endpoint: { ip: "2001:db8::5", interface_name: "eth0", mac: "66:77:88:99:aa:bb" },
      dst_endpoint: { ip: "fd00::10", mac: "00:11:22:33:44:55" },
      connection_info: {
        protocol_name: "ipv6-icmp",
        protocol_num: 58,
        protocol_ver: "ipv6",
        boundary: "inbound",
      },
      firewall_rule: { uid: "DROP" },
      device: { hostname: "edge" },
      traffic: { bytes: 104, packets: 1 },
    });
  });

  it("reads ESP without ports, and a bare kernel line without a syslog header", () => {
    const event = record(
      "IN=eth1 OUT=eth0 SRC=203.0.113.9 DST=10.20.1.10 LEN=120 TOS=0x00 PREC=0x00 TTL=50 ID=1 PROTO=ESP SPI=0x1234",
    );
    expect(event.connection_info).toMatchObject({ protocol_name: "esp", protocol_num: 50 });
    expect(event.dst_endpoint.port).toBeUndefined();
    expect(event).toMatchObject({
      asset_ip: "10.20.1.10",
      direction: "inbound",
      time_inferred: true,
      time: now,
    });
    expect(event.action).toBeUndefined();
  });

  it("names the field when an address is bad", () => {
    expect(parse("kernel: IN=eth0 OUT= SRC=300.1.1.1 DST=10.0.0.1 PROTO=TCP SPT=1 DPT=2")).toMatchObject({
      status: "invalid",
      kind: "field",
      reason: expect.stringContaining("SRC"),
    });
    expect(parse("kernel: IN=eth0 OUT= SRC=1.1.1.1 DST=10.0.0.1 PROTO=TCP SPT=99999 DPT=2")).toMatchObject({
      status: "invalid",
      reason: expect.stringContaining("SPT"),
    });
  });
});

describe("pfSense filterlog", () => {
  it("reads IPv6 TCP with flags", () => {
    const event = record(
      "<134>Mar 12 09:10:03 fw01 filterlog[4242]: 77,,,1700000001,igb0,match,block,in,6,0x00,0x00000,64,tcp,6,40,2001:db8::7,2001:db8:20::5,51514,3389,0,S,1000,,65535,,mss",
    );
    expect(event).toMatchObject({
      format: "pfsense",
      action: "Denied",
      src_endpoint: { ip: "2001:db8::7", port: 51514, interface_name: "igb0" },
      dst_endpoint: { ip: "2001:db8:20::5", port: 3389 },
      connection_info: { protocol_name: "tcp", protocol_ver: "ipv6", boundary: "inbound", tcp_flags: "SYN" },
      firewall_rule: { uid: "1700000001" },
      device: { hostname: "fw01" },
    });
  });

  it("reads IPv4 UDP, ICMP and other protocols (GRE with datalength)", () => {
    expect(
      record(
        "filterlog: 5,,,1000000103,em0,match,pass,out,4,0x0,,64,0,0,DF,17,udp,76,10.20.1.10,8.8.8.8,53000,53,56",
      ).dst_endpoint,
    ).toEqual({ ip: "8.8.8.8", port: 53, interface_name: "em0" });
    expect(
      record(
        "filterlog: 5,,,1000000103,em0,match,pass,out,4,0x0,,64,0,0,DF,1,icmp,84,10.20.1.10,8.8.8.8,request,1,2",
      ).connection_info.protocol_name,
    ).toBe("icmp");
    expect(
      record(
        "filterlog: 5,,,1000000103,em0,match,pass,out,4,0x0,,64,0,0,DF,47,gre,84,10.20.1.10,198.51.100.1,datalength=64",
      ).connection_info.protocol_name,
    ).toBe("gre");
  });

  it("refuses a cut-short line naming what is missing", () => {
    expect(parse("filterlog: 5,,,1000000103,em0,match,pass,out,4,0x0,,64")).toMatchObject({
      status: "invalid",
      reason: expect.stringContaining("cut short"),
    });
  });
});

describe("Cisco ASA / FTD", () => {
  it("reads 302013 outbound with the foreign side as destination and NAT", () => {
    const event = record(
      "<166>Mar 12 2025 09:10:03 asa01 : %ASA-6-302013: Built outbound TCP connection 123 for outside:198.51.100.7/443 (198.51.100.7/443) to inside:10.20.40.12/51514 (203.0.113.2/40001)",
    );
    expect(event).toMatchObject({
      metadata: { message_uid: "302013", product: { vendor_name: "Cisco" } },
      action: "Allowed",
      activity_id: 1,
      src_endpoint: { ip: "10.20.40.12", port: 51514, interface_name: "inside" },
      dst_endpoint: { ip: "198.51.100.7", port: 443, interface_name: "outside" },
      nat: { src_endpoint: { ip: "203.0.113.2", port: 40001 } },
      device: { hostname: "asa01" },
      asset_ip: "10.20.40.12",
      direction: "outbound",
      time: Date.UTC(2025, 2, 12, 9, 10, 3),
    });
  });

  it("reads 302014 teardown with duration and bytes, 302020 ICMP faddr form", () => {
    const teardown = record(
      "%ASA-6-302014: Teardown TCP connection 123 for outside:198.51.100.7/443 to inside:10.20.40.12/51514 duration 0:01:05 bytes 5120 TCP FINs",
    );
    expect(teardown).toMatchObject({ activity_id: 2, duration_ms: 65_000, traffic: { bytes: 5120 } });
    const icmp = record(
      "%ASA-6-302020: Built inbound ICMP connection for faddr 203.0.113.9/1 gaddr 172.16.10.5/0 laddr 172.16.10.5/0",
    );
    expect(icmp).toMatchObject({
      src_endpoint: { ip: "203.0.113.9" },
      dst_endpoint: { ip: "172.16.10.5" },
      connection_info: { protocol_name: "icmp" },
    });
  });

  it("reads 106100 with the ACL as the rule, 106023 ICMP, 313001, 305011, 733100", () => {
    expect(
      record(
        "%ASA-4-106100: access-list outside_in denied tcp outside/203.0.113.9(40001) -> dmz/172.16.10.5(3389) hit-cnt 1 first hit [0x1, 0x0]",
      ),
    ).toMatchObject({
      action: "Denied",
      firewall_rule: { uid: "outside_in" },
      dst_endpoint: { ip: "172.16.10.5", port: 3389, interface_name: "dmz" },
    });
    expect(
      record(
        '%ASA-4-106023: Deny icmp src outside:203.0.113.9 dst dmz:172.16.10.5 (type 8, code 0) by access-group "outside_in" [0x0, 0x0]',
      ).connection_info.protocol_name,
    ).toBe("icmp");
    expect(
      record("%ASA-3-313001: Denied ICMP type=8, code=0 from 203.0.113.9 on interface outside").src_endpoint,
    ).toEqual({ ip: "203.0.113.9", interface_name: "outside" });
    expect(
      record(
        "%ASA-6-305011: Built dynamic UDP translation from inside:10.20.40.12/53000 to outside:203.0.113.2/40002",
      ).nat?.src_endpoint,
    ).toEqual({ interface_name: "outside", ip: "203.0.113.2", port: 40002 });
    expect(
      record(
        "%ASA-4-733100: [ Scanning] drop rate-1 exceeded. Current burst rate is 10 per second, max configured rate is 10; Current average rate is 5 per second, max configured rate is 5; Cumulative total count is 3005",
      ).threat?.name,
    ).toBe("Scanning drop rate exceeded");
  });

  it("reads IPv6 endpoints with interfaces", () => {
    const event = record(
      '%ASA-4-106023: Deny tcp src outside:2001:db8::9/40001 dst dmz:2001:db8:10::5/445 by access-group "outside_in"',
    );
    expect(event.src_endpoint).toEqual({ interface_name: "outside", ip: "2001:db8::9", port: 40001 });
  });

  it("ignores recognised non-traffic messages and refuses a known id with a broken layout", () => {
    expect(
      parse("%ASA-1-105005: (Secondary) Lost Failover communications with mate on interface inside"),
    ).toEqual({ status: "ignored", eventType: "asa-105005", format: "asa" });
    expect(parse("%ASA-6-302013: Built inbound TCP connection banana")).toMatchObject({
      status: "invalid",
      kind: "malformed",
      reason: expect.stringContaining("302013"),
    });
  });
});

describe("PAN-OS and CEF", () => {
  const traffic =
    "1,2025/03/12 09:10:03,007200001056,TRAFFIC,end,2561,2025/03/12 09:10:03,10.20.40.12,198.51.100.7,203.0.113.2,198.51.100.7,allow-web,,,ssl,vsys1,trust,untrust,ethernet1/2,ethernet1/1,fwd,2025/03/12 09:10:03,33760927,1,51514,443,40001,443,0x400053,tcp,allow,5120,1024,4096,12,2025/03/12 09:09:58,5,any,0,730183,0x0,10.0.0.0-10.255.255.255,United States,0,6,6,tcp-fin,0,0,0,0,,pa-edge-1,from-policy";
  it("reads a TRAFFIC log with NAT and counters", () => {
    expect(record(traffic)).toMatchObject({
      format: "panos",
      action: "Allowed",
      activity_id: 2,
      src_endpoint: { ip: "10.20.40.12", port: 51514, interface_name: "trust" },
      dst_endpoint: { ip: "198.51.100.7", port: 443 },
      nat: { src_endpoint: { ip: "203.0.113.2", port: 40001 } },
      firewall_rule: { uid: "allow-web" },
      traffic: { bytes: 5120, bytes_out: 1024, bytes_in: 4096, packets: 12, packets_out: 6, packets_in: 6 },
      device: { hostname: "pa-edge-1" },
      duration_ms: 5000,
      app_name: "ssl",
    });
  });

  it("reads CEF with escapes, a rule label and the device", () => {
    const event = record(
      "<134>Mar 12 09:10:03 fw02 CEF:0|Acme|NGFW|1.0|100|Blocked \\| inbound|7|src=203.0.113.9 spt=40001 dst=172.16.10.5 dpt=445 proto=TCP act=blocked cs1Label=Rule cs1=dmz-deny msg=a\\=b c dvchost=fw02 rt=1741770603000",
    );
    expect(event).toMatchObject({
      format: "cef",
      action: "Denied",
      severity_id: 4,
      firewall_rule: { uid: "dmz-deny" },
      connection_info: { protocol_name: "tcp" },
      message: "Blocked | inbound",
      asset_ip: "172.16.10.5",
      time: 1741770603000,
    });
    expect(firewallEventKey(event)).toBe("172.16.10.5");
  });
});

describe("format override and bad input", () => {
  it("applies --format instead of detection", () => {
    expect(parse("%ASA-6-302013: x", "iptables")).toMatchObject({ status: "invalid", kind: "unrecognized" });
  });

  it("refuses invalid UTF-8, NUL bytes, a header without a body, 10 MB lines and unknown text", () => {
    expect(parse(Buffer.from([0x3c, 0x31, 0x3e, 0xff, 0xfe, 0x41]))).toMatchObject({
      status: "invalid",
      kind: "encoding",
    });
    expect(parse("IN=eth0 OUT= SRC=1.1.1.1\u0000DST=2.2.2.2")).toMatchObject({
      status: "invalid",
      kind: "encoding",
    });
    expect(parse("<13>Mar 12 09:10:03 gw kernel: ")).toMatchObject({
      status: "invalid",
      reason: "syslog message has a header but no body",
    });
    expect(parse("x".repeat(10 * 1024 * 1024))).toMatchObject({ status: "invalid", kind: "oversized" });
    expect(parse('{"__proto__":{"polluted":true}}')).toMatchObject({
      status: "invalid",
      kind: "unrecognized",
    });
    expect(parse("CEF:0|a|b|1|2|n|3|__proto__=x constructor=y src=10.20.1.10")).toMatchObject({
      status: "record",
    });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("gives the same line the same id", () => {
    const line = "%ASA-3-710003: TCP access denied by ACL from 203.0.113.9/40001 to outside:203.0.113.2/22";
    const a = parse(line);
    const b = parseFirewallLine(line, { now: now + 1000 });
    expect(a.status === "record" && b.status === "record" && a.value.id === b.value.id).toBe(true);
  });

  it("never throws, whatever the input (fuzz: strings, bytes, format-shaped mutations)", () => {
    const seeds = [
      "Mar 12 09:10:03 gw kernel: [UFW BLOCK] IN=eth0 OUT= SRC=1.2.3.4 DST=10.0.0.1 PROTO=TCP SPT=1 DPT=22",
      "filterlog: 5,,,1000,em0,match,block,in,4,0x0,,64,0,0,DF,6,tcp,60,1.2.3.4,10.0.0.1,1,22,0,S,1,,1,,",
      "%ASA-6-302013: Built inbound TCP connection 1 for outside:1.2.3.4/1 (1.2.3.4/1) to inside:10.0.0.1/22 (10.0.0.1/22)",
      "1,2025/03/12 09:10:03,1,TRAFFIC,end,1,2025/03/12 09:10:03,1.2.3.4,10.0.0.1,,,r,,,a,v,z,z,e,e,l,t,1,1,1,22,0,0,0x0,tcp,allow,1,1,1,1,t,1,any,0,1,0x0,a,b,0,1,1,x",
      "CEF:0|a|b|1|2|n|3|src=1.2.3.4 dst=10.0.0.1",
    ];
    const mutated = fc
      .tuple(fc.constantFrom(...seeds), fc.nat(200), fc.string({ maxLength: 20 }))
      .map(([seed, at, insert]) => seed.slice(0, at) + insert + seed.slice(at));
    const input = fc.oneof(
      fc.string({ maxLength: 400 }),
      fc.uint8Array({ maxLength: 400 }),
      mutated,
      fc.string({ unit: "binary", maxLength: 300 }),
    );
    fc.assert(
      fc.property(
        input,
        fc.constantFrom("auto", "iptables", "pfsense", "asa", "panos", "cef") as fc.Arbitrary<"auto">,
        (line, format) => {
          const result = parse(line, format);
          expect(["record", "ignored", "invalid"]).toContain(result.status);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
