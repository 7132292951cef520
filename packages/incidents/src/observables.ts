import { isIP } from "node:net";
import type { FindingV1, Observable, ObservableType } from "@vigil/schema";

const IPV4 = /(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])/g;
/** md5, sha1, sha256 as free-standing hex words. */
const HASH = /(?<![0-9a-fA-F])(?:[0-9a-fA-F]{64}|[0-9a-fA-F]{40}|[0-9a-fA-F]{32})(?![0-9a-fA-F])/g;
/** `user=alice`, `user: alice`, `account "CORP\\bob"`: what the ingest summaries write. */
const USER = /\b(?:user|username|account)[=:]\s*"?([A-Za-z0-9._\\@$-]{1,64})"?/gi;

/** What a bounded list keeps first: what the incident is about, then what it involves. */
const TYPE_ORDER: readonly ObservableType[] = ["asset", "hostname", "ip", "user", "cve", "hash", "url"];
const typeRank = new Map(TYPE_ORDER.map((type, index) => [type, index]));

/**
 * What a finding names that an analyst would pivot on: the asset, its address and name, the CVEs,
 * and the addresses, hashes and users the evidence summaries mention. Findings carry no structured
 * users or hashes, so those come only from the text of the evidence.
 */
export function observablesOf(finding: FindingV1): Observable[] {
  const found: Observable[] = [{ type: "asset", value: finding.asset.id }];
  if (finding.asset.ip !== undefined) found.push({ type: "ip", value: finding.asset.ip });
  if (finding.asset.hostname !== undefined)
    found.push({ type: "hostname", value: finding.asset.hostname.toLowerCase() });
  for (const cve of finding.cves) found.push({ type: "cve", value: cve });
  for (const event of finding.events) {
    for (const match of event.summary.matchAll(IPV4))
      if (isIP(match[0]) === 4) found.push({ type: "ip", value: match[0] });
    for (const match of event.summary.matchAll(HASH))
      found.push({ type: "hash", value: match[0].toLowerCase() });
    for (const match of event.summary.matchAll(USER)) found.push({ type: "user", value: match[1]! });
  }
  return found;
}

/** Deduplicated and sorted by type then value, so the order does not depend on arrival; the first `max` kept. */
export function mergeObservables(
  current: readonly Observable[],
  added: readonly Observable[],
  max: number,
): Observable[] {
  const byKey = new Map<string, Observable>();
  for (const observable of [...current, ...added])
    byKey.set(`${observable.type}\u0000${observable.value}`, observable);
  return [...byKey.values()]
    .sort(
      (a, b) =>
        (typeRank.get(a.type) ?? 0) - (typeRank.get(b.type) ?? 0) ||
        (a.value < b.value ? -1 : a.value > b.value ? 1 : 0),
    )
    .slice(0, max);
}
