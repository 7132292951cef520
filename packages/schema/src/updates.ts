import { z } from "zod";
import { Timestamp } from "./common.ts";
import { DAY_MS, topic } from "./topic-spec.ts";

/**
 * Records of the updates area (MISSION.md 6): what the update distribution infrastructure itself
 * logs. One event per log entry (a multi-line entry, such as a .NET stack trace or a SOAP fault
 * block, is one event), normalized across the Windows Update agent, the WSUS server, the
 * ConfigMgr site server's WSUS sync manager and the CBS servicing stack.
 */

/** The log an event was read from. */
export const UpdateSourceLog = z.enum([
  /** `%windir%\WindowsUpdate.log`, the classic tab-separated Windows Update agent log. */
  "windowsupdate",
  /** `%ProgramFiles%\Update Services\LogFiles\SoftwareDistribution.log` on a WSUS server. */
  "wsus-softwaredistribution",
  /** `Wsyncmgr.log` on a ConfigMgr (SMS) site server: its synchronisation with WSUS. */
  "configmgr-wsyncmgr",
  /** `%windir%\Logs\CBS\CBS.log`, component-based servicing (update installation on Vista and later). */
  "cbs",
]);
export type UpdateSourceLog = z.infer<typeof UpdateSourceLog>;

/** The part the logging machine plays in update distribution. */
export const UpdateRole = z.enum(["client", "server", "site-server"]);
export type UpdateRole = z.infer<typeof UpdateRole>;

export const UpdateEventKind = z.enum([
  /** Metadata synchronisation: client with its update server, server with its upstream, site with WSUS. */
  "sync",
  /** Applicability scan ("finding updates"). */
  "detect",
  "download",
  "install",
  /** Reporting status back to the server. */
  "report",
  /** CBS / servicing stack work that is not clearly one of the above. */
  "servicing",
  /** Agent or service start, stop, configuration. */
  "service",
  "other",
]);
export type UpdateEventKind = z.infer<typeof UpdateEventKind>;

export const UpdateOutcome = z.enum(["success", "failure", "warning", "info"]);
export type UpdateOutcome = z.infer<typeof UpdateOutcome>;

/**
 * How `time` got its offset: `utc` the log says UTC, `logged-offset` the log carries the offset
 * (CMTrace bias, WindowsUpdate.log `tz:`), `configured-offset` the ingest was told (`--utc-offset`),
 * `assumed-utc` the log is in local time and nobody said which: the offset is a guess.
 */
export const TimeBasis = z.enum(["utc", "logged-offset", "configured-offset", "assumed-utc"]);
export type TimeBasis = z.infer<typeof TimeBasis>;

/** `0x8024400E`: 8 hex digits, upper case, lower-case `x`, so codes compare as strings. */
export const HresultCode = z.string().regex(/^0x[0-9A-F]{8}$/);
export const KbId = z.string().regex(/^KB\d{4,8}$/);

/** Stable ids of recognised known problems (and their fix), `ms-<advisory>-<what>`. */
export const UpdateSignatureId = z.enum([
  /** 954960, client side: WindowsUpdate.log `SyncUpdates failure, error = 0x8024400E` (+ SOAP fault). */
  "ms-954960-client-syncupdates-0x8024400e",
  /** 954960, server side: `Item has already been added` in `ClientImplementation.SyncUpdates`. */
  "ms-954960-server-duplicate-key",
  /** 954960: Microsoft.UpdateServices.WebServices.Client.Dll logged below 3.1.6001.66 (not fixed). */
  "ms-954960-server-unfixed-version",
  /** 954960: the same file logged at 3.1.6001.66 or later: the fix is installed. */
  "ms-954960-server-fix-installed",
  /** 954474: Wsyncmgr.log `Unexpected DeploymentAction for update N. Returned from CreateUpdateNode`. */
  "ms-954474-unexpected-deploymentaction",
  /** 954474: Wsyncmgr.log `Updates summary: 0 processed, 0 matched, 0 outdated, 0 updated`. */
  "ms-954474-zero-processed-summary",
]);
export type UpdateSignatureId = z.infer<typeof UpdateSignatureId>;

const line = z.string().max(4096);
const name = z.string().min(1).max(255);

