import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { OSQUERY_COLUMNS, parseOsqueryLine, parseOsqueryResults, tableOfQuery } from "./osquery.ts";

const SCHEMA = resolve(
  import.meta.dirname,
  "../../../..",
  "../shared/corpora/osquery-schema/src/data/osquery_schema_versions/5.23.1.json",
);

const base = {
  hostIdentifier: "WS-041",
  calendarTime: "Tue Mar 12 09:10:03 2024 UTC",
  unixTime: 1710234603,
  epoch: 0,
  counter: 1,
  numerics: false,
};
const line = (body: Record<string, unknown>) => JSON.stringify({ ...base, ...body });

describe("osquery columns", () => {
  it("reads only columns that exist in the osquery 5.23.1 schema, with that type", () => {
    if (!existsSync(SCHEMA))
      throw new Error(`osquery schema corpus missing: ${SCHEMA} (see /work/shared/corpora/README.md)`);
    const tables = JSON.parse(readFileSync(SCHEMA, "utf8")) as {
      name: string;
      columns: { name: string; type: string }[];
    }[];
    const byName = new Map(
      tables.map((table) => [table.name, new Map(table.columns.map((column) => [column.name, column.type]))]),
    );
    const checked: string[] = [];
    for (const [table, columns] of Object.entries(OSQUERY_COLUMNS)) {
      const schema = byName.get(table);
      expect(schema, `table ${table}`).toBeDefined();
      for (const [column, type] of Object.entries(columns)) {
        expect(schema!.get(column), `${table}.${column}`).toBe(type);
        checked.push(`${table}.${column}`);
      }
    }
    expect(checked.length).toBeGreaterThan(50);
  });

  it("maps query names to tables", () => {
    expect(tableOfQuery("pack_inventory_programs")).toBe("programs");
    expect(tableOfQuery("pack/security/windows_security_products")).toBe("windows_security_products");
    expect(tableOfQuery("windows_security_center")).toBe("windows_security_center");
    expect(tableOfQuery("pack_security_local_admins")).toBe("local_admins");
    expect(tableOfQuery("my_query", { my_query: "patches" })).toBe("patches");
    expect(tableOfQuery("pack_it_processes")).toBeUndefined();
  });
});

