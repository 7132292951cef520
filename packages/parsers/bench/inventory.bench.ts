/**
 * Throughput of the inventory parsers, in input lines per second, over generated inputs of each
 * format. Run: `node packages/parsers/bench/inventory.bench.ts [records]` (default 20 000 records).
 */
import {
  ExportMapping,
  parseAdComputersCsv,
  parseBindZone,
  parseDhcpLeases,
  parseInventoryExport,
  parseLdif,
  parseOsqueryResults,
} from "../src/index.ts";

const records = Number(process.argv[2] ?? 20_000);
const name = (index: number) => `ws-${String(index).padStart(5, "0")}`;
const ip = (index: number) => `10.${20 + (index >> 16)}.${(index >> 8) & 255}.${index & 255}`;
const mac = (index: number) =>
  `3c:22:fb:${((index >> 16) & 255).toString(16).padStart(2, "0")}:${((index >> 8) & 255).toString(16).padStart(2, "0")}:${(index & 255).toString(16).padStart(2, "0")}`;

const osquery = Array.from({ length: records }, (_, index) =>
  JSON.stringify({
    name:
      index % 3 === 0
        ? "pack_inventory_programs"
        : index % 3 === 1
          ? "pack_inventory_patches"
          : "pack_inventory_system_info",
    hostIdentifier: name(index).toUpperCase(),
    calendarTime: "Tue Mar 12 09:10:03 2024 UTC",
    unixTime: 1710234603,
    epoch: 0,
    counter: index,
    numerics: false,
    decorations: { host_uuid: "4c4c4544-0031-4b10-8044-b4c04f4b3332" },
    ...(index % 3 === 0
      ? {
          columns: { name: "Google Chrome", version: "122.0.6261.112", publisher: "Google LLC" },
          action: "added",
        }
      : index % 3 === 1
        ? {
            diffResults: {
              added: [{ hotfix_id: "KB5035845", description: "Security Update", installed_on: "3/12/2024" }],
              removed: [],
            },
          }
        : {
            snapshot: [
              {
                hostname: name(index),
                uuid: "4C4C4544-0031-4B10-8044-B4C04F4B3332",
                hardware_vendor: "Dell Inc.",
                hardware_model: "OptiPlex 7010",
                hardware_serial: `SER${index}`,
                computer_name: name(index).toUpperCase(),
                physical_memory: "17179869184",
              },
            ],
            action: "snapshot",
          }),
  }),
).join("\n");

const csv = [
  "Name,Domain,Serial,MAC,IP,Chassis,OS,Version,Scan",
  ...Array.from(
    { length: records },
    (_, index) =>
      `${name(index).toUpperCase()},corp.example,SER${index},${mac(index)},${ip(index)},{3},Microsoft Windows 10 Enterprise,10.0.19045,2024-03-11 23:00:00`,
  ),
].join("\r\n");
const mapping = ExportMapping.parse({
  name: "bench",
  kind: "hardware",
  columns: {
    hostname: "Name",
    domain: "Domain",
    serial_number: "Serial",
    macs: "MAC",
    ips: "IP",
    chassis: "Chassis",
    os_name: "OS",
    os_version: "Version",
    last_seen: "Scan",
  },
});
const json = JSON.stringify(
  csv
    .split("\r\n")
    .slice(1)
    .map((row) =>
      Object.fromEntries(
        row
          .split(",")
          .map((cell, column) => [
            ["Name", "Domain", "Serial", "MAC", "IP", "Chassis", "OS", "Version", "Scan"][column]!,
            cell,
          ]),
      ),
    ),
);
const ad = [
  "#TYPE Microsoft.ActiveDirectory.Management.ADComputer",
  '"DistinguishedName","DNSHostName","Enabled","LastLogonDate","Name","OperatingSystem","OperatingSystemVersion"',
  ...Array.from(
    { length: records },
    (_, index) =>
      `"CN=${name(index).toUpperCase()},OU=Workstations,DC=corp,DC=example","${name(index)}.corp.example","True","3/12/2024 9:10:03 AM","${name(index).toUpperCase()}","Windows 10 Enterprise","10.0 (19045)"`,
  ),
].join("\r\n");
const ldif = Array.from({ length: records }, (_, index) =>
  [
    `dn: CN=${name(index).toUpperCase()},OU=Workstations,DC=corp,DC=example`,
    "objectClass: computer",
    `cn: ${name(index).toUpperCase()}`,
    `dNSHostName: ${name(index)}.corp.example`,
    "operatingSystem: Windows 10 Enterprise",
    "userAccountControl: 4096",
    "lastLogonTimestamp: 133547400000000000",
    "",
  ].join("\n"),
).join("\n");
const zone = [
  "$ORIGIN corp.example.",
  "$TTL 3600",
  "@ IN SOA dc01 hostmaster ( 1 900 600 86400 3600 )",
  ...Array.from({ length: records }, (_, index) =>
    index % 10 === 9 ? `alias${index} IN CNAME ${name(index)}` : `${name(index)} 1200 IN A ${ip(index)}`,
  ),
].join("\n");
const leases = Array.from({ length: records }, (_, index) =>
  [
    `lease ${ip(index)} {`,
    "  starts 2 2024/03/12 07:55:10;",
    "  ends 2 2024/03/12 19:55:10;",
    "  binding state active;",
    `  hardware ethernet ${mac(index)};`,
    `  client-hostname "${name(index).toUpperCase()}";`,
    "}",
  ].join("\n"),
).join("\n");

const cases: [string, string, (text: string) => { ok: boolean }][] = [
  ["osquery", osquery, (text) => parseOsqueryResults(text)],
  ["inventory-csv", csv, (text) => parseInventoryExport(text, mapping, "csv")],
  ["inventory-json", json, (text) => parseInventoryExport(text, mapping, "json")],
  ["ad-csv", ad, (text) => parseAdComputersCsv(text)],
  ["ldif", ldif, (text) => parseLdif(text)],
  ["bind-zone", zone, (text) => parseBindZone(text)],
  ["dhcp-leases", leases, (text) => parseDhcpLeases(text)],
];
for (const [format, text, parse] of cases) {
  parse(text.slice(0, 20_000));
  const lines = text.split("\n").length;
  const started = process.hrtime.bigint();
  const result = parse(text);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (!result.ok) throw new Error(`${format}: ${JSON.stringify(result)}`);
  console.log(
    `${format.padEnd(15)} ${String(records).padStart(7)} records ${String(lines).padStart(8)} lines in ${seconds.toFixed(2)} s = ${Math.round(lines / seconds).toLocaleString("en-US")} lines/s (${Math.round(records / seconds).toLocaleString("en-US")} records/s)`,
  );
}
