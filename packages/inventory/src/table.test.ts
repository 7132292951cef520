import type { HostObservation, HostV1 } from "@vigil/schema";
import { HostV1 as HostSchema } from "@vigil/schema";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AssetTable, assetIdFor } from "./table.ts";

const T = (hour: number, day = 12) => new Date(Date.UTC(2024, 2, day, hour)).toISOString();
function obs(
  source: HostObservation["source"],
  time: string,
  identity: HostObservation["identity"],
  extra: Partial<HostObservation> = {},
): HostObservation {
  return { source, time, origin: `${source}:test`, identity, ...extra };
}
function applyAll(table: AssetTable, observations: HostObservation[]): string[] {
  return observations.map((observation) => table.apply(observation).id);
}
const holders = (table: AssetTable, ip: string) =>
  table.all().filter((host) => host.ips.some((entry) => entry.ip === ip));

describe("asset identity", () => {
  it("merges a short name with its FQDN, case-insensitively, but not across domains", () => {
    const table = new AssetTable();
    const [agent, dns, directory, lab] = applyAll(table, [
      obs("osquery", T(9), { hostname: "WS-041", host_identifier: "WS-041", serial_number: "PF3A1" }),
      obs("dns", T(8), { hostname: "ws-041", fqdn: "WS-041.corp.example", ips: ["10.20.41.23"] }),
      obs("directory", T(7), { hostname: "ws-041", fqdn: "ws-041.corp.example", netbios_name: "WS-041" }),
      obs("dns", T(8), { hostname: "ws-041", fqdn: "ws-041.lab.example", ips: ["10.30.0.41"] }),
    ]);
    expect(new Set([agent, dns, directory])).toEqual(new Set([agent]));
    expect(lab).not.toBe(agent);
    const host = table.get(agent!)!;
    expect(host).toMatchObject({
      hostname: "ws-041",
      fqdn: "ws-041.corp.example",
      domain: "corp.example",
      netbios_name: "WS-041",
      is_managed: true,
    });
    expect(host.sources.map((seen) => seen.source)).toEqual(["osquery", "directory", "dns"]);
    expect(HostSchema.safeParse(host).success).toBe(true);
  });

  it("follows the hardware through a rename, and keeps a reused name apart", () => {
    const table = new AssetTable();
    const [old] = applyAll(table, [
      obs("osquery", T(1, 1), { hostname: "lt-007", fqdn: "lt-007.corp.example", serial_number: "SER-OLD" }),
    ]);
    // The same machine renamed: its serial decides.
    const renamed = table.apply(obs("osquery", T(1, 5), { hostname: "lt-107", serial_number: "SER-OLD" })).id;
    expect(renamed).toBe(old);
    // A new laptop given the old name: a different serial, so a different asset.
    const replacement = table.apply(
      obs("inventory", T(1, 10), {
        hostname: "lt-007",
        fqdn: "lt-007.corp.example",
        serial_number: "SER-NEW",
      }),
    ).id;
    expect(replacement).not.toBe(old);
    // A later DNS record for the name goes to the machine that holds it now.
    expect(
      table.apply(
        obs("dns", T(1, 11), { fqdn: "lt-007.corp.example", hostname: "lt-007", ips: ["10.20.42.7"] }),
      ).id,
    ).toBe(replacement);
  });

  it("merges by MAC and by serial before names, with documented precedence", () => {
    const table = new AssetTable();
    const a = table.apply(
      obs("dhcp", T(7), { hostname: "ws-9", macs: ["00:1a:2b:3c:4d:5e"], ips: ["10.20.40.9"] }),
    ).id;
    const b = table.apply(
      obs("inventory", T(8), { hostname: "WS-009", macs: ["00:1a:2b:3c:4d:5e"], serial_number: "S9" }),
    ).id;
    expect(b).toBe(a);
    // Serial beats a conflicting name: the record is about the machine with serial S9.
    const other = table.apply(obs("osquery", T(9), { hostname: "ws-010", serial_number: "X10" })).id;
    expect(table.apply(obs("osquery", T(10), { hostname: "ws-010", serial_number: "S9" })).id).toBe(a);
    expect(other).not.toBe(a);
  });

  it("keeps each address with the host seen with it last, and never merges hosts that shared one", () => {
    const table = new AssetTable();
    const lt5 = table.apply(
      obs("dhcp", T(6), { hostname: "lt-005", macs: ["3c:22:fb:00:00:05"], ips: ["10.20.43.200"] }),
    ).id;
    const guest = table.apply(
      obs("dhcp", T(9), { hostname: "guest-phone", macs: ["f0:2f:74:9a:11:02"], ips: ["10.20.43.200"] }),
    ).id;
    expect(guest).not.toBe(lt5);
    expect(holders(table, "10.20.43.200").map((host) => host.id)).toEqual([guest]);
    // An older sighting read late does not take the address back.
    table.apply(
      obs("dhcp", T(7), { hostname: "lt-005", macs: ["3c:22:fb:00:00:05"], ips: ["10.20.43.200"] }),
    );
    expect(holders(table, "10.20.43.200").map((host) => host.id)).toEqual([guest]);
    // A DNS record that only names the address's old holder still goes to lt-005 by name.
    expect(table.apply(obs("dns", T(10), { hostname: "lt-005", fqdn: "lt-005.corp.example" })).id).toBe(lt5);
    // An observation with nothing but an address goes to its current holder.
    expect(table.resolve(obs("dns", T(10), { ips: ["10.20.43.200"] }))).toBe(guest);
    // A released lease frees the address.
    table.apply(
      obs(
        "dhcp",
        T(11),
        { hostname: "guest-phone", macs: ["f0:2f:74:9a:11:02"] },
        { released_ips: ["10.20.43.200"] },
      ),
    );
    expect(holders(table, "10.20.43.200")).toEqual([]);
  });

  it("resolves conflicting facts by source precedence, then recency", () => {
    const table = new AssetTable();
    const id = table.apply(
      obs(
        "directory",
        T(9),
        { hostname: "app03", fqdn: "app03.corp.example" },
        { os: { name: "Windows Server 2016", version: "10.0", build: "14393" } },
      ),
    ).id;
    table.apply(
      obs(
        "osquery",
        T(8),
        { hostname: "app03", fqdn: "app03.corp.example" },
        { os: { name: "Microsoft Windows Server 2019 Standard", build: "17763" }, type: "virtual" },
      ),
    );
    table.apply(obs("dns", T(12), { hostname: "app03", fqdn: "app03.corp.example" }, { type: "server" }));
    let host = table.get(id)!;
    expect(host.os).toEqual({
      name: "Microsoft Windows Server 2019 Standard",
      version: "10.0",
      build: "17763",
    });
    expect(host.type).toBe("virtual");
    expect(host.field_sources["os.build"]).toEqual({ source: "osquery", time: T(8) });
    // The agent's newer report wins over its older one; an older one does not.
    table.apply(obs("osquery", T(10), { fqdn: "app03.corp.example" }, { os: { build: "17763.5576" } }));
    table.apply(obs("osquery", T(7), { fqdn: "app03.corp.example" }, { os: { build: "17763.100" } }));
    host = table.get(id)!;
    expect(host.os.build).toBe("17763.5576");
  });

  it("applies snapshots per origin and differential rows", () => {
    const table = new AssetTable();
    const identity = { host_identifier: "WS-1", hostname: "ws-1" };
    const sw = (name: string, version: string, origin = "osquery:programs") => ({ name, version, origin });
    const id = table.apply(
      obs("osquery", T(8), identity, {
        changes: [
          {
            collection: "software",
            op: "replace",
            origin: "osquery:programs",
            items: [sw("Chrome", "122"), sw("7-Zip", "23.01")],
          },
        ],
      }),
    ).id;
    table.apply(
      obs("inventory", T(8), identity, {
        changes: [
          {
            collection: "software",
            op: "replace",
            origin: "inventory:cm",
            items: [sw("Office", "16", "inventory:cm")],
          },
        ],
      }),
    );
    table.apply(
      obs("osquery", T(9), identity, {
        changes: [
          { collection: "software", op: "remove", origin: "osquery:programs", items: [sw("Chrome", "122")] },
          { collection: "software", op: "add", origin: "osquery:programs", items: [sw("Chrome", "123")] },
        ],
      }),
    );
    expect(table.get(id)!.software.map((item) => `${item.name} ${item.version}`)).toEqual([
      "7-Zip 23.01",
      "Chrome 123",
      "Office 16",
    ]);
    // A new snapshot of one origin leaves the other's items alone; an older snapshot is skipped.
    table.apply(
      obs("osquery", T(10), identity, {
        changes: [
          { collection: "software", op: "replace", origin: "osquery:programs", items: [sw("Chrome", "124")] },
        ],
      }),
    );
    table.apply(
      obs("osquery", T(9), identity, {
        changes: [{ collection: "software", op: "replace", origin: "osquery:programs", items: [] }],
      }),
    );
    expect(table.get(id)!.software.map((item) => `${item.name} ${item.version}`)).toEqual([
      "Chrome 124",
      "Office 16",
    ]);
  });

  it("restores from published records and goes on merging with the same ids", () => {
    const first = new AssetTable();
    const id = first.apply(
      obs("osquery", T(8), { hostname: "fs01", serial_number: "S-FS01", ips: ["10.20.2.15"] }),
    ).id;
    const published = first.all().map((host) => JSON.parse(JSON.stringify(host)) as HostV1);
    const second = new AssetTable();
    second.load(published);
    expect(
      second.apply(obs("dns", T(9), { fqdn: "fs01.corp.example", hostname: "fs01", ips: ["10.20.2.15"] })).id,
    ).toBe(id);
    expect(second.size).toBe(1);
    expect(id).toBe(assetIdFor("serial:s-fs01"));
  });

  it("reports every asset that changed, including one that lost an address", () => {
    const table = new AssetTable();
    const a = table.apply(obs("dhcp", T(6), { macs: ["00:00:00:00:00:0a"], ips: ["10.0.0.5"] })).id;
    const result = table.apply(obs("dhcp", T(7), { macs: ["00:00:00:00:00:0b"], ips: ["10.0.0.5"] }));
    expect(result.changed).toEqual([a, result.id].sort());
  });
});

