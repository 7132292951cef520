import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { incidentSchemaBlock, README_PATH, readmeSchemaBlock, withSchemaBlock } from "./readme-schema.ts";

describe("README incident schema", () => {
  it("matches the JSON Schema generated from IncidentV1 (run `pnpm readme:schema` to update)", async () => {
    const readme = await readFile(README_PATH, "utf8");
    expect(readmeSchemaBlock(readme)).toBe(incidentSchemaBlock());
  });

  it("documents every field of the record", () => {
    const schema = JSON.parse(incidentSchemaBlock().split("```json\n")[1]!.split("\n```")[0]!) as {
      required: string[];
    };
    expect(schema.required).toEqual(
      expect.arrayContaining(["id", "version", "finding_count", "window_start", "evidence"]),
    );
  });

  it("refuses a README without the markers", () => {
    expect(() => withSchemaBlock("# no markers\n")).toThrow(/markers/);
  });
});
