import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { AdvisoryV1, AuditV1, FirewallEventV1, HostV1, IdsAlertV1, UpdateEventV1 } from "@vigil/schema";
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { sampleFiles } from "./cases.ts";
import { PACK_ROOT, renderSample } from "./generate.ts";

const schemas: Record<string, z.ZodType> = {
  "ids.alert": IdsAlertV1,
  "firewall.event": FirewallEventV1,
  "inventory.host": HostV1,
  "inventory.audit": AuditV1,
  "updates.agent": UpdateEventV1,
  advisory: AdvisoryV1,
};

function jsonlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return jsonlFiles(path);
    return entry.name.endsWith(".jsonl") ? [relative(PACK_ROOT, path)] : [];
  });
}

describe("sample events", () => {
  const files = jsonlFiles(join(PACK_ROOT, "tests")).sort();

  it("are exactly what cases.ts generates (run src/samples/generate.ts after changing it)", () => {
    expect(files).toEqual(Object.keys(sampleFiles).sort());
    for (const [file, make] of Object.entries(sampleFiles))
      expect(readFileSync(join(PACK_ROOT, file), "utf8"), file).toBe(renderSample(make()));
  });

  it.each(files)("%s: every line is a valid record of its kind", (file) => {
    const lines = readFileSync(join(PACK_ROOT, file), "utf8").split("\n").filter(Boolean);
    expect(lines.length).toBeGreaterThan(0);
    lines.forEach((line, index) => {
      const record = JSON.parse(line) as { kind: string; key?: unknown; value: unknown };
      const schema = schemas[record.kind];
      expect(schema, `${file}:${index + 1} kind ${record.kind}`).toBeDefined();
      const parsed = schema!.safeParse(record.value);
      expect(parsed.success, `${file}:${index + 1}: ${parsed.error?.message}`).toBe(true);
      expect(typeof record.key, `${file}:${index + 1} key`).toBe("string");
    });
  });
});
