/**
 * CVSS v2 and v3.x score computation from vector strings (FIRST specifications), so a vendor's
 * stated score can be checked against its vector (CSAF mandatory tests 6.1.9 and 6.1.10).
 * v3: https://www.first.org/cvss/v3.1/specification-document section 7; v2: section 3.2 of the v2 guide.
 */

export type CvssSeverityName = "NONE" | "LOW" | "MEDIUM" | "HIGH" | "CRITICAL";

export interface Cvss3Scores {
  baseScore: number;
  baseSeverity: CvssSeverityName;
  temporalScore?: number;
  temporalSeverity?: CvssSeverityName;
  environmentalScore?: number;
  environmentalSeverity?: CvssSeverityName;
  /** Metric abbreviation -> value letter, as in the vector. */
  metrics: Record<string, string>;
}

const V3_BASE = ["AV", "AC", "PR", "UI", "S", "C", "I", "A"] as const;
const V3_ALLOWED: Record<string, readonly string[]> = {
  AV: ["N", "A", "L", "P"],
  AC: ["L", "H"],
  PR: ["N", "L", "H"],
  UI: ["N", "R"],
  S: ["U", "C"],
  C: ["H", "L", "N"],
  I: ["H", "L", "N"],
  A: ["H", "L", "N"],
  E: ["X", "H", "F", "P", "U"],
  RL: ["X", "U", "W", "T", "O"],
  RC: ["X", "C", "R", "U"],
  CR: ["X", "H", "M", "L"],
  IR: ["X", "H", "M", "L"],
  AR: ["X", "H", "M", "L"],
  MAV: ["X", "N", "A", "L", "P"],
  MAC: ["X", "L", "H"],
  MPR: ["X", "N", "L", "H"],
  MUI: ["X", "N", "R"],
  MS: ["X", "U", "C"],
  MC: ["X", "H", "L", "N"],
  MI: ["X", "H", "L", "N"],
  MA: ["X", "H", "L", "N"],
};

const AV = { N: 0.85, A: 0.62, L: 0.55, P: 0.2 } as Record<string, number>;
const AC = { L: 0.77, H: 0.44 } as Record<string, number>;
const UI = { N: 0.85, R: 0.62 } as Record<string, number>;
const CIA = { H: 0.56, L: 0.22, N: 0 } as Record<string, number>;
const E = { X: 1, H: 1, F: 0.97, P: 0.94, U: 0.91 } as Record<string, number>;
const RL = { X: 1, U: 1, W: 0.97, T: 0.96, O: 0.95 } as Record<string, number>;
const RC = { X: 1, C: 1, R: 0.96, U: 0.92 } as Record<string, number>;
const REQ = { X: 1, H: 1.5, M: 1, L: 0.5 } as Record<string, number>;

function privileges(value: string, changed: boolean): number {
  if (value === "N") return 0.85;
  if (value === "L") return changed ? 0.68 : 0.62;
  return changed ? 0.5 : 0.27;
}

/** CVSS 3.1 Roundup (floating-point safe); 3.0 used a plain ceiling to one decimal. */
function roundUp(value: number, version: "3.0" | "3.1"): number {
  if (version === "3.0") return Math.ceil(value * 10) / 10;
  const integer = Math.round(value * 100_000);
  return integer % 10_000 === 0 ? integer / 100_000 : (Math.floor(integer / 10_000) + 1) / 10;
}

export function cvss3Severity(score: number): CvssSeverityName {
  if (score === 0) return "NONE";
  if (score < 4) return "LOW";
  if (score < 7) return "MEDIUM";
  if (score < 9) return "HIGH";
  return "CRITICAL";
}

