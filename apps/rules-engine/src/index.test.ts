import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { silentLogger } from "@vigil/observability";
import { defineRule, PackError } from "@vigil/rules";
import { buildDeniedConnection, buildIdsAlert } from "@vigil/rules/testing";
import {
  dlqHeader,
  FindingV1,
  type FirewallEventV1,
  idsRecordKey,
  type ReferenceDocumentV1,
  type RuleRepartitionV1,
  referenceKey,
  topicName,
  topics,
} from "@vigil/schema";
import {
  createEmbeddedTransport,
  EmbeddedBroker,
  encodeValue,
  ensureRegistryTopics,
  type OutgoingMessage,
  overrideTransport,
  type Transport,
} from "@vigil/stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  cli,
  isConfigError,
  type RulesEngineConfig,
  type RunningRulesEngine,
  startRulesEngine,
} from "./index.ts";

const example = (path: string) => fileURLToPath(new URL(`../../../examples/${path}`, import.meta.url));
const logger = silentLogger();
let transport: Transport;
let engine: RunningRulesEngine | undefined;

const baseConfig: RulesEngineConfig = {
  pack: ["@vigil/rules-core-pack"],
  priorityList: [],
  baselines: [],
  exceptions: [],
  groupId: "g",
  topicPrefix: "",
};

beforeEach(async () => {
  transport = createEmbeddedTransport({ broker: new EmbeddedBroker() });
  await ensureRegistryTopics(transport);
});
afterEach(async () => {
  await engine?.stop();
  engine = undefined;
  await transport.close();
});

async function readFindings(count: number): Promise<FindingV1[]> {
  for (let i = 0; i < 500; i++) {
    const records = await transport.readAll(topicName(topics.findings));
    if (records.length >= count) return records.map((r) => FindingV1.parse(JSON.parse(String(r.value))));
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`expected ${count} findings`);
}

async function waitForState(
  done: (records: Awaited<ReturnType<Transport["readAll"]>>) => boolean,
): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (done(await transport.readAll(topicName(topics.rulesState)))) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error("the correlation state was not published");
}

async function publishDocument(kind: ReferenceDocumentV1["kind"], name: string, content: string) {
  const document: ReferenceDocumentV1 = {
    schema: "vigil.reference/v1",
    kind,
    name,
    time: "2024-03-12T06:00:00Z",
    origin: `test:${name}`,
    sha256: createHash("sha256").update(content).digest("hex"),
    content,
  };
  await transport.send(topicName(topics.reference), [
    encodeValue(topics.reference, document, { key: referenceKey(document), source: "test" }),
  ]);
}

const deniedConnection = (n: number, port: number) => buildDeniedConnection(n, port, "2024-03-12T09:12:00Z");

const sendFirewall = (events: FirewallEventV1[]) =>
  transport.send(
    topicName(topics.firewallEvents),
    events.map((event) =>
      encodeValue(topics.firewallEvents, event, { key: event.asset_ip ?? "", source: "test" }),
    ),
  );

