import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { IdsAlertV1 } from "@vigil/schema";
import { beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { parseSuricataEve } from "./suricata.ts";

/**
 * OISF/suricata-verify holds no eve.json (producing one needs Suricata and the pcaps), but its
 * test.yaml checks name real EVE alert field paths and values, and its rules files carry the real
 * msg / sid / metadata / reference text Suricata copies into `alert`. Records built from those are
 * what this parser must accept.
 */
const corpusDir = process.env.VIGIL_SURICATA_VERIFY_DIR ?? "/work/shared/corpora/suricata-verify";
const testsDir = join(corpusDir, "tests");

interface RuleText {
  msg: string;
  rev?: number;
  metadata: Record<string, string[]>;
  references: string[];
}

interface CorpusAlert {
  test: string;
  record: Record<string, unknown>;
  rule: RuleText | undefined;
}

/** Suricata's reference.config prefixes, as Suricata 8 expands `reference:` into `alert.references`. */
const referencePrefixes: Record<string, string> = {
  url: "https://",
  cve: "https://cve.mitre.org/cgi-bin/cvename.cgi?name=",
  bugtraq: "http://www.securityfocus.com/bid/",
};

function parseRules(text: string): Map<number, RuleText> {
  const rules = new Map<number, RuleText>();
  const joined = text.replace(/\\\r?\n/g, " ");
  for (const raw of joined.split("\n")) {
    const rule = raw.trim();
    if (rule === "" || rule.startsWith("#")) continue;
    const sid = /[(;]\s*sid\s*:\s*(\d+)\s*;/.exec(rule)?.[1];
    const msg = /msg\s*:\s*"((?:[^"\\]|\\.)*)"/.exec(rule)?.[1];
    if (sid === undefined || msg === undefined) continue;
    const metadata: Record<string, string[]> = {};
    for (const match of rule.matchAll(/[(;]\s*metadata\s*:([^;]*);/g)) {
      for (const pair of (match[1] ?? "").split(",")) {
        const [key, ...rest] = pair.trim().split(/\s+/);
        if (!key || rest.length === 0) continue;
        const values = metadata[key] ?? [];
        values.push(rest.join(" "));
        metadata[key] = values;
      }
    }
    const references: string[] = [];
    for (const match of rule.matchAll(/[(;]\s*reference\s*:\s*([a-z0-9_]+)\s*,\s*([^;]*);/gi)) {
      const system = (match[1] ?? "").toLowerCase();
      const id = (match[2] ?? "").trim();
      references.push(`${referencePrefixes[system] ?? `${system},`}${id.replace(/^https?:\/\//, "")}`);
    }
    const rev = /[(;]\s*rev\s*:\s*(\d+)\s*;/.exec(rule)?.[1];
    rules.set(Number(sid), {
      msg: msg.replace(/\\(.)/g, "$1"),
      metadata,
      references,
      ...(rev !== undefined ? { rev: Number(rev) } : {}),
    });
  }
  return rules;
}

function rulesOf(testDir: string, descriptor: Record<string, unknown>): Map<number, RuleText> {
  const files = readdirSync(testDir)
    .filter((name) => name.endsWith(".rules"))
    .map((name) => join(testDir, name));
  if (typeof descriptor.rules === "string" && descriptor.rules.endsWith(".rules"))
    files.push(join(testDir, descriptor.rules));
  const rules = new Map<number, RuleText>();
  for (const file of files) {
    if (!existsSync(file)) continue;
    for (const [sid, rule] of parseRules(readFileSync(file, "utf8"))) rules.set(sid, rule);
  }
  return rules;
}

function alertMatches(descriptor: Record<string, unknown>): Array<Record<string, unknown>> {
  const checks = Array.isArray(descriptor.checks) ? descriptor.checks : [];
  const matches: Array<Record<string, unknown>> = [];
  for (const check of checks) {
    const match = (check as { filter?: { match?: unknown } } | null)?.filter?.match;
    if (typeof match !== "object" || match === null) continue;
    const fields = match as Record<string, unknown>;
    if (fields.event_type === "alert" && typeof fields["alert.signature_id"] === "number")
      matches.push(fields);
  }
  return matches;
}

/** A plausible EVE alert: the check's own field values where it names them, the rule's text for the rest. */
function buildRecord(
  match: Record<string, unknown>,
  rule: RuleText | undefined,
  index: number,
): Record<string, unknown> | undefined {
  const pick = (path: string) => match[path];
  const signature = pick("alert.signature") ?? rule?.msg;
  if (typeof signature !== "string") return undefined;
  const alert: Record<string, unknown> = {
    action: pick("alert.action") ?? "allowed",
    gid: pick("alert.gid") ?? 1,
    signature_id: pick("alert.signature_id"),
    rev: pick("alert.rev") ?? rule?.rev ?? 1,
    signature,
    category: pick("alert.category") ?? "Misc activity",
    severity: pick("alert.severity") ?? 3,
  };
  if (rule && Object.keys(rule.metadata).length > 0) alert.metadata = rule.metadata;
  const references =
    pick("alert.references") ?? (rule && rule.references.length > 0 ? rule.references : undefined);
  if (references !== undefined) alert.references = references;
  const record: Record<string, unknown> = {
    timestamp: `2024-01-17T10:${String(index % 60).padStart(2, "0")}:17.542011+0100`,
    flow_id: 1_530_218_453_296_374 + index,
    in_iface: "ens192",
    event_type: "alert",
    src_ip: pick("src_ip") ?? "192.168.2.3",
    src_port: pick("src_port") ?? 39_867,
    dest_ip: pick("dest_ip") ?? "209.85.225.105",
    dest_port: pick("dest_port") ?? 80,
    proto: pick("proto") ?? "TCP",
    alert,
  };
  for (const key of ["app_proto", "community_id", "payload_printable"]) {
    if (typeof match[key] === "string") record[key] = match[key];
  }
  const http = Object.fromEntries(
    ["hostname", "url", "http_method"].flatMap((key) =>
      typeof match[`http.${key}`] === "string" ? [[key, match[`http.${key}`]]] : [],
    ),
  );
  if (Object.keys(http).length > 0) record.http = http;
  return record;
}

/** Alerts the checks expect, with their field values; then one alert per rule of every rules file. */
function loadCorpus(): { checked: CorpusAlert[]; fromRules: CorpusAlert[] } {
  const alerts: CorpusAlert[] = [];
  const fromRules: CorpusAlert[] = [];
  for (const test of readdirSync(testsDir).sort()) {
    for (const [sid, rule] of rulesOf(join(testsDir, test), {})) {
      const record = buildRecord({ "alert.signature_id": sid }, rule, fromRules.length);
      if (record) fromRules.push({ test, record, rule });
    }
    const descriptorPath = join(testsDir, test, "test.yaml");
    if (!existsSync(descriptorPath)) continue;
    let descriptor: unknown;
    try {
      descriptor = parseYaml(readFileSync(descriptorPath, "utf8"));
    } catch {
      continue; // a handful of descriptors use YAML this library reads differently; they are not what we test
    }
    if (typeof descriptor !== "object" || descriptor === null) continue;
    const matches = alertMatches(descriptor as Record<string, unknown>);
    if (matches.length === 0) continue;
    const rules = rulesOf(join(testsDir, test), descriptor as Record<string, unknown>);
    for (const match of matches) {
      const rule = rules.get(match["alert.signature_id"] as number);
      const record = buildRecord(match, rule, alerts.length);
      if (record) alerts.push({ test, record, rule });
    }
  }
  return { checked: alerts, fromRules };
}

describe("Suricata EVE alerts built from suricata-verify", () => {
  let checked: CorpusAlert[] = [];
  let fromRules: CorpusAlert[] = [];

  beforeAll(() => {
    if (!existsSync(testsDir)) {
      throw new Error(
        `suricata-verify corpus not found at ${testsDir}: copy OISF/suricata-verify's tests/ there ` +
          "(see its SOURCES.md) or point VIGIL_SURICATA_VERIFY_DIR at a checkout.",
      );
    }
    ({ checked, fromRules } = loadCorpus());
  });

  it("finds hundreds of real alert checks and thousands of rules", () => {
    expect(checked.length).toBeGreaterThan(500);
    expect(checked.filter((entry) => entry.rule !== undefined).length).toBeGreaterThan(300);
    expect(fromRules.length).toBeGreaterThan(5000);
    expect(
      fromRules.filter((entry) => entry.rule && Object.keys(entry.rule.metadata).length > 0).length,
    ).toBeGreaterThan(20);
  });

  it("normalises every one of them into a valid IdsAlertV1 with the corpus' own values", () => {
    const rejected: string[] = [];
    for (const { test, record } of [...checked, ...fromRules]) {
      const result = parseSuricataEve(JSON.stringify(record));
      if (result.status !== "alert") {
        rejected.push(`${test}: ${result.status === "invalid" ? result.reason : result.status}`);
        continue;
      }
      const alert = IdsAlertV1.parse(result.alert);
      const source = record.alert as Record<string, unknown>;
      expect(alert.finding_info.analytic.uid).toBe(String(source.signature_id));
      expect(alert.finding_info.title).toBe(source.signature);
      expect(alert.src_endpoint?.ip).toBe(record.src_ip);
      expect(alert.dst_endpoint?.ip).toBe(record.dest_ip);
      expect(alert.connection_info.protocol_name).toBe(String(record.proto).toLowerCase());
      expect(alert.rule_metadata).toEqual(source.metadata ?? {});
    }
    expect(rejected).toEqual([]);
  });

  it("reads CVEs and references the way ET and Suricata 8 write them", () => {
    const log4j = fromRules.find((entry) => entry.rule?.metadata.cve?.includes("CVE_2021_44228"));
    const zerologon = checked.find((entry) => entry.test === "reference-03");
    if (!log4j || !zerologon)
      throw new Error("the corpus lacks the log4j rule or the reference-03 test it used to have");
    const log4jResult = parseSuricataEve(JSON.stringify(log4j.record));
    const zerologonResult = parseSuricataEve(JSON.stringify(zerologon.record));
    if (log4jResult.status !== "alert" || zerologonResult.status !== "alert")
      throw new Error("not parsed as alerts");
    expect(log4jResult.alert.cves).toContain("CVE-2021-44228");
    expect(log4jResult.alert.severity).toBe("high"); // signature_severity Major raises priority 3
    expect(zerologonResult.alert.references).toContain("https://github.com/corelight/zerologon");
    expect(zerologonResult.alert.cves).toEqual(["CVE-2014-0160"]);
  });

  it("raises severity for every rule the ET set marks Major or Critical", () => {
    const marked = fromRules.filter((entry) => entry.rule?.metadata.signature_severity !== undefined);
    expect(marked.length).toBeGreaterThan(0);
    for (const { record, rule } of marked) {
      const result = parseSuricataEve(JSON.stringify(record));
      if (result.status !== "alert") throw new Error(`not an alert: ${JSON.stringify(result)}`);
      const declared = rule?.metadata.signature_severity ?? [];
      if (declared.includes("Critical")) expect(result.alert.severity).toBe("critical");
      else if (declared.includes("Major")) expect(result.alert.severity).toBe("high");
    }
  });
});
