import { z } from "zod";
import { IpAddress, Timestamp } from "./common.ts";
import { DAY_MS, topic } from "./topic-spec.ts";

/**
 * Records of the inventory area (MISSION.md 1): the merged state of each asset and one record
 * per audit run. Field names follow OCSF's Device object and Inventory Info class where one fits
 * (`hostname`, `domain`, `os.name`, `os.build`, `os.sp_name`, `hw_info.serial_number`, `type`, ...).
 */

/** Where an observation came from. `inventory` is a management system's export (ConfigMgr, WSUS, MBSA). */
export const InventorySource = z.enum(["osquery", "inventory", "directory", "dns", "dhcp"]);
export type InventorySource = z.infer<typeof InventorySource>;

/** OCSF device type, reduced to the classes the baselines are written for. `laptop` covers mobile devices. */
export const HardwareType = z.enum(["laptop", "desktop", "server", "virtual", "unknown"]);
export type HardwareType = z.infer<typeof HardwareType>;

export const FsmoRole = z.enum([
  "schema-master",
  "domain-naming-master",
  "pdc-emulator",
  "rid-master",
  "infrastructure-master",
]);
export type FsmoRole = z.infer<typeof FsmoRole>;

/** Lower-case colon-separated MAC, `aa:bb:cc:dd:ee:ff`. */
export const MacAddress = z.string().regex(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);

const text = z.string().max(1024);
const name = z.string().min(1).max(255);

export const OsInfo = z.object({
  /** `Microsoft Windows Server 2019 Standard`, `Ubuntu`. */
  name: text.optional(),
  type: z.enum(["windows", "linux", "macos", "other"]).optional(),
  /** `10.0.17763`, `22.04`. */
  version: text.optional(),
  build: text.optional(),
  /** Service pack name (`Service Pack 1`) when the OS has one. */
  sp_name: text.optional(),
  arch: text.optional(),
});
export type OsInfo = z.infer<typeof OsInfo>;

export const HardwareInfo = z.object({
  serial_number: text.optional(),
  vendor_name: text.optional(),
  model: text.optional(),
  /** SMBIOS chassis type numbers as reported (`9` laptop, `3` desktop, `23` rack server ...). */
  chassis: text.optional(),
  /** SMBIOS system UUID (osquery `system_info.uuid`). */
  uuid: text.optional(),
  cpu_type: text.optional(),
  ram_size: z.number().nonnegative().optional(),
});

/** Provenance of collection items: `osquery:programs`, `inventory:software`, ... (a replace only touches its own origin). */
const origin = z.string().min(1).max(128);

export const SoftwarePackage = z.object({
  name,
  version: text.optional(),
  vendor_name: text.optional(),
  origin,
});
export type SoftwarePackage = z.infer<typeof SoftwarePackage>;

export const InstalledUpdate = z.object({
  /** `KB4012212`; upper-case `KB` followed by digits when the source gives a KB number. */
  id: name,
  title: text.optional(),
  installed_on: text.optional(),
  origin,
});
export type InstalledUpdate = z.infer<typeof InstalledUpdate>;

export const MissingUpdate = z.object({
  id: name,
  title: text.optional(),
  severity: text.optional(),
  origin,
});

export const ListeningPort = z.object({
  port: z.number().int().min(0).max(65535),
  protocol: z.enum(["tcp", "udp", "other"]),
  address: text.optional(),
  process: text.optional(),
  origin,
});
export type ListeningPort = z.infer<typeof ListeningPort>;

export const LocalAccount = z.object({ name, description: text.optional(), origin });

export const ServiceState = z.object({
  name,
  display_name: text.optional(),
  status: text.optional(),
  start_type: text.optional(),
  origin,
});

/** A named file's version (e.g. `Microsoft.UpdateServices.WebServices.Client.Dll`, MISSION.md 6). */
export const FileVersion = z.object({
  path: z.string().min(1).max(4096),
  version: text.optional(),
  product_version: text.optional(),
  /** Authenticode result (`trusted`, `untrusted`, ...). */
  signature: text.optional(),
  signer: text.optional(),
  origin,
});