describe("startRulesEngine", () => {
  it("restores the reference documents from vigil.reference before judging an event", async () => {
    // Only on the topic, not in a file: the engine must have read it before the alert is judged.
    await publishDocument(
      "priority-list",
      "assets",
      await readFile(example("assets/priority-list.yaml"), "utf8"),
    );
    const alert = buildIdsAlert({ severity: "high" });
    await transport.send(topicName(topics.idsAlerts), [
      encodeValue(topics.idsAlerts, alert, { key: idsRecordKey(alert), source: "test" }),
    ]);
    engine = await startRulesEngine({ transport, logger, config: baseConfig });
    expect(engine.tables.documents().map((d) => `${d.kind}/${d.name}`)).toEqual(["priority-list/assets"]);
    const [finding] = await readFindings(1);
    expect(finding?.rule.id).toBe("core.ids.high-severity-priority-asset");
    expect(finding?.asset).toMatchObject({ priority: "critical" });
    // High on a critical-tier asset is raised one step, and the explanation says why.
    expect(finding?.severity).toBe("critical");
    expect(finding?.explanation.conditions.join("\n")).toMatch(/critical/);
  });

  it("follows reference documents live: a withdrawn priority list no longer raises the tier", async () => {
    await publishDocument(
      "priority-list",
      "assets",
      await readFile(example("assets/priority-list.yaml"), "utf8"),
    );
    engine = await startRulesEngine({ transport, logger, config: baseConfig });
    await transport.send(topicName(topics.reference), [{ key: "priority-list/assets", value: null }]);
    for (let i = 0; i < 200 && engine.tables.documents().length > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(engine.tables.documents()).toEqual([]);
    const alert = buildIdsAlert({ severity: "high" });
    await transport.send(topicName(topics.idsAlerts), [
      encodeValue(topics.idsAlerts, alert, { key: idsRecordKey(alert), source: "test" }),
    ]);
    // Without the list the address is an unknown medium-tier asset: no priority-asset finding.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const findings = (await transport.readAll(topicName(topics.findings))).map((r) =>
      FindingV1.parse(JSON.parse(String(r.value))),
    );
    expect(findings.map((f) => f.rule.id)).not.toContain("core.ids.high-severity-priority-asset");
  });

  it("keeps correlation state across a restart through vigil.rules.state", async () => {
    engine = await startRulesEngine({ transport, logger, config: baseConfig });
    await sendFirewall([20, 21, 22, 23, 25, 53].map((port, n) => deniedConnection(n, port)));
    for (let i = 0; i < 200; i++) {
      if ((await transport.readAll(topicName(topics.rulesState))).length > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await engine.stop();
    engine = undefined;
    expect((await transport.readAll(topicName(topics.findings))).length).toBe(0);

    // A new instance: six ports are remembered, four more within the minute make a scan.
    engine = await startRulesEngine({ transport, logger, config: baseConfig });
    await sendFirewall([80, 110, 143, 443].map((port, n) => deniedConnection(n + 6, port)));
    const findings = await readFindings(1);
    const scan = findings.find((f) => f.rule.id === "core.firewall.port-scan");
    expect(scan?.title).toContain("198.51.100.23");
    expect(scan?.events.length).toBeGreaterThanOrEqual(10);
  });

  it("raises a scan whose finding could not be published once its batch comes again (state re-read, not ahead)", async () => {
    // More failures than one batch's retry budget: the batch fails after its events were counted.
    let failuresLeft = 3;
    const flaky = overrideTransport(transport, {
      send: async (topic: string, messages: OutgoingMessage[]) => {
        if (topic === topicName(topics.findings) && failuresLeft-- > 0) throw new Error("leader moving");
        return transport.send(topic, messages);
      },
    });
    engine = await startRulesEngine({
      transport: flaky,
      logger,
      config: baseConfig,
      sendRetry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 2, factor: 2 },
    });
    await sendFirewall(
      [20, 21, 22, 23, 25, 53, 80, 110, 143, 443].map((port, n) => deniedConnection(n, port)),
    );
    const findings = await readFindings(1);
    expect(failuresLeft).toBeLessThan(0);
    const scans = findings.filter((f) => f.rule.id === "core.firewall.port-scan");
    expect(scans).toHaveLength(1);
    expect(scans[0]?.events.length).toBeGreaterThanOrEqual(10);
  });

  // Whichever of two instances owned the scanned host's partition, the one left must carry on
  // from what the other published, not from what it read at its own start.
  for (const leaving of ["first", "second"] as const) {
    it(`carries a correlation on when the ${leaving} of two instances leaves the group`, async () => {
      const first = await startRulesEngine({ transport, logger, config: baseConfig });
      const second = await startRulesEngine({ transport, logger, config: baseConfig });
      const [gone, staying] = leaving === "first" ? [first, second] : [second, first];
      engine = staying;
      try {
        await sendFirewall([20, 21, 22, 23, 25, 53].map((port, n) => deniedConnection(n, port)));
        await waitForState((records) =>
          records.some((r) => String(r.key).startsWith("core.firewall.port-scan/k/")),
        );
      } finally {
        await gone.stop();
      }
      await sendFirewall([80, 110, 143, 443].map((port, n) => deniedConnection(n + 6, port)));
      const scan = (await readFindings(1)).find((f) => f.rule.id === "core.firewall.port-scan");
      expect(scan?.title).toContain("198.51.100.23");
      expect(scan?.events.length).toBeGreaterThanOrEqual(10);
    });
  }

  it("sees a sweep whole while two instances share the partitions of the hosts it probes", async () => {
    // One source, denied on six addresses within seconds: keyed by the inside address, these
    // events spread over the firewall topic's partitions, and so over both instances.
    const targets = [
      "172.16.10.5",
      "172.16.10.6",
      "172.16.10.7",
      "172.16.10.8",
      "172.16.10.9",
      "172.16.10.10",
    ];
    const sweep = targets.map((ip, n) => ({
      ...deniedConnection(n, 445),
      dst_endpoint: { ip, port: 445 },
      asset_ip: ip,
    }));
    const first = await startRulesEngine({ transport, logger, config: baseConfig });
    engine = await startRulesEngine({ transport, logger, config: baseConfig });
    try {
      // Each instance busy with its partitions first (one unrelated event on every partition), so
      // that neither reads the other's published state for a partition it has just been given.
      const warmUp = [
        "172.16.10.15",
        "172.16.10.4",
        "172.16.10.3",
        "172.16.10.2",
        "172.16.10.1",
        "172.16.10.8",
      ];
      await sendFirewall(
        warmUp.map((ip, n) => ({
          ...deniedConnection(100 + n, 22),
          src_endpoint: { ip: `203.0.113.${n + 1}`, port: 40000 },
          dst_endpoint: { ip, port: 22 },
          asset_ip: ip,
        })),
      );
      for (let i = 0; i < 500; i++) {
        const committed = await transport.committedOffsets("g", topicName(topics.firewallEvents));
        if (committed.filter((entry) => entry.offset === "1").length === warmUp.length) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await sendFirewall(sweep);
      const found = await readFindings(1);
      const sweeps = found.filter((f) => f.rule.id === "core.firewall.address-sweep");
      expect(sweeps).toHaveLength(1);
      expect(sweeps[0]?.title).toContain("198.51.100.23");
      expect(sweeps[0]?.events.length).toBeGreaterThanOrEqual(5);
    } finally {
      await first.stop();
    }
    // The events went through vigil.rules.repartition keyed by the source, once per event.
    const routed = await transport.readAll(topicName(topics.rulesRepartition));
    expect(routed.map((r) => String(r.key)).filter((key) => key === "198.51.100.23")).toHaveLength(
      sweep.length,
    );
  });

  it("dead-letters a re-keyed record that is not an event of its kind, and goes on", async () => {
    engine = await startRulesEngine({ transport, logger, config: baseConfig });
    const bad: RuleRepartitionV1 = {
      schema: "vigil.rules.repartition/v1",
      kind: "firewall.event",
      topic: topicName(topics.firewallEvents),
      key: "172.16.10.5",
      rules: ["core.firewall.address-sweep"],
      event: { schema: "vigil.firewall.event/v1", id: 42 },
    };
    await transport.send(topicName(topics.rulesRepartition), [
      encodeValue(topics.rulesRepartition, bad, { key: "198.51.100.23", source: "test" }),
      { key: "198.51.100.23", value: "{truncated" },
    ]);
    let dead: Awaited<ReturnType<Transport["readAll"]>> = [];
    for (let i = 0; i < 200 && dead.length < 2; i++) {
      dead = await transport.readAll(topicName(topics.dlq));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(dead.map((r) => r.headers[dlqHeader.kind]).sort()).toEqual(["json", "processing"]);
    expect(dead.find((r) => r.headers[dlqHeader.kind] === "processing")?.headers[dlqHeader.reason]).toMatch(
      /id/,
    );
    // Still judging: a scan after the bad records is raised.
    await sendFirewall(
      [20, 21, 22, 23, 25, 53, 80, 110, 143, 443].map((port, n) => deniedConnection(n, port)),
    );
    expect((await readFindings(1)).map((f) => f.rule.id)).toContain("core.firewall.port-scan");
  });

  it("dead-letters an event a rule fails on, with the rule named, and keeps the other rules' findings", async () => {
    const failing = defineRule({
      id: "test.failing",
      name: "fails",
      version: 1,
      description: "throws on every alert",
      on: ["ids.alert"],
      evaluate: () => {
        throw new Error("lookup table exploded");
      },
    });
    const working = defineRule({
      id: "test.working",
      name: "works",
      version: 1,
      description: "one finding per alert",
      on: ["ids.alert"],
      evaluate: (event, { tables }) => {
        const asset = tables.resolveAsset({ ip: event.value.asset_ip ?? "" });
        return [
          {
            schema: "vigil.finding/v1",
            id: `fnd-${event.id}`,
            time: event.value.time_dt,
            rule: { id: "test.working", name: "works", version: 1 },
            severity: "low",
            title: "t",
            description: "d",
            asset: asset.ref,
            group_key: "g",
            events: [{ topic: event.topic, id: event.id, time: event.value.time_dt, summary: "s" }],
            explanation: { summary: "s", conditions: [] },
            cves: [],
            attack: [],
            references: [],
          },
        ];
      },
    });
    engine = await startRulesEngine({ transport, logger, config: baseConfig, rules: [failing, working] });
    const alert = buildIdsAlert();
    await transport.send(topicName(topics.idsAlerts), [
      encodeValue(topics.idsAlerts, alert, { key: idsRecordKey(alert), source: "test" }),
      { key: "x", value: "{not json" },
    ]);
    const findings = await readFindings(1);
    expect(findings.map((f) => f.rule.id)).toEqual(["test.working"]);
    let dead: Awaited<ReturnType<Transport["readAll"]>> = [];
    for (let i = 0; i < 200 && dead.length < 2; i++) {
      dead = await transport.readAll(topicName(topics.dlq));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const kinds = dead.map((r) => r.headers[dlqHeader.kind]).sort();
    expect(kinds).toEqual(["json", "rule"]);
    const ruleFailure = dead.find((r) => r.headers[dlqHeader.kind] === "rule");
    expect(ruleFailure?.headers[dlqHeader.reason]).toContain("test.failing");
    expect(ruleFailure?.headers[dlqHeader.reason]).toContain("lookup table exploded");
    expect(JSON.parse(String(ruleFailure?.value)).id).toBe(alert.id);
  });

  it("refuses to start on a pack that does not exist or a broken reference file (configuration errors)", async () => {
    const missingPack = startRulesEngine({
      transport,
      logger,
      config: { ...baseConfig, pack: ["@vigil/no-such-pack"] },
    });
    await expect(missingPack).rejects.toBeInstanceOf(PackError);
    await expect(missingPack.catch((error: unknown) => isConfigError(error))).resolves.toBe(true);

    const brokenBaselines = startRulesEngine({
      transport,
      logger,
      config: { ...baseConfig, baselines: [example("assets/priority-list.yaml")] },
    });
    await expect(brokenBaselines.catch((error: unknown) => isConfigError(error))).resolves.toBe(true);
  });
});

describe("cli", () => {
  it("collects repeated reference flags and defaults to the core pack", () => {
    const { values } = cli.parse(
      ["--baselines", "a.yaml", "--baselines", "b.yaml", "--priority-list", "p.yaml"],
      {},
    );
    expect(values.baselines).toEqual(["a.yaml", "b.yaml"]);
    expect(values.priorityList).toEqual(["p.yaml"]);
    expect(values.pack).toEqual(["@vigil/rules-core-pack"]);
  });

  it("names the flag and what it expects on an empty pack", () => {
    expect(() => cli.parse(["--pack", ""], {})).toThrow(/--pack.*a pack name or path is required/s);
  });
});