export const UpdateEventV1 = z.object({
  schema: z.literal("vigil.updates.agent/v1"),
  /**
   * Deterministic: a hash of the source log, host and the entry's raw text (plus its occurrence
   * count when the same text repeats within a file), so re-reading a file yields the same ids.
   */
  id: z.string().min(1).max(128),
  /** When the entry was logged, RFC 3339 in the log's own offset; absent when the entry carries no time. */
  time: Timestamp.optional(),
  time_basis: TimeBasis.optional(),
  /** The timestamp exactly as logged (`2008-06-13 19:59:53:383`, `06-12-2008 02:00:01.123+420`). */
  logged_time: z.string().max(128).optional(),
  /** When the ingest read it. */
  observed_time: Timestamp,
  source_log: UpdateSourceLog,
  /** The machine that wrote the log, as logged (or as the ingest was told with `--host`). */
  host: name.optional(),
  host_origin: z.enum(["log", "configured"]).optional(),
  role: UpdateRole,
  /** The update server this entry talks about: the client's WSUS, the site's WSUS, an actor URL. */
  update_server: z
    .object({
      url: z.string().max(2048).optional(),
      /** Lower-case host name (or address) from the URL or text. */
      host: name.optional(),
    })
    .optional(),
  /** The log's component: `PT`, `AU`, `DnldMgr`, `ClientImplementation.SyncUpdates`, `SMS_WSUS_SYNC_MANAGER`, `CBS`. */
  component: z.string().max(512).optional(),
  /** The level as logged (`Info`, `Error`, `WARNING`, CMTrace type 1/2/3 as `info`/`warning`/`error`). */
  level: z.string().max(64).optional(),
  process: z.string().max(128).optional(),
  thread: z.string().max(128).optional(),
  event_kind: UpdateEventKind,
  outcome: UpdateOutcome,
  /** The first line's message text (without timestamp and header). */
  message: z.string().max(65_536),
  /** Error codes in the entry, normalized (`0x8024400E`), in order of appearance, without `0x00000000`. */
  error_codes: z.array(HresultCode).max(64),
  kb_ids: z.array(KbId).max(256),
  /** Update identities: WSUS update GUIDs (with revision, `{...}.102`) and ConfigMgr CI ids (`1293995`). */
  update_ids: z.array(z.string().min(1).max(128)).max(256),
  /** The SOAP fault / request id that ties a client's failure to the server's exception. */
  soap_fault_id: z.string().max(128).optional(),
  /** A .NET exception heading the entry (`System.ArgumentException`) and its message. */
  exception: z.object({ type: z.string().max(512), message: line }).optional(),
  /** File versions the entry states. */
  file_versions: z
    .array(z.object({ file: z.string().min(1).max(512), version: z.string().regex(/^\d+(\.\d+){1,3}$/) }))
    .max(64),
  /** A recognised known problem (or its fix); absent for ordinary entries. */
  signature: z
    .object({
      id: UpdateSignatureId,
      /** The Microsoft advisory / KB article describing it. */
      advisory: z.string().regex(/^\d{6}$/),
      title: z.string().max(512),
    })
    .optional(),
  /** Where in the input the entry was read. */
  source_location: z
    .object({
      file: z.string().max(4096).optional(),
      line: z.number().int().positive(),
      /** Last physical line of a multi-line entry. */
      last_line: z.number().int().positive(),
    })
    .optional(),
  /** The entry's original lines, joined with `\n` (multi-line entries kept whole, cut at 256 KiB). */
  raw_data: z.string().max(262_144),
});
export type UpdateEventV1 = z.infer<typeof UpdateEventV1>;

/**
 * Key of `vigil.updates.agent`: `updateEventKey`. The lower-case host name when the entry names
 * one (a client's events, a server's own log), else the update server's host, else the source
 * log's name: one machine's events share a partition and stay in log order.
 */
export function updateEventKey(event: Pick<UpdateEventV1, "host" | "update_server" | "source_log">): string {
  return (event.host ?? event.update_server?.host ?? event.source_log).toLowerCase();
}

export const updatesTopics = {
  updatesAgent: topic({
    name: "vigil.updates.agent",
    description:
      "Update-agent and update-server log events (WindowsUpdate.log, WSUS, ConfigMgr Wsyncmgr, CBS), with known-problem signatures.",
    key: "lower-case host name; else the update server's host; else the source log (updateEventKey)",
    partitions: 6,
    cleanupPolicy: "delete",
    retentionMs: 30 * DAY_MS,
    ceType: "dev.vigil.updates.agent.v1",
    value: UpdateEventV1,
  }),
} as const;
