import { z } from "zod";
import { IpAddress, Timestamp } from "./common.ts";
import { ConnectionInfo, EpochMillis, IdsDevice, IdsEventMetadata, NetworkEndpoint } from "./ids-alert.ts";

/**
 * Context around IDS alerts: Suricata `flow`, `http`, `dns`, `tls`, `ssh` and `fileinfo` events,
 * kept so an investigation (or a later rule) can see what else an asset did around an alert.
 * OCSF classes: flow / tls / ssh -> Network Activity (4001), http -> HTTP Activity (4002),
 * dns -> DNS Activity (4003), fileinfo -> Network File Activity (4010). Shared paths are those
 * of `IdsAlertV1` (`time`, `src_endpoint`, `dst_endpoint`, `connection_info`, `device`,
 * `raw_data`, `asset_ip`); `details` holds the event's own object as the sensor wrote it
 * (e.g. EVE's `http` or `dns`), bounded by the line size and free of prototype keys.
 */
export const IdsContextType = z.enum(["flow", "http", "dns", "tls", "ssh", "fileinfo"]);
export type IdsContextType = z.infer<typeof IdsContextType>;

export const contextClassUids: Record<IdsContextType, 4001 | 4002 | 4003 | 4010> = {
  flow: 4001,
  http: 4002,
  dns: 4003,
  tls: 4001,
  ssh: 4001,
  fileinfo: 4010,
};

export const IdsContextV1 = z.object({
  schema: z.literal("vigil.ids.context/v1"),
  /** Deterministic, from the product, sensor, event type, flow and the line itself. */
  id: z.string().min(1),
  event_type: IdsContextType,
  class_uid: z.union([z.literal(4001), z.literal(4002), z.literal(4003), z.literal(4010)]),
  time: EpochMillis,
  time_dt: Timestamp,
  metadata: IdsEventMetadata,
  src_endpoint: NetworkEndpoint.optional(),
  dst_endpoint: NetworkEndpoint.optional(),
  connection_info: ConnectionInfo,
  device: IdsDevice,
  asset_ip: IpAddress.optional(),
  app_protocol: z.string().optional(),
  details: z.record(z.string(), z.unknown()),
  raw_data: z.string(),
});
export type IdsContextV1 = z.infer<typeof IdsContextV1>;
