import { describe, expect, it } from "vitest";
import { ReferenceDocumentError, ReferenceTableSet } from "./reference-tables.ts";
import { buildHost } from "./testing.ts";

const EXCEPTIONS = `version: 1
exceptions:
  - id: EXC-1
    asset: ws-001.corp.example
    items: [os.*, "update:*"]
    owner: Desktop Services
    reason: legacy application
    expires: 2024-06-30
    approved_by: CISO
  - id: EXC-2
    asset: 10.20.40.21
    item: core.agent.silent
    owner: Desktop Services
    reason: laptop in repair
    expires: 2024-03-12T12:00:00+01:00
  - id: EXC-3
    asset: host-test-ws-001
    item: update:KB5034763
    owner: Change board
    reason: longer deferral of one update
    expires: 2024-09-30T00:00:00Z
  - id: EXC-4
    asset: ws-001
    item: port:tcp/5900
    owner: Desktop Services
    reason: expired pilot
    expires: 2024-03-01
`;

function tables(): ReferenceTableSet {
  const set = new ReferenceTableSet();
  set.setDocument({ kind: "exceptions", name: "exceptions", origin: "exceptions.yaml", content: EXCEPTIONS });
  set.applyHost(buildHost());
  return set;
}

describe("exceptions", () => {
  const set = tables();
  const before = Date.parse("2024-03-12T06:00:00Z");

  it("apply before expiry at event time, and not from the expiry on", () => {
    expect(set.exception("host-test-ws-001", "os.build", before)).toEqual({
      id: "EXC-1",
      owner: "Desktop Services",
      reason: "legacy application",
      expires: "2024-07-01T00:00:00.000Z",
    });
    // A date alone lasts the whole of that day (UTC).
    expect(set.exception("host-test-ws-001", "os.build", Date.parse("2024-06-30T23:59:59Z"))?.id).toBe(
      "EXC-1",
    );
    expect(set.exception("host-test-ws-001", "os.build", Date.parse("2024-07-01T00:00:00Z"))).toBeUndefined();
    // An offset is honoured: 12:00+01:00 is 11:00Z.
    expect(
      set.exception("host-test-ws-001", "core.agent.silent", Date.parse("2024-03-12T10:59:59Z"))?.id,
    ).toBe("EXC-2");
    expect(
      set.exception("host-test-ws-001", "core.agent.silent", Date.parse("2024-03-12T11:00:00Z")),
    ).toBeUndefined();
    expect(set.exception("host-test-ws-001", "port:tcp/5900", before)).toBeUndefined();
  });

  it("match items by glob and prefer the exception lasting longest", () => {
    expect(set.exception("host-test-ws-001", "update:KB5034763", before)?.id).toBe("EXC-3");
    expect(set.exception("host-test-ws-001", "update:KB5035845", before)?.id).toBe("EXC-1");
    expect(set.exception("host-test-ws-001", "software:Google Chrome", before)).toBeUndefined();
  });

  it("find the asset by its inventory id, any of its names or its address", () => {
    for (const name of ["host-test-ws-001", "ws-001", "WS-001.corp.example", "10.20.40.21"])
      expect(set.exception(name, "os.build", before)?.id).toBe("EXC-1");
    expect(set.exception("ws-002", "os.build", before)).toBeUndefined();
    expect(
      set
        .exceptionsFor("ws-001")
        .map((exception) => exception.id)
        .sort(),
    ).toEqual(["EXC-1", "EXC-2", "EXC-3", "EXC-4"]);
  });

  it("are carried by the deltas they excuse, which stay visible", () => {
    set.setDocument({
      kind: "baselines",
      name: "b",
      origin: "b.yaml",
      content:
        "version: 1\nbaselines:\n  - name: corp\n    version: '1'\n    classes:\n      - name: all\n        match: {}\n        os: { min_build: 10.0.22631 }\n        ports: { tcp: [], udp: [] }\n",
    });
    const host = buildHost({
      listening_ports: [{ port: 5900, protocol: "tcp", origin: "osquery:listening_ports" }],
    });
    set.applyHost(host);
    expect(set.baselineDeltas(host, before)).toMatchObject([
      { item: "os.build", excepted_by: { id: "EXC-1" } },
      { item: "port:tcp/5900", direction: "policy" },
    ]);
    expect(set.baselineDeltas(host, before)[1]).not.toHaveProperty("excepted_by");
    expect(set.baselineDeltas(host, Date.parse("2024-08-01T00:00:00Z"))[0]).not.toHaveProperty("excepted_by");
  });

  it("refuse a missing expiry, impossible dates, both item and items, duplicates", () => {
    let error: unknown;
    try {
      new ReferenceTableSet().setDocument({
        kind: "exceptions",
        name: "bad",
        origin: "bad.yaml",
        content: `version: 1
exceptions:
  - id: A
    asset: ws-001
    item: os.build
    owner: o
    reason: r
  - id: A
    asset: ws-001
    item: os.build
    items: [x]
    owner: o
    reason: r
    expires: 2024-02-30
  - id: B
    asset: ws-001
    items: []
    owner: o
    reason: r
    expires: next week
`,
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ReferenceDocumentError);
    expect(
      (error as ReferenceDocumentError).problems.map(
        (problem) => `${problem.line} ${problem.path}: ${problem.message}`,
      ),
    ).toEqual([
      "3 exceptions[0].expires: expected an RFC 3339 date or date-time like 2024-06-30 or 2024-06-30T18:00:00Z",
      '14 exceptions[1].expires: expected an RFC 3339 date or date-time like 2024-06-30 or 2024-06-30T18:00:00Z, got "2024-02-30"',
      "17 exceptions[2].items: expected at least one item",
      '20 exceptions[2].expires: expected an RFC 3339 date or date-time like 2024-06-30 or 2024-06-30T18:00:00Z, got "next week"',
    ]);
    expect((error as Error).message).toContain(
      'invalid exceptions document "bad" (bad.yaml):\n  bad.yaml:3:5: exceptions[0].expires',
    );
    // Whole-entry checks run once the fields themselves are valid.
    expect(() =>
      new ReferenceTableSet().setDocument({
        kind: "exceptions",
        name: "both",
        origin: "both.yaml",
        content:
          "version: 1\nexceptions:\n  - { id: A, asset: a, item: x, items: [y], owner: o, reason: r, expires: 2024-01-01 }\n",
      }),
    ).toThrow("both.yaml:3:5: exceptions[0]: expected item or items (one of them)");
  });
});
