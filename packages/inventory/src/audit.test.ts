import type { HostV1 } from "@vigil/schema";
import { AuditV1 } from "@vigil/schema";
import { describe, expect, it } from "vitest";
import { auditRecord, compareAudits, coverage, latestAudits } from "./audit.ts";
import { AssetTable } from "./table.ts";

const audit = (started: string, ids: string[]) =>
  auditRecord({
    source: "directory",
    format: "ad-csv",
    inputs: ["ad.csv"],
    started,
    finished: started,
    hostIds: ids,
    recordsRead: ids.length,
    recordsInvalid: 0,
  });

describe("audits", () => {
  it("records a run with sorted, distinct host ids and a deterministic id", () => {
    const record = audit("2024-03-12T06:00:00.000Z", ["b", "a", "b"]);
    expect(AuditV1.parse(record)).toMatchObject({ host_count: 2, host_ids: ["a", "b"] });
    expect(audit("2024-03-12T06:00:00.000Z", ["a"]).id).toBe(record.id);
    expect(audit("2024-03-13T06:00:00.000Z", ["a"]).id).not.toBe(record.id);
  });

  it("compares a run with the previous one", () => {
    const previous = audit("2024-03-11T06:00:00.000Z", ["a", "b", "c", "d"]);
    const current = audit("2024-03-12T06:00:00.000Z", ["a", "b", "e"]);
    expect(compareAudits(previous, current)).toEqual({
      previousCount: 4,
      currentCount: 3,
      countChange: -1,
      relativeChange: -0.25,
      added: ["e"],
      missing: ["c", "d"],
    });
    expect(latestAudits([current, previous]).get("directory")).toBe(current);
  });

  it("cross-references sources: unmanaged, directory-only, DNS-only, silent agents", () => {
    const table = new AssetTable();
    const at = (day: number) => new Date(Date.UTC(2024, 2, day)).toISOString();
    const managed = table.apply({
      source: "osquery",
      time: at(12),
      origin: "t",
      identity: { hostname: "ws-1", host_identifier: "WS-1" },
    }).id;
    table.apply({
      source: "directory",
      time: at(12),
      origin: "t",
      identity: { hostname: "ws-1", fqdn: "ws-1.corp.example" },
    });
    const silent = table.apply({
      source: "osquery",
      time: at(1),
      origin: "t",
      identity: { hostname: "lt-17", host_identifier: "LT-17" },
    }).id;
    const stale = table.apply({
      source: "directory",
      time: at(12),
      origin: "t",
      identity: { hostname: "ws-old" },
      directory: { enabled: false },
    }).id;
    const printer = table.apply({
      source: "dns",
      time: at(12),
      origin: "t",
      identity: { hostname: "prn-1", fqdn: "prn-1.corp.example", ips: ["10.20.50.21"] },
    }).id;
    const result = coverage(table.all() as HostV1[], { now: new Date(at(12)) });
    expect(result.managed.sort()).toEqual([managed, silent].sort());
    expect(result.inDirectoryNotManaged).toEqual([stale]);
    expect(result.inNameRegistrationOnly).toEqual([printer]);
    expect(result.managedNotInDirectory).toEqual([silent]);
    expect(result.silentAgents).toEqual([{ id: silent, last_seen: at(1) }]);
  });
});
