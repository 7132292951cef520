// Vigil runs on Node 24 LTS. Fail early, with the way out, on an older runtime.
// Plain JavaScript with no syntax newer than Node 12 so that it can speak on any Node.
const major = Number(process.versions.node.split(".")[0]);
if (major < 24) {
  console.error(
    "Vigil needs Node.js >= 24; this is " +
      process.version +
      ".\n" +
      'Install the pinned toolchain without touching the global node:\n  export PATH="$(bash scripts/toolchain.sh):$PATH"',
  );
  process.exit(1);
}
