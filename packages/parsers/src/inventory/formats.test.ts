import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { InventoryParse, InventoryRecord } from "./common.ts";
import { normalizeMac, parseLooseTime, splitHostName } from "./common.ts";
import { parseAdComputersCsv, parseLdif } from "./directory.ts";
import { parseBindZone, parseDhcpLeases, reverseNameToIp } from "./dns.ts";
import { ExportMapping, parseInventoryExport } from "./export.ts";

const fileTime = "2024-03-12T06:00:00.000Z";
const records = (result: InventoryParse): InventoryRecord[] => {
  if (!result.ok) throw new Error(result.error);
  return result.records;
};
const observations = (result: InventoryParse) =>
  records(result).flatMap((record) => (record.status === "record" ? [record.observation] : []));
const invalids = (result: InventoryParse) =>
  records(result).flatMap((record) =>
    record.status === "invalid" ? [[record.line, record.reason] as const] : [],
  );

/** Every parser: whatever the input, a result and never an exception. */
function fuzz(parse: (text: string) => InventoryParse, fragments: string[]) {
  const line = fc.oneof(fc.constantFrom(...fragments), fc.string(), fc.string({ unit: "binary" }));
  fc.assert(
    fc.property(fc.array(line, { maxLength: 20 }), fc.constantFrom("\n", "\r\n", " "), (lines, separator) => {
      const result = parse(lines.join(separator));
      if (result.ok)
        for (const record of result.records)
          expect(["record", "invalid", "ignored"]).toContain(record.status);
      else expect(result.error).not.toContain("internal parser error");
    }),
    { numRuns: 300 },
  );
}

describe("helpers", () => {
  it("normalizes names, MACs and loose times", () => {
    expect(splitHostName("WS-041.Corp.Example.")).toEqual({
      hostname: "ws-041",
      fqdn: "ws-041.corp.example",
      domain: "corp.example",
    });
    expect(splitHostName("10.20.1.10")).toBeUndefined();
    expect(splitHostName("bad..name")).toBeUndefined();
    expect(normalizeMac("00-1A-2B-3C-4D-5E")).toBe("00:1a:2b:3c:4d:5e");
    expect(normalizeMac("001a.2b3c.4d5e")).toBe("00:1a:2b:3c:4d:5e");
    expect(normalizeMac("ff:ff:ff:ff:ff:ff")).toBeUndefined();
    expect(normalizeMac("01:00:5e:00:00:01")).toBeUndefined();
    expect(parseLooseTime("3/12/2024 9:10:03 PM")).toBe("2024-03-12T21:10:03.000Z");
    expect(parseLooseTime("2024-03-12 09:10:03")).toBe("2024-03-12T09:10:03.000Z");
    expect(parseLooseTime("2024-02-30")).toBeUndefined();
    expect(parseLooseTime("13/45/2024 9:00:00 AM")).toBeUndefined();
  });
});

