export {
  type AppContext,
  ExitError,
  exitOnError,
  type ProcessIo,
  prepareApp,
  runService,
  type ServiceOptions,
} from "./main.ts";
