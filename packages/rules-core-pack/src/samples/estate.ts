/**
 * Host records for the pack's sample events, made the way the inventory ingest makes them: the
 * observations an osquery agent, a ConfigMgr export, the directory and DNS would give, merged by
 * `@vigil/inventory`'s asset table. So a sample host has the ids, provenance and managed flag a
 * real one would have, and stays valid against the schema when either changes.
 */
import { AssetTable } from "@vigil/inventory";
import type { HardwareType, HostObservation, HostV1, InventorySource, OsInfo } from "@vigil/schema";

export const WS2019: OsInfo = {
  name: "Microsoft Windows Server 2019 Standard",
  type: "windows",
  version: "10.0.17763",
  build: "17763",
  arch: "64-bit",
};
export const WS2022: OsInfo = {
  name: "Microsoft Windows Server 2022 Standard",
  type: "windows",
  version: "10.0.20348",
  build: "20348",
  arch: "64-bit",
};
export const WS2008R2: OsInfo = {
  name: "Microsoft Windows Server 2008 R2 Standard Service Pack 1",
  type: "windows",
  version: "6.1.7601",
  build: "7601",
  sp_name: "Service Pack 1",
  arch: "64-bit",
};
export const WIN10: OsInfo = {
  name: "Microsoft Windows 10 Enterprise",
  type: "windows",
  version: "10.0.19045",
  build: "19045",
  arch: "64-bit",
};
export const WIN10_21H2: OsInfo = {
  name: "Microsoft Windows 10 Enterprise",
  type: "windows",
  version: "10.0.19044",
  build: "19044",
  arch: "64-bit",
};
export const WIN11: OsInfo = {
  name: "Microsoft Windows 11 Enterprise",
  type: "windows",
  version: "10.0.22631",
  build: "22631",
  arch: "64-bit",
};
export const XP: OsInfo = {
  name: "Microsoft Windows XP Professional Service Pack 3",
  type: "windows",
  version: "5.1.2600",
  build: "2600",
  sp_name: "Service Pack 3",
  arch: "32-bit",
};
export const UBUNTU: OsInfo = {
  name: "Ubuntu",
  type: "linux",
  version: "22.04.4 LTS (Jammy Jellyfish)",
  arch: "x86_64",
};

/** What an osquery agent reports about a Windows or Linux machine. */
export interface AgentReport {
  name: string;
  domain?: string;
  ip: string;
  mac: string;
  serial: string;
  time: string;
  type: HardwareType;
  os: OsInfo;
  software?: [name: string, version: string][];
  updates?: string[];
  ports?: [port: number, protocol: "tcp" | "udp", process: string][];
  admins?: string[];
  antivirus?: HostObservation["antivirus"];
  files?: { path: string; version: string }[];
  roles?: Partial<HostV1["roles"]>;
}

export function agentReport(report: AgentReport): HostObservation {
  const domain = report.domain ?? "corp.example";
  const origin = (table: string) => `osquery:${table}`;
  const windows = report.os.type === "windows";
  const changes: NonNullable<HostObservation["changes"]> = [
    {
      collection: "software",
      op: "replace",
      origin: origin(windows ? "programs" : "deb_packages"),
      items: (report.software ?? []).map(([name, version]) => ({
        name,
        version,
        origin: origin(windows ? "programs" : "deb_packages"),
      })),
    },
    {
      collection: "listening_ports",
      op: "replace",
      origin: origin("listening_ports"),
      items: (report.ports ?? []).map(([port, protocol, process]) => ({
        port,
        protocol,
        address: "0.0.0.0",
        process,
        origin: origin("listening_ports"),
      })),
    },
    {
      collection: "local_admins",
      op: "replace",
      origin: origin("local_admins"),
      items: (report.admins ?? []).map((name) => ({ name, origin: origin("local_admins") })),
    },
  ];
  if (windows)
    changes.push({
      collection: "updates",
      op: "replace",
      origin: origin("patches"),
      items: (report.updates ?? []).map((id) => ({ id, origin: origin("patches") })),
    });
  if (report.files)
    changes.push({
      collection: "files",
      op: "replace",
      origin: origin("file"),
      items: report.files.map((file) => ({ path: file.path, version: file.version, origin: origin("file") })),
    });
  return {
    source: "osquery",
    time: report.time,
    origin: "osquery:osqueryd.results.log",
    identity: {
      hostname: report.name,
      fqdn: `${report.name}.${domain}`,
      host_identifier: windows ? report.name.toUpperCase() : `${report.name}.${domain}`,
      serial_number: report.serial,
      macs: [report.mac],
      ips: [report.ip],
    },
    type: report.type,
    os: report.os,
    ...(report.antivirus ? { antivirus: report.antivirus } : {}),
    ...(report.roles ? { roles: report.roles } : {}),
    connectivity: { link: "lan", remote: false },
    changes,
  };
}

