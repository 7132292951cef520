import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { openEmbeddedStore } from "@vigil/incident-store";
import { IncidentEventV1, IncidentV1 } from "@vigil/schema";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { incidentsCommand } from "./incidents-command.ts";

/** Characters a terminal acts on (line feed allowed where `allowNewline`): C0, DEL, C1, bidi override. */
function controlCharacters(text: string, allowNewline: boolean): string[] {
  return [...text].filter((c) => {
    const code = c.codePointAt(0) ?? 0;
    if (allowNewline && c === "\n") return false;
    return code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x202e;
  });
}

function io(env: NodeJS.ProcessEnv = {}) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const text = { out: "", err: "" };
  stdout.on("data", (chunk: Buffer) => {
    text.out += chunk.toString();
  });
  stderr.on("data", (chunk: Buffer) => {
    text.err += chunk.toString();
  });
  return { io: { stdout, stderr, env, now: () => new Date("2024-03-12T06:00:00Z") }, text };
}

/** A complete incident as the sink writes it (validated against the schema). */
export function makeIncident(
  id: string,
  changes: Partial<IncidentV1> & { hostname?: string; organisation?: string } = {},
): IncidentV1 {
  const { hostname = "web-01", organisation = "Finance", ...fields } = changes;
  return IncidentV1.parse({
    schema: "vigil.incident/v1",
    id,
    title: `Exploit attempt against ${hostname}`,
    description: `IDS alerts against ${hostname}`,
    severity: "high",
    status: "new",
    rule_id: "ids.exploit-attempt",
    asset: {
      id: `asset-${hostname}`,
      ip: "10.0.0.5",
      hostname,
      known: true,
      priority: "high",
      priority_reason: "priority list: finance servers",
      owner: organisation,
      tags: ["server"],
    },
    group_key: "signature:2024217",
    window_start: "2024-03-12T00:00:00.000Z",
    first_seen: "2024-03-12T04:10:00.000Z",
    last_seen: "2024-03-12T05:20:00.000Z",
    created_at: "2024-03-12T04:10:05.000Z",
    updated_at: "2024-03-12T05:20:05.000Z",
    finding_count: 2,
    finding_ids: ["f-1", "f-2"],
    evidence: [
      {
        topic: "vigil.ids.alerts",
        id: "ev-1",
        time: "2024-03-12T04:10:00.000Z",
        summary: "ET EXPLOIT attempt",
      },
    ],
    explanation:
      "Two exploit attempts against a high-priority server that misses the patch for CVE-2024-3400.",
    cves: ["CVE-2024-3400"],
    attack: ["T1190"],
    version: 3,
    urgency: "high",
    owner: { organisation, contacts: [{ name: "Ops desk", email: "ops@example.org" }] },
    sla: { due: "2024-03-13T04:10:00.000Z", breached: false },
    escalation: {
      level: 1,
      started_at: "2024-03-12T04:10:05.000Z",
      next_level: 2,
      next_at: "2024-03-12T08:10:05.000Z",
      plan: [
        { level: 1, at: "2024-03-12T05:10:05.000Z", action: "notify_owner" },
        { level: 2, at: "2024-03-12T08:10:05.000Z", action: "disable_default_accounts" },
      ],
    },
    timeline: [
      {
        time: "2024-03-12T04:10:05.000Z",
        type: "created",
        actor: "rule:ids.exploit-attempt",
        summary: "raised",
      },
    ],
    ...fields,
  });
}

function event(incidentId: string, n: number, changes: Partial<IncidentEventV1> = {}): IncidentEventV1 {
  return IncidentEventV1.parse({
    schema: "vigil.incident-event/v1",
    id: `${incidentId}:e${n}`,
    incident_id: incidentId,
    incident_version: n,
    time: `2024-03-12T0${4 + n}:00:00.000Z`,
    type: n === 1 ? "created" : "escalated",
    actor: "vigil",
    summary: n === 1 ? "raised from 1 finding" : `escalated to level ${n - 1}: notify the owner`,
    ...changes,
  });
}