/** Parses and scores a `CVSS:3.x/...` vector; a string says what is wrong with it. */
export function scoreCvss3(vector: string): Cvss3Scores | string {
  const parts = vector.split("/");
  const head = parts.shift();
  const version = head === "CVSS:3.1" ? "3.1" : head === "CVSS:3.0" ? "3.0" : undefined;
  if (!version) return `vector does not start with CVSS:3.0/ or CVSS:3.1/`;
  const metrics: Record<string, string> = {};
  for (const part of parts) {
    const [name, value, extra] = part.split(":");
    if (name === undefined || value === undefined || extra !== undefined) return `malformed metric "${part}"`;
    const allowed = V3_ALLOWED[name];
    if (!allowed) return `unknown metric ${name}`;
    if (!allowed.includes(value)) return `metric ${name} has no value ${value}`;
    if (name in metrics) return `metric ${name} given twice`;
    metrics[name] = value;
  }
  for (const name of V3_BASE) if (!(name in metrics)) return `base metric ${name} missing`;
  const m = (name: string) => metrics[name] ?? "X";

  const changed = m("S") === "C";
  const iss = 1 - (1 - CIA[m("C")]!) * (1 - CIA[m("I")]!) * (1 - CIA[m("A")]!);
  const impact = changed ? 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15 : 6.42 * iss;
  const exploitability = 8.22 * AV[m("AV")]! * AC[m("AC")]! * privileges(m("PR"), changed) * UI[m("UI")]!;
  const baseScore =
    impact <= 0
      ? 0
      : changed
        ? roundUp(Math.min(1.08 * (impact + exploitability), 10), version)
        : roundUp(Math.min(impact + exploitability, 10), version);
  const result: Cvss3Scores = { baseScore, baseSeverity: cvss3Severity(baseScore), metrics };

  const temporalFactor = E[m("E")]! * RL[m("RL")]! * RC[m("RC")]!;
  const hasTemporal = ["E", "RL", "RC"].some((name) => name in metrics);
  if (hasTemporal) {
    result.temporalScore = roundUp(baseScore * temporalFactor, version);
    result.temporalSeverity = cvss3Severity(result.temporalScore);
  }
  const hasEnvironmental = ["CR", "IR", "AR", "MAV", "MAC", "MPR", "MUI", "MS", "MC", "MI", "MA"].some(
    (name) => name in metrics,
  );
  if (hasEnvironmental) {
    const pick = (modified: string, base: string) => (m(modified) === "X" ? m(base) : m(modified));
    const mChanged = pick("MS", "S") === "C";
    const miss = Math.min(
      1 -
        (1 - CIA[pick("MC", "C")]! * REQ[m("CR")]!) *
          (1 - CIA[pick("MI", "I")]! * REQ[m("IR")]!) *
          (1 - CIA[pick("MA", "A")]! * REQ[m("AR")]!),
      0.915,
    );
    const mImpact = mChanged
      ? version === "3.1"
        ? 7.52 * (miss - 0.029) - 3.25 * (miss * 0.9731 - 0.02) ** 13
        : 7.52 * (miss - 0.029) - 3.25 * (miss - 0.02) ** 15
      : 6.42 * miss;
    const mExploitability =
      8.22 *
      AV[pick("MAV", "AV")]! *
      AC[pick("MAC", "AC")]! *
      privileges(pick("MPR", "PR"), mChanged) *
      UI[pick("MUI", "UI")]!;
    const environmentalScore =
      mImpact <= 0
        ? 0
        : mChanged
          ? roundUp(
              roundUp(Math.min(1.08 * (mImpact + mExploitability), 10), version) * temporalFactor,
              version,
            )
          : roundUp(roundUp(Math.min(mImpact + mExploitability, 10), version) * temporalFactor, version);
    result.environmentalScore = environmentalScore;
    result.environmentalSeverity = cvss3Severity(environmentalScore);
  }
  return result;
}

export interface Cvss2Scores {
  baseScore: number;
  temporalScore?: number;
  environmentalScore?: number;
  metrics: Record<string, string>;
}

const V2_ALLOWED: Record<string, readonly string[]> = {
  AV: ["L", "A", "N"],
  AC: ["H", "M", "L"],
  Au: ["M", "S", "N"],
  C: ["N", "P", "C"],
  I: ["N", "P", "C"],
  A: ["N", "P", "C"],
  E: ["U", "POC", "F", "H", "ND"],
  RL: ["OF", "TF", "W", "U", "ND"],
  RC: ["UC", "UR", "C", "ND"],
  CDP: ["N", "L", "LM", "MH", "H", "ND"],
  TD: ["N", "L", "M", "H", "ND"],
  CR: ["L", "M", "H", "ND"],
  IR: ["L", "M", "H", "ND"],
  AR: ["L", "M", "H", "ND"],
};
const V2_BASE = ["AV", "AC", "Au", "C", "I", "A"] as const;

