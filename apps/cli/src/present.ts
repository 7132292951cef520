import { type IncidentV1, severityRank } from "@vigil/schema";

const tierRank = { critical: 4, high: 3, medium: 2, low: 1 } as const;
const urgencyRank = { critical: 4, high: 3, medium: 2, low: 1 } as const;
const actionText = {
  notify_owner: "notify owner",
  disable_default_accounts: "disable default accounts",
  remove_from_network: "remove from network",
} as const;

/** Keeps the newest version of each incident (the compacted topic's view) and orders them for triage. */
export function latestIncidents(records: IncidentV1[]): IncidentV1[] {
  const byId = new Map<string, IncidentV1>();
  for (const incident of records) {
    const current = byId.get(incident.id);
    if (!current || incident.version >= current.version) byId.set(incident.id, incident);
  }
  return [...byId.values()].sort(
    (a, b) =>
      urgencyRank[b.urgency ?? "low"] - urgencyRank[a.urgency ?? "low"] ||
      severityRank[b.severity] - severityRank[a.severity] ||
      tierRank[b.asset.priority] - tierRank[a.asset.priority] ||
      b.finding_count - a.finding_count ||
      a.first_seen.localeCompare(b.first_seen) ||
      a.id.localeCompare(b.id),
  );
}

const clip = (text: string, width: number): string =>
  text.length > width ? `${text.slice(0, width - 1)}…` : text;
const hhmm = (iso: string): string => iso.slice(11, 16);

/** The incidents as an analyst reads them: one line each, then why it was raised. */
export function formatIncidents(incidents: IncidentV1[], options: { color?: boolean } = {}): string {
  const paint = (code: number, text: string) => (options.color ? `\u001b[${code}m${text}\u001b[0m` : text);
  const severityColor = { critical: 31, high: 91, medium: 33, low: 36, informational: 37 } as const;
  const lines: string[] = [];
  incidents.forEach((incident, index) => {
    const asset = incident.asset.hostname ?? incident.asset.ip ?? incident.asset.id;
    const where = incident.asset.ip && incident.asset.hostname ? `${asset} (${incident.asset.ip})` : asset;
    const head = [
      `${String(index + 1).padStart(2)}.`,
      paint(
        severityColor[incident.urgency ?? incident.severity],
        `${(incident.urgency ?? "?").toUpperCase()}`.padEnd(8),
      ),
      `${incident.severity.padEnd(8)} asset ${incident.asset.priority.padEnd(8)} ${incident.status.padEnd(8)}`,
      clip(incident.title, 80),
    ].join(" ");
    lines.push(head);
    const seen =
      incident.first_seen === incident.last_seen
        ? `at ${hhmm(incident.first_seen)}`
        : `${hhmm(incident.first_seen)}–${hhmm(incident.last_seen)} UTC`;
    lines.push(
      `    ${incident.id}  ${incident.finding_count} finding${incident.finding_count === 1 ? "" : "s"} ${seen}  on ${where}${incident.asset.owner ? `, owner ${incident.asset.owner}` : ""}`,
    );
    lines.push(`    why: ${clip(incident.explanation.replace(/\s+/g, " "), 160)}`);
    if (incident.cves.length > 0) lines.push(`    cves: ${incident.cves.join(", ")}`);
    const escalation = incident.escalation;
    if (escalation && incident.status !== "resolved" && incident.status !== "closed") {
      const steps = escalation.plan.map(
        (step) =>
          `L${step.level} ${actionText[step.action]} ${step.level <= escalation.level ? "done" : `at ${step.at.slice(0, 16).replace("T", " ")}`}`,
      );
      const sla = incident.sla
        ? `; resolve by ${incident.sla.due.slice(0, 16).replace("T", " ")}${incident.sla.breached ? " (SLA breached)" : ""}`
        : "";
      lines.push(
        `    ladder: level ${escalation.level}${steps.length > 0 ? `: ${steps.join(", ")}` : ""}${sla}`,
      );
    } else if (incident.resolution) {
      lines.push(`    resolved: ${clip(incident.resolution.summary, 150)}`);
    }
  });
  return lines.join("\n");
}
