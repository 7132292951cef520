/** Rule packs: the manifest (zod), loading, compiling, and the test harness (`vigil rules test`). */
export { defaultEventKey, eventTopics, recordEvent } from "./pack/events.ts";
export {
  compareFindings,
  type ExtraFinding,
  type MissingFinding,
  type PackTestCase,
  type PackTestOptions,
  type PackTestReport,
  runPackTests,
  type TestTables,
} from "./pack/harness.ts";
export {
  type CompiledPack,
  compilePack,
  type LoadedPack,
  type LoadedRulePacks,
  loadPack,
  loadPacks,
  loadRulePacks,
  type PackDocument,
  PackError,
} from "./pack/load.ts";
export {
  definePack,
  type PackEventInput,
  PackExpectation,
  PackManifest,
  type PackManifestInput,
  PackReference,
  PackTest,
} from "./pack/manifest.ts";
