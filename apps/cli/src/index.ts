export { type DemoOptions, type DemoResult, runDemo } from "./demo.ts";
export { formatIncidents, latestIncidents } from "./present.ts";
