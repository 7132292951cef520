/** Rendering of values in explanations and templates: short, single-line, never trusted. */

// biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
const controlCharacters = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/g;

/** Cuts `text` to `max` characters (an ellipsis marks the cut) and removes control characters. */
export function clip(text: string, max: number, keepNewlines = false): string {
  let clean = text.replace(controlCharacters, " ");
  if (!keepNewlines) clean = clean.replace(/[\n\t]/g, " ");
  return clean.length > max ? `${clean.slice(0, Math.max(0, max - 1))}…` : clean;
}

function isDelta(value: Record<string, unknown>): boolean {
  return "item" in value && "direction" in value && "expected" in value && "actual" in value;
}

/** One element of a list of objects in words (a baseline delta, an exposure, or its scalar fields). */
export function describeElement(value: unknown): string {
  if (value === null || typeof value !== "object") return show(value);
  const record = value as Record<string, unknown>;
  if (isDelta(record)) {
    const baseline = record.baseline as { name?: string; class?: string } | undefined;
    const excepted = record.excepted_by as { id?: string; reason?: string } | undefined;
    return clip(
      `${String(record.item)} ${String(record.direction)} baseline${baseline?.name ? ` ${baseline.name}` : ""}${
        baseline?.class ? ` (class ${baseline.class})` : ""
      }: expected ${String(record.expected)}, actual ${String(record.actual)}${
        excepted ? `, excepted by ${excepted.id ?? "?"}${excepted.reason ? ` (${excepted.reason})` : ""}` : ""
      }`,
      300,
    );
  }
  if ("cve" in record && "advisory" in record) {
    const advisory = record.advisory as { source?: string; id?: string } | undefined;
    const missing = Array.isArray(record.missing_kbs) ? (record.missing_kbs as string[]) : [];
    return clip(
      `${String(record.cve)} (${advisory?.source ?? "?"}/${advisory?.id ?? "?"})${
        missing.length > 0 ? ` missing ${missing.join(", ")}` : ""
      }${record.known_exploited ? ", known exploited" : ""}${record.reason ? `: ${String(record.reason)}` : ""}`,
      300,
    );
  }
  const parts: string[] = [];
  for (const [key, field] of Object.entries(record)) {
    if (field === null || field === undefined || typeof field === "object") continue;
    parts.push(`${key}=${show(field, 40)}`);
    if (parts.length >= 6) break;
  }
  return `{${parts.join(", ")}}`;
}

/** A value as an explanation shows it: strings quoted, lists shortened, objects summarised. */
export function show(value: unknown, max = 120): string {
  if (value === undefined || value === null) return "absent";
  if (typeof value === "string") return JSON.stringify(clip(value, max));
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint")
    return String(value);
  if (Array.isArray(value)) {
    const shown = value.slice(0, 5).map((item) => show(item, 60));
    if (value.length > 5) shown.push(`… ${value.length - 5} more`);
    return `[${shown.join(", ")}]`;
  }
  return describeElement(value);
}

/** A value as a template renders it: plain text, lists joined with commas, capped. */
export function renderValue(value: unknown, max: number): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return clip(value, max);
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint")
    return String(value);
  if (Array.isArray(value)) {
    const items: string[] = [];
    for (const item of value.slice(0, 20)) {
      const text = renderValue(item, max);
      if (text !== "") items.push(text);
    }
    const more = value.length > 20 ? ` (+${value.length - 20} more)` : "";
    return clip(items.join(", ") + more, max);
  }
  return clip(describeElement(value), max);
}
