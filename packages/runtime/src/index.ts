export {
  type AppContext,
  ExitError,
  exitOnError,
  type ProcessIo,
  prepareApp,
  runService,
  runToEnd,
  type ServiceOptions,
} from "./main.ts";