describe("parseOsqueryLine", () => {
  it("reads a snapshot of programs as a replace of that origin", () => {
    const record = parseOsqueryLine(
      line({
        name: "pack_inventory_programs",
        action: "snapshot",
        snapshot: [
          { name: "Google Chrome", version: "122.0.6261.112", publisher: "Google LLC" },
          { name: "7-Zip", version: "23.01" },
        ],
      }),
      1,
    );
    expect(record.status).toBe("record");
    if (record.status !== "record") return;
    expect(record.observation.time).toBe("2024-03-12T09:10:03.000Z");
    expect(record.observation.identity).toMatchObject({ host_identifier: "WS-041", hostname: "ws-041" });
    expect(record.observation.changes).toEqual([
      {
        collection: "software",
        op: "replace",
        origin: "osquery:programs",
        items: [
          {
            name: "Google Chrome",
            version: "122.0.6261.112",
            vendor_name: "Google LLC",
            origin: "osquery:programs",
          },
          { name: "7-Zip", version: "23.01", origin: "osquery:programs" },
        ],
      },
    ]);
  });

  it("reads the batch format's added and removed rows", () => {
    const record = parseOsqueryLine(
      line({
        name: "patches",
        diffResults: {
          removed: [{ hotfix_id: "KB5034439" }],
          added: [{ hotfix_id: "5035845", description: "Security Update", installed_on: "3/12/2024" }],
        },
      }),
      1,
    );
    if (record.status !== "record") throw new Error(JSON.stringify(record));
    expect(
      record.observation.changes?.map((change) => [
        change.op,
        change.items.map((item) => (item as { id: string }).id),
      ]),
    ).toEqual([
      ["remove", ["KB5034439"]],
      ["add", ["KB5035845"]],
    ]);
  });

  it("reads event-format rows and numerics", () => {
    const added = parseOsqueryLine(
      line({
        name: "listening_ports",
        numerics: true,
        columns: { port: 3389, protocol: 6, address: "0.0.0.0", path: "svchost.exe" },
        action: "added",
      }),
      3,
    );
    if (added.status !== "record") throw new Error(JSON.stringify(added));
    expect(added.observation.changes).toEqual([
      {
        collection: "listening_ports",
        op: "add",
        origin: "osquery:listening_ports",
        items: [
          {
            port: 3389,
            protocol: "tcp",
            address: "0.0.0.0",
            process: "svchost.exe",
            origin: "osquery:listening_ports",
          },
        ],
      },
    ]);
    const removed = parseOsqueryLine(
      line({ name: "listening_ports", columns: { port: "3389", protocol: "6" }, action: "removed" }),
      4,
    );
    if (removed.status !== "record") throw new Error(JSON.stringify(removed));
    expect(removed.observation.changes?.[0]?.op).toBe("remove");
  });

  it("reads host facts: system_info, os_version, chassis_info, antivirus, DC service, file versions", () => {
    const system = parseOsqueryLine(
      line({
        name: "system_info",
        action: "snapshot",
        snapshot: [
          {
            hostname: "dc01.corp.example",
            uuid: "4C4C4544-0031-4B10-8044-B4C04F4B3332",
            hardware_vendor: "Dell Inc.",
            hardware_model: "PowerEdge R650",
            hardware_serial: "8K2BCX3",
            computer_name: "DC01",
            physical_memory: "68719476736",
          },
        ],
      }),
      1,
    );
    if (system.status !== "record") throw new Error(JSON.stringify(system));
    expect(system.observation.identity).toMatchObject({
      hostname: "dc01",
      fqdn: "dc01.corp.example",
      netbios_name: "DC01",
      serial_number: "8K2BCX3",
      uuid: "4c4c4544-0031-4b10-8044-b4c04f4b3332",
    });
    expect(system.observation.hw_info?.ram_size).toBe(68719476736);
    const os = parseOsqueryLine(
      line({
        name: "os_version",
        action: "snapshot",
        snapshot: [
          {
            name: "Microsoft Windows XP Professional",
            version: "5.1.2600",
            build: "2600",
            platform: "windows",
            codename: "Service Pack 3",
          },
        ],
      }),
      1,
    );
    if (os.status !== "record") throw new Error(JSON.stringify(os));
    expect(os.observation.os).toEqual({
      name: "Microsoft Windows XP Professional",
      type: "windows",
      version: "5.1.2600",
      build: "2600",
      sp_name: "Service Pack 3",
    });
    const chassis = parseOsqueryLine(
      line({
        name: "chassis_info",
        action: "snapshot",
        snapshot: [
          { chassis_types: "10", manufacturer: "LENOVO", model: "ThinkPad T14", serial: "PF3ABC12" },
        ],
      }),
      1,
    );
    expect(chassis.status === "record" && chassis.observation.type).toBe("laptop");
    const vm = parseOsqueryLine(
      line({
        name: "system_info",
        action: "snapshot",
        snapshot: [
          {
            hostname: "app01",
            hardware_vendor: "VMware, Inc.",
            hardware_model: "VMware7,1",
            hardware_serial: "0",
          },
        ],
      }),
      1,
    );
    expect(vm.status === "record" && [vm.observation.type, vm.observation.identity.serial_number]).toEqual([
      "virtual",
      undefined,
    ]);
    const av = parseOsqueryLine(
      line({
        name: "windows_security_products",
        action: "snapshot",
        snapshot: [
          { type: "Firewall", name: "Windows Firewall", state: "On" },
          {
            type: "Antivirus",
            name: "Microsoft Defender Antivirus",
            state: "On",
            state_timestamp: "2024-03-11 09:00:00",
            signatures_up_to_date: "0",
          },
        ],
      }),
      1,
    );
    expect(av.status === "record" && av.observation.antivirus).toEqual({
      product: "Microsoft Defender Antivirus",
      state: "On",
      enabled: true,
      up_to_date: false,
      signature_date: "2024-03-11 09:00:00",
    });
    const center = parseOsqueryLine(
      line({ name: "windows_security_center", action: "snapshot", snapshot: [{ antivirus: "Poor" }] }),
      1,
    );
    expect(center.status === "record" && center.observation.antivirus).toEqual({
      state: "Poor",
      up_to_date: false,
    });
    const services = parseOsqueryLine(
      line({
        name: "services",
        action: "snapshot",
        snapshot: [{ name: "NTDS", status: "RUNNING", start_type: "AUTO_START" }],
      }),
      1,
    );
    expect(services.status === "record" && services.observation.roles).toEqual({ domain_controller: true });
    const file = parseOsqueryLine(
      line({
        name: "pack_wsus_file",
        columns: {
          path: "C:\\x\\Microsoft.UpdateServices.WebServices.Client.Dll",
          file_version: "3.1.6001.66",
        },
        action: "added",
      }),
      1,
    );
    expect(file.status === "record" && file.observation.changes?.[0]?.items).toEqual([
      {
        path: "C:\\x\\Microsoft.UpdateServices.WebServices.Client.Dll",
        version: "3.1.6001.66",
        origin: "osquery:file",
      },
    ]);
    const admins = parseOsqueryLine(
      line({
        name: "users",
        action: "snapshot",
        snapshot: [
          { username: "root", uid: "0" },
          { username: "alice", uid: "1000" },
        ],
      }),
      1,
    );
    expect(admins.status === "record" && admins.observation.changes?.[0]?.items).toEqual([
      { name: "root", origin: "osquery:users" },
    ]);
  });

  it("refuses bad lines with the field and reason, and ignores other queries", () => {
    const cases: [string, string][] = [
      ["{not json", "not valid JSON"],
      ["[1]", "expected a JSON object"],
      [line({ name: undefined, columns: {} }), "name: expected the query name"],
      [JSON.stringify({ name: "programs", unixTime: 1, columns: {}, action: "added" }), "hostIdentifier"],
      [
        line({ name: "programs", unixTime: "soon", calendarTime: "yesterday", columns: {}, action: "added" }),
        "unixTime / calendarTime",
      ],
      [
        line({ name: "programs", columns: { name: "x" }, action: "snapshot" }),
        "action: expected added or removed",
      ],
      [
        line({ name: "listening_ports", action: "snapshot", snapshot: [{ port: "http", protocol: "6" }] }),
        "listening_ports.port: expected integer",
      ],
      [
        line({ name: "programs", action: "snapshot", snapshot: [{ name: { nested: true } }] }),
        "programs.name: expected text",
      ],
      [line({ name: "programs", action: "snapshot", snapshot: [1] }), "row 1: expected an object"],
      [line({ name: "programs" }), "expected columns, diffResults or snapshot"],
    ];
    for (const [text, reason] of cases) {
      const record = parseOsqueryLine(text, 7);
      expect(record.status, text).toBe("invalid");
      if (record.status === "invalid") {
        expect(record.reason).toContain(reason);
        expect(record.line).toBe(7);
        expect(record.raw).toBe(text);
      }
    }
    expect(
      parseOsqueryLine(line({ name: "pack_it_processes", columns: {}, action: "added" }), 1).status,
    ).toBe("ignored");
  });
});

