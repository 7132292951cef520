/** Records as the engine reads them, for tests and tools: the topic and Kafka key of each event kind. */
import { advisoryKey, idsRecordKey, topics, updateEventKey } from "@vigil/schema";
import { ruleEvent } from "../events.ts";
import type { EventKind, EventValues, RuleEvent } from "../model.ts";

export const eventTopics: Record<EventKind, string> = {
  "ids.alert": topics.idsAlerts.name,
  "firewall.event": topics.firewallEvents.name,
  "inventory.host": topics.inventoryHosts.name,
  "inventory.audit": topics.inventoryAudits.name,
  "updates.agent": topics.updatesAgent.name,
  advisory: topics.advisories.name,
};

/** The key the ingest app publishes a record with (the topic registry's key). */
export function defaultEventKey<K extends EventKind>(kind: K, value: EventValues[K]): string {
  switch (kind) {
    case "ids.alert":
      return idsRecordKey(value as EventValues["ids.alert"]);
    case "firewall.event": {
      const event = value as EventValues["firewall.event"];
      return event.asset_ip ?? event.device.hostname ?? event.device.ip ?? "unknown";
    }
    case "inventory.host":
      return (value as EventValues["inventory.host"]).id;
    case "inventory.audit":
      return (value as EventValues["inventory.audit"]).source;
    case "updates.agent":
      return updateEventKey(value as EventValues["updates.agent"]);
    default:
      return advisoryKey(value as EventValues["advisory"]);
  }
}

/** A validated record as the engine would hand it to the rules (topic from the registry, key as published unless given). */
export function recordEvent<K extends EventKind>(kind: K, value: EventValues[K], key?: string): RuleEvent<K> {
  return ruleEvent(kind, value, eventTopics[kind], key ?? defaultEventKey(kind, value));
}
