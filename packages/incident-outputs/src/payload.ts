/**
 * Every mapping from an incident to what a receiver sees lives here, so a new incident field is
 * added in one place. The response fields of IncidentV1 (urgency, owner, escalation, observables,
 * SLA) are optional in the schema (records written before them): a record without them still renders.
 *
 * Incident strings are untrusted (titles carry attacker-controlled host names, IDS signatures,
 * log lines): each format escapes them for its own renderer.
 */
import { createHash } from "node:crypto";
import type { IncidentContact, IncidentV1, Observable, Urgency } from "@vigil/schema";
import type { Delivery } from "./delivery.ts";

/** What every output renders, from one incident and the change being delivered. */
export interface IncidentView {
  id: string;
  title: string;
  description: string;
  /** The rule's explanation: why this is an incident. */
  why: string;
  severity: IncidentV1["severity"];
  urgency: Urgency | undefined;
  status: string;
  event: string;
  eventSummary: string;
  asset: { id: string; ip: string | undefined; hostname: string | undefined; priority: string };
  owner: { organisation: string; contacts: string[] } | undefined;
  assignee: string | undefined;
  escalationLevel: number | undefined;
  slaDue: string | undefined;
  cves: string[];
  attack: string[];
  observables: Observable[];
  findingCount: number;
  firstSeen: string;
  lastSeen: string;
  version: number;
}

export function incidentView(delivery: Delivery): IncidentView {
  const { incident, event } = delivery;
  const owner =
    incident.owner ??
    (incident.asset.owner ? { organisation: incident.asset.owner, contacts: [] } : undefined);
  return {
    id: incident.id,
    title: incident.title,
    description: incident.description,
    why: incident.explanation,
    severity: incident.severity,
    urgency: incident.urgency,
    status: incident.status,
    event: event.type,
    eventSummary: event.summary,
    asset: {
      id: incident.asset.id,
      ip: incident.asset.ip,
      hostname: incident.asset.hostname,
      priority: incident.asset.priority,
    },
    owner: owner && { organisation: owner.organisation, contacts: owner.contacts.map(contactText) },
    assignee: incident.assignee,
    escalationLevel: incident.escalation?.level,
    slaDue: incident.sla?.due,
    cves: incident.cves,
    attack: incident.attack,
    observables: observablesOf(incident),
    findingCount: incident.finding_count,
    firstSeen: incident.first_seen,
    lastSeen: incident.last_seen,
    version: incident.version,
  };
}

function contactText(contact: IncidentContact): string {
  const name = contact.name ?? contact.role ?? "";
  if (contact.email) return name ? `${name} <${contact.email}>` : contact.email;
  return name || (contact.phone ?? "");
}