const round1 = (value: number) => Math.round(value * 10) / 10;

/** Parses and scores a CVSS v2 vector (`AV:N/AC:L/Au:N/C:C/I:C/A:C`, optionally in parentheses). */
export function scoreCvss2(vector: string): Cvss2Scores | string {
  const body = vector.startsWith("(") && vector.endsWith(")") ? vector.slice(1, -1) : vector;
  const metrics: Record<string, string> = {};
  for (const part of body.split("/")) {
    const [name, value, extra] = part.split(":");
    if (name === undefined || value === undefined || extra !== undefined) return `malformed metric "${part}"`;
    const allowed = V2_ALLOWED[name];
    if (!allowed) return `unknown metric ${name}`;
    if (!allowed.includes(value)) return `metric ${name} has no value ${value}`;
    if (name in metrics) return `metric ${name} given twice`;
    metrics[name] = value;
  }
  for (const name of V2_BASE) if (!(name in metrics)) return `base metric ${name} missing`;
  const av = { L: 0.395, A: 0.646, N: 1 }[metrics.AV!]!;
  const ac = { H: 0.35, M: 0.61, L: 0.71 }[metrics.AC!]!;
  const au = { M: 0.45, S: 0.56, N: 0.704 }[metrics.Au!]!;
  const cia = (value: string) => ({ N: 0, P: 0.275, C: 0.66 })[value]!;
  const baseWith = (c: number, i: number, a: number) => {
    const impact = 10.41 * (1 - (1 - c) * (1 - i) * (1 - a));
    const exploitability = 20 * av * ac * au;
    return round1((0.6 * impact + 0.4 * exploitability - 1.5) * (impact === 0 ? 0 : 1.176));
  };
  const c = cia(metrics.C!);
  const i = cia(metrics.I!);
  const a = cia(metrics.A!);
  const baseScore = baseWith(c, i, a);
  const result: Cvss2Scores = { baseScore, metrics };
  const e = { U: 0.85, POC: 0.9, F: 0.95, H: 1, ND: 1 }[metrics.E ?? "ND"]!;
  const rl = { OF: 0.87, TF: 0.9, W: 0.95, U: 1, ND: 1 }[metrics.RL ?? "ND"]!;
  const rc = { UC: 0.9, UR: 0.95, C: 1, ND: 1 }[metrics.RC ?? "ND"]!;
  if (["E", "RL", "RC"].some((name) => name in metrics))
    result.temporalScore = round1(baseScore * e * rl * rc);
  if (["CDP", "TD", "CR", "IR", "AR"].some((name) => name in metrics)) {
    const req = (value: string | undefined) => ({ L: 0.5, M: 1, H: 1.51, ND: 1 })[value ?? "ND"]!;
    const adjustedImpact = Math.min(
      10,
      10.41 * (1 - (1 - c * req(metrics.CR)) * (1 - i * req(metrics.IR)) * (1 - a * req(metrics.AR))),
    );
    const exploitability = 20 * av * ac * au;
    const adjustedBase = round1(
      (0.6 * adjustedImpact + 0.4 * exploitability - 1.5) * (adjustedImpact === 0 ? 0 : 1.176),
    );
    const adjustedTemporal = round1(adjustedBase * e * rl * rc);
    const cdp = { N: 0, L: 0.1, LM: 0.3, MH: 0.4, H: 0.5, ND: 0 }[metrics.CDP ?? "ND"]!;
    const td = { N: 0, L: 0.25, M: 0.75, H: 1, ND: 1 }[metrics.TD ?? "ND"]!;
    result.environmentalScore = round1((adjustedTemporal + (10 - adjustedTemporal) * cdp) * td);
  }
  return result;
}
