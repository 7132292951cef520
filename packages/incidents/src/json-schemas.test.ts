import { IncidentEventV1 } from "@vigil/schema";
import { describe, expect, it } from "vitest";
import { jsonSchemas, staleSchemas } from "./json-schemas.ts";

describe("schemas/*.json", () => {
  it("are what the zod schemas generate (run `node src/json-schemas.ts --write` after changing them)", async () => {
    expect(await staleSchemas()).toEqual([]);
  });

  it("describe the topics' records", () => {
    const event = JSON.parse(jsonSchemas().get("incident-event.json")!) as {
      title: string;
      required: string[];
      properties: Record<string, { enum?: string[] }>;
    };
    expect(event.title).toBe("vigil.incident-events");
    expect(event.required).toEqual(expect.arrayContaining(["id", "incident_id", "type", "time"]));
    expect(event.properties.type!.enum).toEqual(IncidentEventV1.shape.type.options);
  });
});