describe("asset identity properties", { timeout: 30_000 }, () => {
  // Machines with unique names, serials and MACs, reported by several sources in any order.
  const machine = fc.record({
    name: fc.stringMatching(/^[a-z][a-z0-9-]{0,10}[a-z0-9]$/),
    serial: fc.stringMatching(/^[A-Z0-9]{6,10}$/),
    mac: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 5, maxLength: 5 }),
  });
  const estate = fc
    .uniqueArray(machine, { minLength: 1, maxLength: 12, selector: (m) => m.name })
    .filter(
      (list) =>
        new Set(list.map((m) => m.serial)).size === list.length &&
        new Set(list.map((m) => m.mac.join())).size === list.length,
    );
  function observationsOf(list: { name: string; serial: string; mac: number[] }[]): HostObservation[] {
    return list.flatMap((m, index) => {
      const mac = `02:${m.mac.map((byte) => byte.toString(16).padStart(2, "0")).join(":")}`;
      const ip = `10.20.${40 + Math.floor(index / 250)}.${(index % 250) + 1}`;
      return [
        obs("osquery", T(9), {
          hostname: m.name.toUpperCase(),
          host_identifier: m.name.toUpperCase(),
          serial_number: m.serial,
        }),
        obs("inventory", T(8), { hostname: m.name, serial_number: m.serial, macs: [mac] }),
        obs("directory", T(6), { hostname: m.name, fqdn: `${m.name}.corp.example` }),
        obs("dns", T(6), { hostname: m.name, fqdn: `${m.name}.corp.example`, ips: [ip] }),
        obs("dhcp", T(7), { hostname: m.name, macs: [mac], ips: [ip] }),
      ];
    });
  }

  it("one asset per machine, whatever order the sources arrive in", () => {
    fc.assert(
      fc.property(
        estate.chain((list) =>
          fc.tuple(
            fc.constant(list),
            fc.shuffledSubarray(observationsOf(list), { minLength: observationsOf(list).length }),
          ),
        ),
        ([list, shuffled]) => {
          const table = new AssetTable();
          for (const observation of shuffled) table.apply(observation);
          expect(table.size).toBe(list.length);
          for (const host of table.all()) {
            expect(host.sources).toHaveLength(5);
            expect(HostSchema.safeParse(host).success).toBe(true);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it("is deterministic: the same inputs in the same order give the same table", () => {
    fc.assert(
      fc.property(estate, (list) => {
        const run = () => {
          const table = new AssetTable();
          for (const observation of observationsOf(list)) table.apply(observation);
          return JSON.stringify(table.all());
        };
        expect(run()).toBe(run());
      }),
      { numRuns: 30 },
    );
  });

  it("an address belongs to at most one asset, and addresses never merge machines", () => {
    const sighting = fc.record({
      machine: fc.integer({ min: 0, max: 5 }),
      ip: fc.integer({ min: 1, max: 4 }),
      hour: fc.integer({ min: 0, max: 23 }),
      released: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(sighting, { maxLength: 40 }), (sightings) => {
        const table = new AssetTable();
        for (const { machine, ip, hour, released } of sightings) {
          const identity = { hostname: `lt-${machine}`, macs: [`3c:22:fb:00:00:0${machine}`] };
          const address = `10.20.43.${ip}`;
          table.apply(
            released
              ? obs("dhcp", T(hour), identity, { released_ips: [address] })
              : obs("dhcp", T(hour), { ...identity, ips: [address] }),
          );
        }
        expect(table.size).toBe(new Set(sightings.map((s) => s.machine)).size);
        for (let ip = 1; ip <= 4; ip++)
          expect(holders(table, `10.20.43.${ip}`).length).toBeLessThanOrEqual(1);
      }),
      { numRuns: 200 },
    );
  });
});
