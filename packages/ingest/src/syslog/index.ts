export { type Frame, SyslogFramer } from "./framing.ts";
export {
  type ListenAddress,
  type SyslogMessage,
  SyslogServer,
  type SyslogServerOptions,
  type SyslogServerStats,
} from "./server.ts";