describe("inventory exports", () => {
  const hardware = ExportMapping.parse({
    name: "cm-hw",
    kind: "hardware",
    columns: {
      hostname: "Name",
      domain: "Domain",
      serial_number: "Serial",
      macs: "MAC",
      ips: "IP",
      chassis: "Chassis",
      os_name: "OS",
      service_pack: "SP",
      last_seen: "Scan",
      roles: "Roles",
      tags: "Tags",
      link: "Link",
    },
  });
  it("validates the mapping with zod", () => {
    expect(
      ExportMapping.safeParse({ name: "x", kind: "software", columns: { hostname: "Name" } }).error?.issues[0]
        ?.message,
    ).toContain("software_name");
    expect(
      ExportMapping.safeParse({ name: "x", kind: "hardware", columns: { os_name: "OS" } }).error?.issues[0]
        ?.message,
    ).toContain("at least one of");
    expect(ExportMapping.safeParse({ name: "x", kind: "hardware", columns: { nope: "A" } }).success).toBe(
      false,
    );
  });

  it("reads ConfigMgr-style hardware rows with roles, tags and connectivity", () => {
    const csv = [
      "Name,Domain,Serial,MAC,IP,Chassis,OS,SP,Scan,Roles,Tags,Link",
      'DC01,corp.example,8K2BCX3,B0-26-28-00-01-9C,"10.20.1.10;fe80::1",{23},Microsoft Windows Server 2019 Standard,,2024-03-11 23:00:00,"DC;SchemaMaster;PDCEmulator",dns,lan',
      'PAY-WS,corp.example,PF1,3C-22-FB-00-00-01,10.20.5.40,"{3}",Microsoft Windows XP Professional,Service Pack 3,2024-03-11 23:00:00,,"payroll;business-critical",dial-up',
      ",corp.example,,,,,,,,,,",
      "BAD,corp.example,X1,,10.20.999.1,,,,,,,",
      "SHORT,row",
    ].join("\r\n");
    const result = parseInventoryExport(csv, hardware, "csv", { fileTime });
    const [dc, payroll] = observations(result);
    expect(dc).toMatchObject({
      source: "inventory",
      time: "2024-03-11T23:00:00.000Z",
      identity: {
        hostname: "dc01",
        fqdn: "dc01.corp.example",
        serial_number: "8K2BCX3",
        macs: ["b0:26:28:00:01:9c"],
        ips: ["10.20.1.10", "fe80::1"],
      },
      type: "server",
      roles: { domain_controller: true, fsmo: ["schema-master", "pdc-emulator"], tags: ["dc", "dns"] },
      connectivity: { link: "lan", remote: false },
    });
    expect(payroll).toMatchObject({
      os: { sp_name: "Service Pack 3" },
      roles: { business_critical: true },
      connectivity: { link: "dialup", remote: true },
      type: "desktop",
    });
    expect(invalids(result)).toEqual([
      [4, expect.stringContaining("no host identity")],
      [5, expect.stringContaining("no valid IP address")],
      [6, expect.stringContaining("wrong number of fields")],
    ]);
  });

  it("groups software rows per host into one replace, from CSV or JSON", () => {
    const mapping = ExportMapping.parse({
      name: "cm-sw",
      kind: "software",
      columns: { hostname: "Computer", software_name: "DisplayName0", software_version: "Version0" },
    });
    const csv =
      "Computer,DisplayName0,Version0\nWS-1,Chrome,122\nWS-2,Chrome,123\nWS-1,7-Zip,23.01\nWS-1,,1\n";
    const result = parseInventoryExport(csv, mapping, "csv", { fileTime });
    const list = observations(result);
    expect(list).toHaveLength(2);
    expect(list[0]?.changes).toEqual([
      {
        collection: "software",
        op: "replace",
        origin: "inventory:cm-sw",
        items: [
          { name: "Chrome", version: "122", origin: "inventory:cm-sw" },
          { name: "7-Zip", version: "23.01", origin: "inventory:cm-sw" },
        ],
      },
    ]);
    expect(invalids(result)).toEqual([[5, expect.stringContaining("DisplayName0")]]);
    const json = JSON.stringify({
      value: [{ Computer: "WS-1", DisplayName0: "Chrome", Version0: "122" }, "oops"],
    });
    const fromJson = parseInventoryExport(json, mapping, "json", { fileTime });
    expect(observations(fromJson)).toHaveLength(1);
    expect(invalids(fromJson)).toEqual([[2, "expected an object of columns"]]);
  });

  it("reads WSUS/MBSA missing-update reports", () => {
    const mapping = ExportMapping.parse({
      name: "wsus",
      kind: "updates-missing",
      columns: { fqdn: "ComputerName", update_id: "UpdateId", update_severity: "MsrcSeverity" },
    });
    const [obs] = observations(
      parseInventoryExport(
        "ComputerName,UpdateId,MsrcSeverity\nws-017.corp.example,5035845,Critical\n",
        mapping,
        "csv",
        { fileTime },
      ),
    );
    expect(obs?.changes?.[0]).toEqual({
      collection: "missing_updates",
      op: "replace",
      origin: "inventory:wsus",
      items: [{ id: "KB5035845", severity: "Critical", origin: "inventory:wsus" }],
    });
  });

  it("refuses an export without any mapped column, naming the mapping", () => {
    const result = parseInventoryExport("a,b\n1,2\n", hardware, "csv");
    expect(!result.ok && result.error).toMatch(
      /expected a hardware export with the columns Name, .*found CSV with the header "a,b"/,
    );
    const unclosed = parseInventoryExport('Name,Domain\n"WS-1,corp\n', hardware, "csv");
    expect(!unclosed.ok && unclosed.error).toContain("expected CSV");
  });

  it("never throws (fuzz)", { timeout: 30_000 }, () => {
    fuzz(
      (text) => parseInventoryExport(text, hardware, "csv"),
      ["Name,Domain,Serial,MAC,IP", "WS-1,corp.example,S1,00-11-22-33-44-55,10.0.0.1", '"', ",,,", "{3}"],
    );
    fuzz(
      (text) => parseInventoryExport(text, hardware, "json"),
      ['[{"Name":"WS-1"}]', '{"Name":"x","IP":[1,2]}', '{"value":[null]}', "[", "{"],
    );
  });
});

