import { createIncidentStore, type IncidentStoreBackend } from "@vigil/incident-store";
import { silentLogger } from "@vigil/observability";
import { createEmbeddedTransport, EmbeddedBroker, ensureRegistryTopics, type Transport } from "@vigil/stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type AssetCard, type ComplianceRow, type RunningConsole, startConsole } from "./index.ts";
import { exampleTables, TIME } from "./test-fixtures.ts";

const TOKEN = "viewer-token-0123456789abcdef";

let transport: Transport;
let store: IncidentStoreBackend;
let running: RunningConsole;

beforeEach(async () => {
  transport = createEmbeddedTransport({ broker: new EmbeddedBroker() });
  await ensureRegistryTopics(transport, "v.");
  store = await createIncidentStore({});
  const tables = await exampleTables();
  running = await startConsole({
    transport,
    store,
    tables,
    logger: silentLogger(),
    now: () => new Date(TIME),
    config: {
      listen: "127.0.0.1:0",
      tokens: [{ token: TOKEN, name: "victor", role: "viewer" }],
      topicPrefix: "v.",
    },
  });
});

afterEach(async () => {
  await running.stop();
  await transport.close();
});

const get = async <T>(path: string): Promise<T> => {
  const response = await fetch(`${running.url}${path}`, { headers: { Authorization: `Bearer ${TOKEN}` } });
  expect(response.status).toBe(200);
  return (await response.json()) as T;
};

describe("the views over the reference tables", () => {
  it("gives the asset card: tier, owner, OS, roles, baseline deltas and missing updates", async () => {
    const { card } = await get<{ card: AssetCard }>("/api/assets/host-ws-001");
    expect(card).toMatchObject({
      id: "host-ws-001",
      hostname: "ws-001",
      tier: "low",
      owner: { organisation: "Desktop Services" },
      is_managed: true,
      os: { name: "Microsoft Windows 10 Enterprise" },
      missing_updates: [{ id: "KB5035845" }],
    });
    expect(card.baseline_deltas.length).toBeGreaterThan(0);
    expect(card.baseline_deltas.every((delta) => delta.baseline.startsWith("windows@"))).toBe(true);
  });

  it("lists the unmanaged hosts only", async () => {
    const { hosts } = await get<{ hosts: Array<{ id: string }> }>("/api/unmanaged");
    expect(hosts.map((h) => h.id)).toEqual(["host-printer-7"]);
  });

  it("counts patch compliance by baseline class, each host once", async () => {
    const { tables, classes } = await get<{ tables: boolean; classes: ComplianceRow[] }>("/api/compliance");
    expect(tables).toBe(true);
    expect(classes.length).toBeGreaterThan(0);
    const total = classes.reduce((sum, row) => sum + row.hosts, 0);
    expect(total).toBeGreaterThan(0);
    for (const row of classes) {
      expect(row.compliant + row.below + row.above + row.policy).toBe(row.hosts);
      expect(row.baseline).toBe("windows");
    }
    // A workstation without March's cumulative update is below its class.
    expect(classes.some((row) => row.below > 0)).toBe(true);
  });
});
