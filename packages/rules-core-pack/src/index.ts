/**
 * @vigil/rules-core-pack: the built-in rule pack (MISSION.md 1-6), a pack like any platform
 * team's. Declarative rules live in `rules/*.yaml`; what data cannot say is TypeScript
 * (`src/rules/*.ts`). The manifest below is what `vigil rules test` and the rules engine load.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type CompiledRule, compileRules, definePack, type PackManifestInput } from "./contract.ts";
import { honourRuleExceptions } from "./exceptions.ts";
import { advisoryAffectsInventory } from "./rules/advisory-affects-inventory.ts";
import { agentSilent } from "./rules/agent-silent.ts";
import { idsExploitVulnerableAsset } from "./rules/ids-exploit-vulnerable-asset.ts";
import { inventoryAuditCountChange } from "./rules/inventory-audit-count-change.ts";
import { inventoryUnmanagedAddress } from "./rules/inventory-unmanaged-address.ts";
import { updatesDistributionBlocked } from "./rules/updates-distribution-blocked.ts";
import { tests } from "./tests.ts";

export const PACK_ROOT = join(import.meta.dirname, "..");
const RULES_DIR = join(PACK_ROOT, "rules");

/**
 * The declarative rules, compiled once at load (a problem names the file, line and key), each
 * made to honour exceptions that name it (see exceptions.ts).
 */
export function declarativeRules(): CompiledRule[] {
  return readdirSync(RULES_DIR)
    .filter((file) => file.endsWith(".yaml"))
    .sort()
    .flatMap((file) => compileRules(readFileSync(join(RULES_DIR, file), "utf8"), join(RULES_DIR, file)))
    .map(honourRuleExceptions);
}

/**
 * The TypeScript rules. The address and agent rules consult exceptions before they remember an
 * episode as reported (so an expired exception reports again); the others are wrapped like the
 * declarative ones.
 */
export const typescriptRules: readonly CompiledRule[] = [
  honourRuleExceptions(idsExploitVulnerableAsset),
  inventoryUnmanagedAddress,
  honourRuleExceptions(inventoryAuditCountChange),
  agentSilent,
  honourRuleExceptions(updatesDistributionBlocked),
  honourRuleExceptions(advisoryAffectsInventory),
];

export const corePack: PackManifestInput = definePack({
  name: "@vigil/rules-core-pack",
  version: "0.1.0",
  description:
    "The built-in rule pack: exploits on vulnerable assets, attacks on priority assets, unmanaged infrastructure, inventory completeness, silent agents, baselines with exceptions, security policy, firewall consistency and scans, blocked update distribution (954960, 954474) and new advisories against the inventory (MISSION.md 1-6).",
  rules: [...declarativeRules(), ...typescriptRules],
  tests,
});

export default corePack;

export {
  advisoryAffectsInventory,
  agentSilent,
  honourRuleExceptions,
  idsExploitVulnerableAsset,
  inventoryAuditCountChange,
  inventoryUnmanagedAddress,
  updatesDistributionBlocked,
};