describe("directory exports", () => {
  const header =
    '#TYPE Microsoft.ActiveDirectory.Management.ADComputer\n"DistinguishedName","DNSHostName","Enabled","LastLogonDate","Name","OperatingSystem","OperatingSystemVersion"';
  it("reads Get-ADComputer CSV", () => {
    const csv = [
      header,
      '"CN=DC01,OU=Domain Controllers,DC=corp,DC=example","dc01.corp.example","True","3/12/2024 5:00:00 AM","DC01","Windows Server 2019 Standard","10.0 (17763)"',
      '"CN=WS-OLD,OU=Workstations,DC=corp,DC=example","","False","11/2/2023 4:12:55 PM","WS-OLD","Windows 10 Enterprise","10.0 (19044)"',
      '"CN=BROKEN,DC=corp,DC=example","broken..corp.example","True","","BROKEN","",""',
      '"CN=BADTIME,DC=corp,DC=example","badtime.corp.example","True","13/45/2024","BADTIME","",""',
    ].join("\r\n");
    const result = parseAdComputersCsv(csv, { fileTime });
    const [dc, old] = observations(result);
    expect(dc).toMatchObject({
      source: "directory",
      time: fileTime,
      identity: { hostname: "dc01", fqdn: "dc01.corp.example" },
      directory: {
        dn: "CN=DC01,OU=Domain Controllers,DC=corp,DC=example",
        ou: "OU=Domain Controllers,DC=corp,DC=example",
        enabled: true,
        last_logon: "2024-03-12T05:00:00.000Z",
      },
      os: { name: "Windows Server 2019 Standard", version: "10.0", build: "17763", type: "windows" },
      roles: { domain_controller: true },
    });
    expect(old).toMatchObject({
      identity: { hostname: "ws-old", netbios_name: "WS-OLD" },
      directory: { enabled: false },
    });
    expect(invalids(result)).toEqual([
      [5, expect.stringContaining("DNSHostName: not a host name")],
      [6, expect.stringContaining("LastLogonDate: not a time")],
    ]);
  });

  it("reads LDIF computer accounts, folded lines and base64 values", () => {
    const ldif = [
      "version: 1",
      "",
      "dn: CN=DC02,OU=Domain Controllers,DC=corp,DC=example",
      "objectClass: top",
      "objectClass: computer",
      "cn: DC02",
      "dNSHostName: dc02.corp.",
      " example",
      "operatingSystem:: V2luZG93cyBTZXJ2ZXIgMjAxOSBTdGFuZGFyZA==",
      "userAccountControl: 532480",
      "lastLogonTimestamp: 133547400000000000",
      "",
      "# a user, not a computer",
      "dn: CN=alice,OU=Users,DC=corp,DC=example",
      "objectClass: user",
      "",
      "dn: CN=WS-9,OU=Workstations,DC=corp,DC=example",
      "objectClass: computer",
      "cn: WS-9",
      "userAccountControl: 4098",
      "",
      "dn: CN=X,DC=corp,DC=example",
      "objectClass: computer",
      "userAccountControl: lots",
    ].join("\n");
    const result = parseLdif(ldif, { fileTime });
    const [dc, ws] = observations(result);
    expect(dc).toMatchObject({
      identity: { fqdn: "dc02.corp.example" },
      os: { name: "Windows Server 2019 Standard" },
      roles: { domain_controller: true },
      directory: { enabled: true, last_logon: "2024-03-12T18:00:00.000Z" },
    });
    expect(ws).toMatchObject({ identity: { hostname: "ws-9" }, directory: { enabled: false } });
    expect(invalids(result)).toEqual([[22, expect.stringContaining("userAccountControl")]]);
    expect(records(result).filter((record) => record.status === "ignored")).toHaveLength(2);
  });

  it("refuses other formats as a whole", () => {
    const notAd = parseAdComputersCsv("hostname,ip\nws-1,10.0.0.1\n");
    expect(!notAd.ok && notAd.error).toBe(
      'expected a Get-ADComputer CSV export (header with Name, DistinguishedName, DNSHostName, ...), found CSV with the header "hostname,ip"',
    );
    const notLdif = parseLdif("lease 10.0.0.1 {\n}\n");
    expect(!notLdif.ok && notLdif.error).toContain("found ISC DHCP leases");
  });

  it("never throws (fuzz)", { timeout: 30_000 }, () => {
    fuzz(
      (text) => parseAdComputersCsv(text),
      [header, '"CN=A,DC=x","a.x","True","1/1/2024","A","Windows",""', '"', "#TYPE x"],
    );
    fuzz(
      (text) => parseLdif(text),
      [
        "dn: CN=A,DC=x",
        "objectClass: computer",
        " folded",
        "cn:: !!",
        "userAccountControl: 2",
        "lastLogonTimestamp: 99999999999999999999",
        "",
      ],
    );
  });
});