export const AntivirusState = z.object({
  product: text.optional(),
  enabled: z.boolean().optional(),
  up_to_date: z.boolean().optional(),
  signature_date: text.optional(),
  /** The source's own word (`Good`, `Poor`, `Not Monitored`, `On`, ...). */
  state: text.optional(),
});

export const Roles = z.object({
  domain_controller: z.boolean(),
  fsmo: z.array(FsmoRole),
  business_critical: z.boolean(),
  /** Free-form role tags (`payroll`, `file-server`, `dmz`, `wsus-server`, ...). */
  tags: z.array(z.string().min(1).max(128)),
});
export type Roles = z.infer<typeof Roles>;

export const Connectivity = z.object({
  /** `lan`, `wan` (branch office link), `slow` (unreliable / low bandwidth), `vpn`, `dialup`. */
  link: z.enum(["lan", "wan", "slow", "vpn", "dialup", "unknown"]),
  remote: z.boolean(),
});

export const DirectoryInfo = z.object({
  /** Distinguished name of the computer account. */
  dn: text.optional(),
  /** The OU path of the DN (`OU=Workstations,DC=corp,DC=example`). */
  ou: text.optional(),
  enabled: z.boolean().optional(),
  last_logon: Timestamp.optional(),
  os_name: text.optional(),
  os_version: text.optional(),
});

export const SourceSeen = z.object({
  source: InventorySource,
  first_seen: Timestamp,
  last_seen: Timestamp,
});

export const AddressSeen = z.object({
  ip: IpAddress,
  first_seen: Timestamp,
  last_seen: Timestamp,
  source: InventorySource,
});

/** Who set a merged field and when: decides whether a later observation may overwrite it. */
export const FieldProvenance = z.object({ source: InventorySource, time: Timestamp });

/**
 * The latest full state of one asset (OCSF Device / Inventory Info). Keyed on Kafka by `id`; the
 * topic is compacted, so reading it from the beginning gives the current asset table.
 */
export const HostV1 = z.object({
  schema: z.literal("vigil.inventory.host/v1"),
  /** Deterministic asset id (`host-` + hash of the identity the asset was first known by). */
  id: z.string().min(1).max(128),
  /** When this state was produced (the latest observation merged into it). */
  time: Timestamp,
  /** Short host name, lower-case (`ws-041`). */
  hostname: name.optional(),
  fqdn: name.optional(),
  netbios_name: name.optional(),
  /** DNS domain (`corp.example`). */
  domain: name.optional(),
  /** Every name the asset is known by (short names, FQDNs, DNS aliases), lower-case. */
  names: z.array(name),
  /** Current addresses, most recently seen first. An address another asset was seen with later is removed. */
  ips: z.array(AddressSeen),
  macs: z.array(MacAddress),
  type: HardwareType,
  hw_info: HardwareInfo,
  os: OsInfo,
  software: z.array(SoftwarePackage),
  updates: z.array(InstalledUpdate),
  missing_updates: z.array(MissingUpdate),
  listening_ports: z.array(ListeningPort),
  local_admins: z.array(LocalAccount),
  services: z.array(ServiceState),
  files: z.array(FileVersion),
  antivirus: AntivirusState.optional(),
  roles: Roles,
  connectivity: Connectivity,
  directory: DirectoryInfo.optional(),
  /** A management agent or management system reports this asset (osquery or an inventory export). */
  is_managed: z.boolean(),
  agent: z.object({ name: z.string(), host_identifier: text.optional(), last_seen: Timestamp }).optional(),
  sources: z.array(SourceSeen),
  first_seen: Timestamp,
  last_seen: Timestamp,
  field_sources: z.record(z.string(), FieldProvenance),
});
export type HostV1 = z.infer<typeof HostV1>;