/** The incident's own observables plus what the asset and CVE list say, without duplicates. */
function observablesOf(incident: IncidentV1): Observable[] {
  const all: Observable[] = [
    ...(incident.observables ?? []),
    ...(incident.asset.ip ? [{ type: "ip" as const, value: incident.asset.ip }] : []),
    ...(incident.asset.hostname ? [{ type: "hostname" as const, value: incident.asset.hostname }] : []),
    ...incident.cves.map((value) => ({ type: "cve" as const, value })),
  ];
  const seen = new Set<string>();
  return all.filter((observable) => {
    const key = `${observable.type}\u0000${observable.value}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

// ---- escaping ------------------------------------------------------------------------------

/** Control characters (CR, LF, NUL, ...) become spaces: nothing can start a new header or line. */
export function singleLine(text: string, maxLength = 250): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
  const flat = text.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, " ").trim();
  return flat.length > maxLength ? `${flat.slice(0, maxLength - 1)}…` : flat;
}

export function escapeHtml(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

/** Slack's own rule: `&`, `<`, `>` are control characters in its text; links and mentions need `<`. */
export function escapeSlack(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/**
 * Markdown (CommonMark, as TheHive renders it): punctuation that could start emphasis, links,
 * images, headings, lists, tables or code is backslash-escaped, and raw HTML is turned into text.
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/[\\`*_{}[\]()#+\-.!|~]/g, (character) => `\\${character}`)
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;");
}

/** `https://console/incidents/{id}` with the id percent-encoded; undefined without a template. */
export function consoleLink(template: string | undefined, incidentId: string): string | undefined {
  return template?.replaceAll("{id}", encodeURIComponent(incidentId));
}

/**
 * The key as an HTTP header value: printable ASCII passes as is (the keys Vigil makes), anything
 * else is percent-encoded, which stays deterministic so receivers still dedupe.
 */
export function headerSafeKey(key: string): string {
  return /^[\x21-\x7e]{1,1024}$/.test(key) ? key : encodeURIComponent(key).slice(0, 1024);
}

export function keyDigest(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

// ---- webhook -------------------------------------------------------------------------------

/** The webhook body: the delivery as is, so a receiver gets the full incident state. */
export function webhookBody(delivery: Delivery): Record<string, unknown> {
  return {
    schema: "vigil.incident-delivery/v1",
    key: delivery.key,
    event: delivery.event,
    incident: delivery.incident,
  };
}

// ---- Slack ---------------------------------------------------------------------------------

const severityMarker: Record<IncidentV1["severity"], string> = {
  critical: ":red_circle:",
  high: ":large_orange_circle:",
  medium: ":large_yellow_circle:",
  low: ":large_blue_circle:",
  informational: ":white_circle:",
};

type PlainText = { type: "plain_text"; text: string; emoji: false };
const plain = (text: string, maxLength = 3000): PlainText => ({
  type: "plain_text",
  text: truncate(text, maxLength) || " ",
  emoji: false,
});

function truncate(text: string, maxLength: number): string {
  return text.length > maxLength ? `${text.slice(0, maxLength - 1)}…` : text;
}

/**
 * Incoming-webhook JSON. Untrusted strings go into `plain_text` objects (Slack renders no markup
 * there) and are escaped where they must sit in `mrkdwn` (the notification `text`).
 */
export function slackMessage(
  view: IncidentView,
  consoleUrlTemplate: string | undefined,
): Record<string, unknown> {
  const link = consoleLink(consoleUrlTemplate, view.id);
  const rating = `${view.severity}${view.urgency ? ` / urgency ${view.urgency}` : ""}`;
  const asset = assetText(view);
  const owner = view.owner ? ownerText(view.owner) : "unassigned";
  const blocks: unknown[] = [
    { type: "header", text: plain(`${eventLabel(view)}: ${singleLine(view.title, 140)}`, 150) },
    {
      type: "section",
      fields: [
        plain(`Severity: ${rating}`),
        plain(`Status: ${view.status}`),
        plain(`Asset: ${asset}`),
        plain(`Owner: ${owner}`),
        ...(view.escalationLevel !== undefined ? [plain(`Escalation level: ${view.escalationLevel}`)] : []),
        ...(view.slaDue !== undefined ? [plain(`SLA due: ${view.slaDue}`)] : []),
        ...(view.cves.length > 0 ? [plain(`CVEs: ${view.cves.join(", ")}`)] : []),
      ].slice(0, 10),
    },
    { type: "section", text: plain(`Why: ${view.why}`) },
  ];
  if (link) {
    blocks.push({
      type: "actions",
      elements: [{ type: "button", text: plain("Open in console", 75), url: link }],
    });
  }
  blocks.push({
    type: "context",
    elements: [plain(`${view.eventSummary || view.event} · incident ${view.id} · version ${view.version}`)],
  });
  const text = `${severityMarker[view.severity]} ${escapeSlack(eventLabel(view))} [${escapeSlack(rating)}] ${escapeSlack(singleLine(view.title, 200))} (${escapeSlack(singleLine(asset, 100))})`;
  return { text: link ? `${text} <${link}|open>` : text, blocks };
}

function eventLabel(view: IncidentView): string {
  const label = singleLine(view.event, 40).replaceAll("_", " ");
  return label.charAt(0).toUpperCase() + label.slice(1);
}

function assetText(view: IncidentView): string {
  const names = [view.asset.hostname, view.asset.ip].filter((name) => name !== undefined);
  const name = names.length > 0 ? names.join(" / ") : view.asset.id;
  return `${name} (${view.asset.priority} priority)`;
}

function ownerText(owner: { organisation: string; contacts: string[] }): string {
  return owner.contacts.length > 0
    ? `${owner.organisation} (${owner.contacts.join(", ")})`
    : owner.organisation;
}

// ---- email ---------------------------------------------------------------------------------

export interface EmailContent {
  subject: string;
  text: string;
  html: string;
}

export function emailContent(view: IncidentView, consoleUrlTemplate: string | undefined): EmailContent {
  const link = consoleLink(consoleUrlTemplate, view.id);
  const rating = `${view.severity}${view.urgency ? `, urgency ${view.urgency}` : ""}`;
  const rows: Array<[string, string]> = [
    ["Event", `${view.event}${view.eventSummary ? `: ${view.eventSummary}` : ""}`],
    ["Severity", rating],
    ["Status", view.status],
    ["Asset", assetText(view)],
    ["Owner", view.owner ? ownerText(view.owner) : "unassigned"],
    ...(view.slaDue !== undefined ? [["SLA due", view.slaDue] as [string, string]] : []),
    ...(view.escalationLevel !== undefined
      ? [["Escalation level", String(view.escalationLevel)] as [string, string]]
      : []),
    ...(view.cves.length > 0 ? [["CVEs", view.cves.join(", ")] as [string, string]] : []),
    ["Findings", `${view.findingCount} (first ${view.firstSeen}, last ${view.lastSeen})`],
    ["Incident", `${view.id} (version ${view.version})`],
  ];
  const text = [
    view.title,
    "",
    ...rows.map(([label, value]) => `${label}: ${value}`),
    "",
    `Why: ${view.why}`,
    "",
    view.description,
    ...(link ? ["", `Console: ${link}`] : []),
    "",
  ].join("\n");
  const html = [
    "<!doctype html><html><body>",
    `<h2>${escapeHtml(view.title)}</h2>`,
    "<table>",
    ...rows.map(
      ([label, value]) => `<tr><th align="left">${escapeHtml(label)}</th><td>${escapeHtml(value)}</td></tr>`,
    ),
    "</table>",
    `<p><strong>Why:</strong> ${escapeHtml(view.why)}</p>`,
    `<p style="white-space:pre-wrap">${escapeHtml(view.description)}</p>`,
    ...(link ? [`<p><a href="${escapeHtml(link)}">Open in the console</a></p>`] : []),
    "</body></html>",
  ].join("\n");
  return {
    subject: singleLine(
      `[Vigil ${view.severity}${view.urgency ? `/${view.urgency}` : ""}] ${eventLabel(view)}: ${view.title}`,
      200,
    ),
    text,
    html,
  };
}

/** Deterministic Message-ID: a resent delivery carries the same id, so mail systems can dedupe. */
export function messageIdFor(key: string, domain: string): string {
  return `<${keyDigest(key).slice(0, 40)}@${domain}>`;
}

// ---- TheHive -------------------------------------------------------------------------------

const theHiveSeverity: Record<IncidentV1["severity"], 1 | 2 | 3 | 4> = {
  informational: 1,
  low: 1,
  medium: 2,
  high: 3,
  critical: 4,
};

/** TheHive's data types for Vigil's observable types; the rest go as `other`, tagged with the type. */
const theHiveDataType: Record<string, string> = {
  ip: "ip",
  hostname: "hostname",
  url: "url",
  hash: "hash",
  domain: "domain",
  fqdn: "fqdn",
  mail: "mail",
};

export interface TheHiveAlertOptions {
  type: string;
  tlp: number;
  pap: number;
  consoleUrlTemplate: string | undefined;
  tags: string[];
}

export function theHiveAlert(view: IncidentView, options: TheHiveAlertOptions): Record<string, unknown> {
  const link = consoleLink(options.consoleUrlTemplate, view.id);
  const md = escapeMarkdown;
  const description = [
    `**Why:** ${md(view.why)}`,
    "",
    md(view.description),
    "",
    `- **Severity:** ${md(view.severity)}${view.urgency ? `, urgency ${md(view.urgency)}` : ""}`,
    `- **Asset:** ${md(assetText(view))}`,
    `- **Owner:** ${md(view.owner ? ownerText(view.owner) : "unassigned")}`,
    ...(view.escalationLevel !== undefined ? [`- **Escalation level:** ${view.escalationLevel}`] : []),
    ...(view.slaDue !== undefined ? [`- **SLA due:** ${md(view.slaDue)}`] : []),
    `- **Findings:** ${view.findingCount}, first ${md(view.firstSeen)}, last ${md(view.lastSeen)}`,
    ...(view.attack.length > 0 ? [`- **ATT&CK:** ${view.attack.map(md).join(", ")}`] : []),
    ...(link
      ? ["", `[Open in the Vigil console](${link.replaceAll(")", "%29").replaceAll(" ", "%20")})`]
      : []),
  ].join("\n");
  const tags = [
    ...options.tags,
    `severity:${view.severity}`,
    ...(view.urgency ? [`urgency:${view.urgency}`] : []),
    `asset-priority:${view.asset.priority}`,
    ...view.cves,
    ...view.attack.map((technique) => `attack:${technique}`),
  ].map((tag) => singleLine(tag, 128));
  const seen = new Set<string>();
  const observables = view.observables
    .map(({ type, value }) => {
      const dataType = theHiveDataType[type] ?? "other";
      return {
        dataType,
        data: singleLine(value, 1024),
        tags: dataType === "other" ? [`vigil:${type}`] : [],
        ioc: false,
      };
    })
    .filter((observable) => {
      // TheHive refuses an alert with two observables of the same type and data.
      const key = `${observable.dataType}\u0000${observable.data}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  return {
    type: options.type,
    source: "vigil",
    sourceRef: view.id,
    title: singleLine(view.title, 512),
    description,
    severity: theHiveSeverity[view.severity],
    date: Date.parse(view.firstSeen),
    tlp: options.tlp,
    pap: options.pap,
    tags: [...new Set(tags)],
    ...(link ? { externalLink: link } : {}),
    observables,
  };
}

// ---- JSON lines ----------------------------------------------------------------------------

export function jsonLine(delivery: Delivery, deliveredAt: string): string {
  return `${JSON.stringify({ key: delivery.key, delivered_at: deliveredAt, event: delivery.event, incident: delivery.incident })}\n`;
}