describe("BIND zone files", () => {
  it("reads A, AAAA, PTR and CNAME with $ORIGIN, relative names, blank owners and parentheses", () => {
    const zone = [
      "$ORIGIN corp.example.",
      "$TTL 1h",
      "@ IN SOA dc01 hostmaster (",
      "   2024031201 ; serial",
      "   900 600 86400 3600 )",
      "  IN NS dc01",
      "@ IN A 10.20.0.1",
      "dc01 3600 IN A 10.20.1.10 ; the PDC emulator",
      "     IN AAAA 2001:db8::10",
      "WS-041 IN 1200 A 10.20.41.23",
      "intranet CNAME app01",
      "*.apps IN A 10.20.3.99",
      "bad IN A 10.20.1",
      "$ORIGIN 20.10.in-addr.arpa.",
      "10.1 PTR dc01.corp.example.",
      "",
      "ws-9 IN A 10.20.40.9",
    ].join("\n");
    const result = parseBindZone(zone, { fileTime, file: "corp.zone" });
    expect(
      observations(result).map((obs) => [obs.identity.fqdn, obs.identity.ips, obs.identity.aliases]),
    ).toEqual([
      ["dc01.corp.example", ["10.20.1.10"], undefined],
      ["dc01.corp.example", ["2001:db8::10"], undefined],
      ["ws-041.corp.example", ["10.20.41.23"], undefined],
      ["app01.corp.example", undefined, ["intranet.corp.example"]],
      ["dc01.corp.example", ["10.20.1.10"], undefined],
      ["ws-9.20.10.in-addr.arpa", ["10.20.40.9"], undefined],
    ]);
    expect(invalids(result)).toEqual([[13, expect.stringContaining("not an IPv4 address")]]);
    expect(
      records(result)
        .filter((record) => record.status === "ignored")
        .map((record) => record.status === "ignored" && record.reason),
    ).toEqual(["SOA record", "NS record", "address of the zone apex", "wildcard"]);
  });

  it("needs an origin for relative names and reports parentheses that never close", () => {
    expect(invalids(parseBindZone("ws-1 IN A 10.0.0.1\n"))).toEqual([
      [1, expect.stringContaining("no $ORIGIN")],
    ]);
    expect(
      observations(parseBindZone("ws-1 IN A 10.0.0.1\n", { origin: "corp.example" }))[0]?.identity.fqdn,
    ).toBe("ws-1.corp.example");
    expect(invalids(parseBindZone("$ORIGIN x.\n@ IN SOA a b ( 1 2 3\n"))).toEqual([[2, "'(' never closed"]]);
    expect(reverseNameToIp("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa")).toBe(
      "2001:db8::1",
    );
  });

  it("refuses other formats", () => {
    const result = parseBindZone('"Name","DistinguishedName"\n');
    expect(!result.ok && result.error).toContain("expected a DNS zone file in BIND master format");
  });

  it("never throws (fuzz)", { timeout: 30_000 }, () => {
    fuzz(
      (text) => parseBindZone(text),
      [
        "$ORIGIN corp.example.",
        "$TTL 3600",
        "@ IN SOA a b (",
        ")",
        "ws IN A 10.0.0.1",
        " IN AAAA ::1",
        "x CNAME y",
        "1.0 PTR a.b.",
        "; c",
        '"q;"',
      ],
    );
  });
});