describe("vigil incidents (embedded store file)", () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "vigil-incidents-"));
    file = path.join(dir, "store.jsonl");
    const store = await openEmbeddedStore({ file });
    await store.upsertMany([
      makeIncident("inc-critical", {
        urgency: "critical",
        severity: "critical",
        hostname: "db-01",
        organisation: "Payments",
      }),
      makeIncident("inc-high"),
      makeIncident("inc-low", {
        urgency: "low",
        severity: "low",
        status: "resolved",
        rule_id: "fw.port-scan",
        hostname: "laptop-7",
        organisation: "Marketing",
      }),
      makeIncident("inc-hostile", {
        urgency: "medium",
        severity: "medium",
        title: "evil\u001b[2J\u001b[31mred\nFAKE LINE\rover\u009b1mC1 \u202etxt",
        hostname: "host\u001b]0;pwned\u0007",
      }),
    ]);
    await store.appendEvents([event("inc-high", 1), event("inc-high", 2)]);
    await store.close();
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const run = async (argv: string[], env: NodeJS.ProcessEnv = {}) => {
    const { io: streams, text } = io(env);
    const code = await incidentsCommand(argv, streams);
    return { code, ...text };
  };

  it("lists every incident as a table, most urgent first", async () => {
    const { code, out, err } = await run(["list", "--store-file", file]);
    expect(code, err).toBe(0);
    const lines = out.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^URGENCY\s+SEVERITY\s+STATUS\s+LVL\s+TITLE\s+ASSET\s+OWNER\s+LAST SEEN\s+ID$/);
    expect(lines.slice(1).map((line) => line.split(/\s+/).at(-1))).toEqual([
      "inc-critical",
      "inc-high",
      "inc-hostile",
      "inc-low",
    ]);
    expect(lines[1]).toMatch(
      /^critical\s+critical\s+new\s+L1\s+Exploit attempt against db-01\s+db-01 \(10\.0\.0\.5\)\s+Payments\s+2024-03-12 05:20\s+inc-critical$/,
    );
  });

  it("filters on status, urgency, asset, organisation, rule and search, and limits", async () => {
    const ids = async (...flags: string[]) => {
      const { code, out, err } = await run(["list", "--store-file", file, "--json", ...flags]);
      expect(code, err).toBe(0);
      return out
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((line) => IncidentV1.parse(JSON.parse(line)).id);
    };
    expect(await ids("--status", "open")).toEqual(["inc-critical", "inc-high", "inc-hostile"]);
    expect(await ids("--status", "resolved")).toEqual(["inc-low"]);
    expect(await ids("--urgency", "critical,low")).toEqual(["inc-critical", "inc-low"]);
    expect(await ids("--urgency", "high", "--urgency", "medium")).toEqual(["inc-high", "inc-hostile"]);
    expect(await ids("--asset", "asset-db-01")).toEqual(["inc-critical"]);
    expect(await ids("--organisation", "Marketing")).toEqual(["inc-low"]);
    expect(await ids("--rule", "fw.port-scan")).toEqual(["inc-low"]);
    expect(await ids("--search", "EXPLOIT web-01")).toEqual(["inc-high"]);
    expect(await ids("--search", "nothing-like-this")).toEqual([]);
    expect(await ids("--limit", "2")).toEqual(["inc-critical", "inc-high"]);
    const limited = await run(["list", "--store-file", file, "--limit", "1"]);
    expect(limited.err).toMatch(/showing the first 1; --limit 0 lists all/);
  });

  it("prints the whole incidents as JSON lines, valid against the schema", async () => {
    const { code, out } = await run(["list", "--store-file", file, "--json", "--asset", "asset-web-01"]);
    expect(code).toBe(0);
    const [line, ...others] = out.trim().split("\n");
    expect(others).toEqual([]);
    expect(IncidentV1.parse(JSON.parse(line ?? ""))).toEqual(makeIncident("inc-high"));
  });

  it("neutralises escape sequences and line breaks from records in the table", async () => {
    const { code, out } = await run(["list", "--store-file", file]);
    expect(code).toBe(0);
    expect(controlCharacters(out, true)).toEqual([]);
    expect(out.trimEnd().split("\n")).toHaveLength(5);
    const hostile = out.split("\n").find((line) => line.includes("inc-hostile")) ?? "";
    expect(hostile).toContain("evil\\x1b[2J\\x1b[31mred\\nFAKE LINE\\rover\\x9b1mC1 \\u202etxt");
    expect(hostile).toContain("host\\x1b]0;pwned\\x07");
  });

  it("shows why an incident was raised, its asset, ladder, SLA and timeline", async () => {
    const { code, out, err } = await run(["show", "inc-high", "--store-file", file]);
    expect(code, err).toBe(0);
    expect(out).toContain("Exploit attempt against web-01");
    expect(out).toMatch(/urgency:\s+high, severity high, asset priority high/);
    expect(out).toContain("misses the patch for CVE-2024-3400");
    expect(out).toContain("vigil.ids.alerts  ET EXPLOIT attempt  (ev-1)");
    expect(out).toContain("priority high: priority list: finance servers");
    expect(out).toContain("owner Finance");
    expect(out).toContain("CVEs CVE-2024-3400");
    expect(out).toContain("L1 notify the owner: done");
    expect(out).toContain("L2 disable default accounts: due 2024-03-12 08:10");
    expect(out).toContain("next: L2 disable default accounts at 2024-03-12 08:10");
    expect(out).toContain("SLA: resolve by 2024-03-13 04:10");
    expect(out).toMatch(/2024-03-12 05:00 {2}created\s+vigil: raised from 1 finding/);
    expect(out).toMatch(/2024-03-12 06:00 {2}escalated\s+vigil: escalated to level 1/);
  });

  it("shows an incident and its events as JSON", async () => {
    const { code, out } = await run(["show", "inc-high", "--store-file", file, "--json"]);
    expect(code).toBe(0);
    const shown = JSON.parse(out) as { incident: unknown; events: unknown[] };
    expect(IncidentV1.parse(shown.incident).id).toBe("inc-high");
    expect(shown.events.map((e) => IncidentEventV1.parse(e).id)).toEqual(["inc-high:e1", "inc-high:e2"]);
  });

  it("escapes hostile strings on the incident page, and in JSON beyond what JSON escapes", async () => {
    const page = await run(["show", "inc-hostile", "--store-file", file]);
    expect(page.code).toBe(0);
    expect(controlCharacters(page.out, true)).toEqual([]);
    const json = await run(["show", "inc-hostile", "--store-file", file, "--json"]);
    expect(controlCharacters(json.out.trimEnd(), false)).toEqual([]);
    const parsed = JSON.parse(json.out) as { incident: IncidentV1 };
    expect(parsed.incident.title).toBe("evil\u001b[2J\u001b[31mred\nFAKE LINE\rover\u009b1mC1 \u202etxt");
  });

  it("refuses an unknown incident and does not touch the store file", async () => {
    const before = await import("node:fs/promises").then((fs) => fs.readFile(file, "utf8"));
    const { code, err } = await run(["show", "inc-nope", "--store-file", file]);
    expect(code).toBe(2);
    expect(err).toMatch(/no incident inc-nope/);
    const after = await import("node:fs/promises").then((fs) => fs.readFile(file, "utf8"));
    expect(after).toBe(before);
  });

  it("reads the store file from VIGIL_STORE_FILE and skips a torn last line", async () => {
    await writeFile(file, '{"kind":"incident","incident":{"id":"torn', { flag: "a" });
    const { code, out } = await run(["list", "--json"], { VIGIL_STORE_FILE: file });
    expect(code).toBe(0);
    expect(out.trim().split("\n")).toHaveLength(4);
  });

  it("answers --help for each command and names what is wrong in usage errors (exit 2)", async () => {
    for (const action of ["list", "show", "tail", "ack", "resolve"]) {
      const { code, out } = await run([action, "--help"]);
      expect(code, action).toBe(0);
      expect(out).toContain(`vigil incidents ${action}`);
    }
    const overview = await run(["--help"]);
    expect(overview.code).toBe(0);
    expect(overview.out).toMatch(/tail\s+follow incidents/);
    const cases: Array<[string[], RegExp]> = [
      [[], /Usage: vigil incidents <command>/],
      [["frobnicate"], /unknown command 'frobnicate'/],
      [["list", "--store-file", file, "--status", "pending"], /--status/],
      [["list", "--store-file", file, "--urgency", "urgent"], /--urgency/],
      [["list", "--store-file", file, "--limit", "-3"], /--limit/],
      [["list", "--store-file", file, "--colour"], /Unknown option '--colour'/],
      [["list"], /no Kafka brokers/],
      [["list", "--brokers", "not a broker"], /--brokers/],
      [["list", "--store-file", path.join(dir, "missing.jsonl")], /--store-file: cannot read/],
      [["show", "--store-file", file], /show: name the incident/],
      [["show", "a", "b", "--store-file", file], /one incident at a time/],
      [["tail"], /tail: no Kafka brokers/],
      [["ack", "inc-high", "--store-file", file, "--actor", "ana"], /ack: no Kafka brokers/],
      [["ack", "--brokers", "127.0.0.1:9", "--actor", "ana"], /ack: name the incident/],
      [["ack", "inc-high", "--brokers", "127.0.0.1:9"], /--actor \/ USER/],
      [
        ["resolve", "inc-high", "--brokers", "127.0.0.1:9", "--actor", "ana", "--verdict", "guilty"],
        /--verdict/,
      ],
    ];
    for (const [argv, message] of cases) {
      const { code, out, err } = await run(argv);
      expect(code, argv.join(" ")).toBe(2);
      expect(`${out}${err}`, argv.join(" ")).toMatch(message);
    }
  });
});
