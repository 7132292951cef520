import type { EventKind, EventValues, RuleEvent } from "./model.ts";

function epoch(time: string | undefined, fallback: number): number {
  const parsed = time === undefined ? Number.NaN : Date.parse(time);
  return Number.isNaN(parsed) ? fallback : parsed;
}

/**
 * Event time and identity of each kind. Time is the moment the thing happened, as the source
 * says: a host state's `time` is its latest observation, an advisory's its last update.
 */
const describe: { [K in EventKind]: (value: EventValues[K]) => { id: string; time: number } } = {
  "ids.alert": (value) => ({ id: value.id, time: value.time }),
  "firewall.event": (value) => ({ id: value.id, time: value.time }),
  // One asset has many states over time: the state's id is the asset and the observation time.
  "inventory.host": (value) => ({ id: `${value.id}@${value.time}`, time: epoch(value.time, 0) }),
  "inventory.audit": (value) => ({ id: value.id, time: epoch(value.time, 0) }),
  "updates.agent": (value) => ({ id: value.id, time: epoch(value.time, epoch(value.observed_time, 0)) }),
  advisory: (value) => {
    const time = epoch(value.updated, epoch(value.published, 0));
    return { id: `${value.source}/${value.id}@${value.updated ?? value.published ?? ""}`, time };
  },
};

/** Wraps a validated record as the event rules see; `key` is the Kafka key it was read with. */
export function ruleEvent<K extends EventKind>(
  kind: K,
  value: EventValues[K],
  topic: string,
  key: string,
): RuleEvent<K> {
  const { id, time } = (describe[kind] as (value: EventValues[K]) => { id: string; time: number })(value);
  return { kind, value, topic, id, time, key } as RuleEvent<K>;
}

/** What an event says about the asset it concerns, for `ReferenceTables.resolveAsset`. */
export function eventAssetQuery(
  event: RuleEvent,
): { ip?: string; hostname?: string; id?: string } | undefined {
  switch (event.kind) {
    case "ids.alert":
      return event.value.asset_ip !== undefined ? { ip: event.value.asset_ip } : undefined;
    case "firewall.event":
      return event.value.asset_ip !== undefined ? { ip: event.value.asset_ip } : undefined;
    case "inventory.host":
      return { id: event.value.id };
    case "updates.agent":
      return event.value.host !== undefined ? { hostname: event.value.host } : undefined;
    case "inventory.audit":
    case "advisory":
      return undefined;
  }
}