describe("ISC DHCP leases", () => {
  const leases = [
    "# dhcpd.leases",
    "authoring-byte-order little-endian;",
    "lease 10.20.41.23 {",
    "  starts 2 2024/03/12 07:55:10;",
    "  ends 2 2024/03/12 19:55:10;",
    "  binding state active;",
    "  hardware ethernet 00:1a:2b:3c:4d:5e;",
    '  client-hostname "WS-041";',
    "}",
    "lease 10.20.41.24 {",
    "  starts epoch 1710230110; # Tue Mar 12 07:55:10 2024",
    "  ends epoch 1710273310;",
    "  binding state free;",
    "  hardware ethernet 00:1a:2b:3c:4d:5f;",
    '  client-hostname "LT-005";',
    "}",
    "lease 10.20.41.25 {",
    "  starts 2 2024/02/30 07:55:10;",
    "}",
    "host printer { hardware ethernet 00:11:22:33:44:55; fixed-address 10.20.50.1; }",
    "lease 10.20.41.26 {",
    "  binding state active;",
  ].join("\n");

  it("reads active and released leases", () => {
    const result = parseDhcpLeases(leases, { domain: "corp.example" });
    const [active, free] = observations(result);
    expect(active).toMatchObject({
      source: "dhcp",
      time: "2024-03-12T07:55:10.000Z",
      identity: {
        hostname: "ws-041",
        fqdn: "ws-041.corp.example",
        macs: ["00:1a:2b:3c:4d:5e"],
        ips: ["10.20.41.23"],
      },
    });
    expect(free).toMatchObject({
      time: "2024-03-12T19:55:10.000Z",
      identity: { hostname: "lt-005", macs: ["00:1a:2b:3c:4d:5f"] },
      released_ips: ["10.20.41.24"],
    });
    expect(free?.identity.ips).toBeUndefined();
    expect(invalids(result)).toEqual([
      [17, expect.stringContaining("starts: not a lease time")],
      [21, expect.stringContaining("never closed")],
    ]);
  });

  it("refuses other formats", () => {
    const result = parseDhcpLeases('{"name":"programs","hostIdentifier":"x"}\n');
    expect(!result.ok && result.error).toMatch(/^expected ISC DHCP leases .* found JSON lines/);
  });

  it("never throws (fuzz)", { timeout: 30_000 }, () => {
    fuzz(
      (text) => parseDhcpLeases(text),
      [
        "lease 10.0.0.1 {",
        "}",
        "starts 2 2024/03/12 07:55:10;",
        "binding state active;",
        "hardware ethernet 00:11:22:33:44:55;",
        'client-hostname "x";',
        "server-duid 1;",
      ],
    );
  });
});