/** A ConfigMgr (SMS) hardware inventory row: the management system knows the machine. */
export function managementExport(spec: {
  name: string;
  ip: string;
  serial: string;
  time: string;
  os: OsInfo;
  type: HardwareType;
  roles?: Partial<HostV1["roles"]>;
}): HostObservation {
  return {
    source: "inventory",
    time: spec.time,
    origin: "inventory:configmgr-hardware",
    identity: {
      netbios_name: spec.name.toUpperCase(),
      hostname: spec.name,
      serial_number: spec.serial,
      ips: [spec.ip],
    },
    type: spec.type,
    os: spec.os,
    ...(spec.roles ? { roles: spec.roles } : {}),
  };
}

/** A `Get-ADComputer` row: a computer account. */
export function directoryAccount(spec: {
  name: string;
  time: string;
  enabled: boolean;
  lastLogon?: string;
  ou?: string;
  os?: string;
}): HostObservation {
  const ou = spec.ou ?? "OU=Workstations,OU=Computers,DC=corp,DC=example";
  return {
    source: "directory",
    time: spec.time,
    origin: "ad-computers.csv",
    identity: { netbios_name: spec.name.toUpperCase(), fqdn: `${spec.name}.corp.example` },
    directory: {
      dn: `CN=${spec.name.toUpperCase()},${ou}`,
      ou,
      enabled: spec.enabled,
      ...(spec.lastLogon ? { last_logon: spec.lastLogon } : {}),
      ...(spec.os ? { os_name: spec.os } : {}),
    },
  };
}

/** An A record of the `corp.example` zone. */
export function dnsRecord(spec: {
  name: string;
  ip: string;
  time: string;
  domain?: string;
}): HostObservation {
  return {
    source: "dns",
    time: spec.time,
    origin: "corp.example.zone",
    identity: { fqdn: `${spec.name}.${spec.domain ?? "corp.example"}`, ips: [spec.ip] },
  };
}

/** A DHCP lease. */
export function dhcpLease(spec: { name?: string; ip: string; mac: string; time: string }): HostObservation {
  return {
    source: "dhcp",
    time: spec.time,
    origin: "dhcpd.leases",
    identity: { ...(spec.name ? { hostname: spec.name } : {}), macs: [spec.mac], ips: [spec.ip] },
  };
}

/** The asset table of a sample: each observation yields the host's full state after it, as the hosts topic carries it. */
export class SampleEstate {
  readonly #table = new AssetTable();

  observe(observation: HostObservation): HostV1 {
    const { id } = this.#table.apply(observation);
    return structuredClone(this.#table.get(id)!);
  }

  /** The state after all observations, in order: the last state of the host of each. */
  observeAll(...observations: HostObservation[]): HostV1 {
    let host: HostV1 | undefined;
    for (const observation of observations) host = this.observe(observation);
    if (host === undefined) throw new Error("observeAll needs at least one observation");
    return host;
  }

  host(id: string): HostV1 | undefined {
    const host = this.#table.get(id);
    return host ? structuredClone(host) : undefined;
  }

  sources(id: string): InventorySource[] {
    return this.#table.get(id)?.sources.map((seen) => seen.source) ?? [];
  }
}