describe("parseOsqueryResults", () => {
  it("parses a results log line by line with line numbers", () => {
    const text = [
      line({ name: "programs", columns: { name: "a" }, action: "added" }),
      "",
      "{cut",
      line({ name: "processes", columns: {}, action: "added" }),
    ].join("\n");
    const result = parseOsqueryResults(text);
    if (!result.ok) throw new Error(result.error);
    expect(result.records.map((record) => [record.line, record.status])).toEqual([
      [1, "record"],
      [3, "invalid"],
      [4, "ignored"],
    ]);
  });

  it("refuses a file in another format, naming both", () => {
    const result = parseOsqueryResults('"Name","DistinguishedName"\n"WS-1","CN=WS-1,DC=corp"\n');
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error).toContain("expected an osquery results log");
      expect(result.error).toContain("CSV with the header");
    }
    const zone = parseOsqueryResults("$ORIGIN corp.example.\nws-1 IN A 10.0.0.1\n");
    expect(!zone.ok && zone.error).toContain("DNS zone file");
  });

  it("never throws, whatever the input (fuzz)", { timeout: 30_000 }, () => {
    const row = fc.dictionary(
      fc.constantFrom(
        "name",
        "version",
        "port",
        "protocol",
        "hostname",
        "hotfix_id",
        "antivirus",
        "path",
        "uid",
        "state",
        "type",
      ),
      fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.object({ maxDepth: 1, maxKeys: 3 })),
    );
    const record = fc.record(
      {
        name: fc.oneof(
          fc.constantFrom(
            "programs",
            "system_info",
            "listening_ports",
            "patches",
            "windows_security_products",
            "users",
            "services",
            "file",
            "os_version",
            "chassis_info",
          ),
          fc.string(),
        ),
        hostIdentifier: fc.oneof(fc.string(), fc.uuid(), fc.integer()),
        unixTime: fc.oneof(fc.integer(), fc.string(), fc.double()),
        action: fc.constantFrom("added", "removed", "snapshot", 3),
        columns: row,
        snapshot: fc.oneof(fc.array(row, { maxLength: 4 }), fc.string()),
        diffResults: fc.oneof(
          fc.record({
            added: fc.array(row, { maxLength: 4 }),
            removed: fc.oneof(fc.array(row, { maxLength: 4 }), fc.string()),
          }),
          fc.string(),
        ),
        decorations: fc.oneof(fc.object({ maxDepth: 1, maxKeys: 3 }), fc.string()),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            record.map((value) => JSON.stringify(value)),
            fc.string(),
            fc.string({ unit: "binary" }),
          ),
          { maxLength: 8 },
        ),
        (lines) => {
          const result = parseOsqueryResults(lines.join("\n"));
          expect(typeof result.ok).toBe("boolean");
          if (result.ok)
            for (const item of result.records)
              expect(["record", "invalid", "ignored"]).toContain(item.status);
          else expect(result.error).not.toContain("internal parser error");
        },
      ),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        const result = parseOsqueryResults(Buffer.from(bytes));
        if (!result.ok) expect(result.error).not.toContain("internal parser error");
      }),
    );
  });
});
