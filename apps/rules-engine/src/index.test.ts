import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError } from "@vigil/config";
import { silentLogger } from "@vigil/observability";
import { buildIdsAlert } from "@vigil/rules/testing";
import { FindingV1, idsRecordKey, topicName, topics } from "@vigil/schema";
import {
  createEmbeddedTransport,
  EmbeddedBroker,
  encodeValue,
  ensureRegistryTopics,
  type Transport,
} from "@vigil/stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cli, startRulesEngine } from "./index.ts";

const priorityList = fileURLToPath(new URL("../../../examples/assets/priority-list.yaml", import.meta.url));
const logger = silentLogger();
let transport: Transport;

beforeEach(async () => {
  transport = createEmbeddedTransport({ broker: new EmbeddedBroker() });
  await ensureRegistryTopics(transport);
});
afterEach(() => transport.close());

async function waitForFindings(count: number): Promise<FindingV1[]> {
  for (let i = 0; i < 500; i++) {
    const records = await transport.readAll(topicName(topics.findings));
    if (records.length >= count) return records.map((r) => FindingV1.parse(JSON.parse(r.value!.toString())));
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`expected ${count} findings`);
}

describe("startRulesEngine", () => {
  it("emits findings keyed by asset id, dropping alerts below --min-severity", async () => {
    const engine = await startRulesEngine({
      transport,
      logger,
      config: { priorityList, minSeverity: "medium", groupId: "g", topicPrefix: "" },
    });
    const alerts = [
      buildIdsAlert(),
      buildIdsAlert({ severity: "low", time: "2026-03-10T09:30:00.000Z" }),
      buildIdsAlert({ asset_ip: "172.16.10.5", dst: { ip: "172.16.10.5", port: 80 }, severity: "medium" }),
    ];
    await transport.send(
      topicName(topics.idsAlerts),
      alerts.map((alert) =>
        encodeValue(topics.idsAlerts, alert, { key: idsRecordKey(alert), source: "test" }),
      ),
    );
    const findings = await waitForFindings(2);
    await engine.stop();
    expect(findings.map((f) => [f.asset.id, f.severity]).sort()).toEqual([
      ["dc01", "critical"],
      ["www01", "medium"],
    ]);
    const records = await transport.readAll(topicName(topics.findings));
    expect(records.map((r) => r.key?.toString()).sort()).toEqual(["dc01", "www01"]);
    expect(records[0]!.headers.ce_source).toBe("vigil/rules-engine");
    expect(engine.assets.assetCount).toBe(5);
  });

  it("refuses to start on a bad priority list, before consuming anything", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vigil-rules-"));
    try {
      const bad = join(dir, "list.yaml");
      await writeFile(
        bad,
        "version: 1\ndefaultTier: medium\nassets:\n  - { id: x, ips: [10.0.0.1], tier: urgent }\n",
      );
      await expect(
        startRulesEngine({
          transport,
          logger,
          config: { priorityList: bad, minSeverity: "low", groupId: "g", topicPrefix: "" },
        }),
      ).rejects.toThrow(
        `invalid priority list ${bad}:\n  assets[0].tier: expected one of critical|high|medium|low`,
      );
      expect(await transport.committedOffsets("g", topicName(topics.idsAlerts))).toEqual(
        Array.from({ length: topics.idsAlerts.partitions }, (_, partition) => ({ partition, offset: "-1" })),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("cli", () => {
  const exit = (code: number): never => {
    throw new Error(`exit ${code}`);
  };

  it("requires the priority list and validates --min-severity", () => {
    expect(() => cli.parse([], {}, { out: () => {}, exit })).toThrow(ConfigError);
    expect(() =>
      cli.parse(["--priority-list", "a.yaml", "--min-severity", "severe"], {}, { out: () => {}, exit }),
    ).toThrow(/--min-severity \/ VIGIL_MIN_SEVERITY/);
  });

  it("takes the list from VIGIL_PRIORITY_LIST and has defaults", () => {
    const { values } = cli.parse([], { VIGIL_PRIORITY_LIST: "list.yaml" }, { out: () => {}, exit });
    expect(values).toMatchObject({
      priorityList: "list.yaml",
      minSeverity: "low",
      groupId: "vigil-rules-engine",
      topicPrefix: "",
    });
  });
});