/**
 * One audit run: what one source said exists at one time. Completeness checks compare runs of
 * one source over time and the sources with each other (directory, DNS, agents).
 */
export const AuditV1 = z.object({
  schema: z.literal("vigil.inventory.audit/v1"),
  /** Deterministic: source, input and start time. */
  id: z.string().min(1).max(128),
  time: Timestamp,
  source: InventorySource,
  /** The input format (`osquery`, `ad-csv`, `bind-zone`, ...). */
  format: z.string().min(1).max(64),
  /** Files or `stdin` read in the run. */
  inputs: z.array(z.string().max(4096)),
  started: Timestamp,
  finished: Timestamp,
  host_count: z.number().int().nonnegative(),
  /** Sorted asset ids reported by the source in this run. */
  host_ids: z.array(z.string()),
  records_read: z.number().int().nonnegative(),
  records_invalid: z.number().int().nonnegative(),
});
export type AuditV1 = z.infer<typeof AuditV1>;

export const inventoryTopics = {
  inventoryHosts: topic({
    name: "vigil.inventory.hosts",
    description: "The asset table: latest full state of each asset, merged from every inventory source.",
    key: "asset id",
    partitions: 3,
    cleanupPolicy: "compact",
    retentionMs: -1,
    ceType: "dev.vigil.inventory.host.v1",
    value: HostV1,
  }),
  inventoryAudits: topic({
    name: "vigil.inventory.audits",
    description:
      "One record per inventory audit run (source, time, host count and ids) for completeness checks.",
    key: "source: audits of one source stay in order",
    partitions: 1,
    cleanupPolicy: "delete",
    retentionMs: 400 * DAY_MS,
    ceType: "dev.vigil.inventory.audit.v1",
    value: AuditV1,
  }),
} as const;

/** A collection of a host, as observations change it. */
export type HostCollection =
  | "software"
  | "updates"
  | "missing_updates"
  | "listening_ports"
  | "local_admins"
  | "services"
  | "files";

interface CollectionItems {
  software: SoftwarePackage;
  updates: InstalledUpdate;
  missing_updates: z.infer<typeof MissingUpdate>;
  listening_ports: ListeningPort;
  local_admins: z.infer<typeof LocalAccount>;
  services: z.infer<typeof ServiceState>;
  files: z.infer<typeof FileVersion>;
}

/**
 * A change to one collection: `replace` swaps every item of that `origin` (a snapshot), `add`
 * and `remove` apply a differential row.
 */
export type CollectionChange = {
  [K in HostCollection]: {
    collection: K;
    op: "replace" | "add" | "remove";
    origin: string;
    items: CollectionItems[K][];
  };
}[HostCollection];

/**
 * What one source said about one host at one time: the unit parsers produce and the asset table
 * merges (`@vigil/inventory`). Not published on its own; `--dry-run` prints it.
 */
export interface HostObservation {
  source: InventorySource;
  /** When the source saw it (the record's own time, else the file's). */
  time: string;
  /** The parser's name for the input (`osquery:pack_inventory_programs`, a file path). */
  origin: string;
  identity: {
    hostname?: string;
    fqdn?: string;
    netbios_name?: string;
    /** Extra names (DNS aliases). */
    aliases?: string[];
    serial_number?: string;
    uuid?: string;
    host_identifier?: string;
    macs?: string[];
    ips?: string[];
  };
  /** Addresses the source says are no longer bound to this host (a free or expired lease) as of `time`. */
  released_ips?: string[];
  type?: HardwareType;
  hw_info?: z.infer<typeof HardwareInfo>;
  os?: OsInfo;
  antivirus?: z.infer<typeof AntivirusState>;
  roles?: Partial<Roles>;
  connectivity?: z.infer<typeof Connectivity>;
  directory?: z.infer<typeof DirectoryInfo>;
  changes?: CollectionChange[];
}
