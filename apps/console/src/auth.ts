import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { z } from "zod";

export const Role = z.enum(["viewer", "analyst"]);
export type Role = z.infer<typeof Role>;

export interface Principal {
  name: string;
  role: Role;
}

/** A token short enough to guess is refused at start rather than accepted at a login. */
export const MIN_TOKEN_LENGTH = 16;

export const TokenEntry = z.object({
  token: z.string().min(MIN_TOKEN_LENGTH, `a token has at least ${MIN_TOKEN_LENGTH} characters`),
  name: z.string().trim().min(1).max(200),
  role: Role,
});
export type TokenEntry = z.infer<typeof TokenEntry>;

const TokensFile = z.union([
  z.object({ tokens: z.array(TokenEntry) }),
  z.array(TokenEntry),
  // token -> { name, role }
  z.record(z.string(), z.object({ name: TokenEntry.shape.name, role: Role })),
]);

export class TokensError extends Error {}

/** Tokens from a YAML or JSON document: `tokens: [{ token, name, role }]`, a list, or `token: { name, role }`. */
export function parseTokens(text: string, origin: string): TokenEntry[] {
  let document: unknown;
  try {
    document = parseYaml(text, { maxAliasCount: 0, uniqueKeys: true });
  } catch (error) {
    throw new TokensError(`${origin}: not YAML or JSON: ${(error as Error).message}`);
  }
  const parsed = TokensFile.safeParse(document);
  if (!parsed.success) {
    // Never echo the values: they are secrets.
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`,
    );
    throw new TokensError(`${origin}: invalid tokens file: ${problems.join("; ")}`);
  }
  const data = parsed.data;
  const entries = Array.isArray(data)
    ? data
    : "tokens" in data && Array.isArray(data.tokens)
      ? (data.tokens as TokenEntry[])
      : Object.entries(data as Record<string, Principal>).map(([token, principal]) =>
          TokenEntry.parse({ token, ...principal }),
        );
  return checked(entries, origin);
}

/** `VIGIL_CONSOLE_TOKENS`: `token=name:role,token=name:role`. */
export function parseTokensEnv(text: string, origin = "VIGIL_CONSOLE_TOKENS"): TokenEntry[] {
  const entries: TokenEntry[] = [];
  for (const [index, part] of text.split(",").entries()) {
    const item = part.trim();
    if (item === "") continue;
    const equals = item.indexOf("=");
    const colon = item.lastIndexOf(":");
    if (equals <= 0 || colon <= equals + 1) {
      throw new TokensError(`${origin}: entry ${index + 1} is not token=name:role`);
    }
    const parsed = TokenEntry.safeParse({
      token: item.slice(0, equals),
      name: item.slice(equals + 1, colon),
      role: item.slice(colon + 1),
    });
    if (!parsed.success) {
      const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
      throw new TokensError(`${origin}: entry ${index + 1}: ${problems.join("; ")}`);
    }
    entries.push(parsed.data);
  }
  return checked(entries, origin);
}

export async function loadTokens(path: string): Promise<TokenEntry[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new TokensError(`cannot read the tokens file ${path}: ${(error as NodeJS.ErrnoException).code}`);
  }
  return parseTokens(text, path);
}

function checked(entries: TokenEntry[], origin: string): TokenEntry[] {
  const seen = new Set<string>();
  for (const [index, entry] of entries.entries()) {
    if (seen.has(entry.token)) throw new TokensError(`${origin}: entry ${index + 1} repeats a token`);
    seen.add(entry.token);
  }
  return entries;
}

const digest = (value: string) => createHash("sha256").update(value, "utf8").digest();

export interface Session extends Principal {
  expires: number;
}

/**
 * Tokens and browser sessions. A token is compared with every known token in constant time
 * (digests of equal length, no early exit) so that timing says nothing of how much of it was right.
 * A browser holds a random session id, never the token.
 */
export class Authenticator {
  readonly #tokens: Array<{ digest: Buffer; principal: Principal }>;
  readonly #sessions = new Map<string, Session>();
  readonly #sessionMs: number;
  readonly #now: () => number;

  constructor(tokens: readonly TokenEntry[], options: { sessionMs?: number; now?: () => number } = {}) {
    this.#tokens = tokens.map((entry) => ({
      digest: digest(entry.token),
      principal: { name: entry.name, role: entry.role },
    }));
    this.#sessionMs = options.sessionMs ?? 12 * 3600_000;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#tokens.length;
  }

  verifyToken(token: string): Principal | undefined {
    const given = digest(token);
    let found: Principal | undefined;
    for (const entry of this.#tokens) {
      if (timingSafeEqual(given, entry.digest)) found = entry.principal;
    }
    return found;
  }

  openSession(principal: Principal): string {
    this.#sweep();
    const id = randomBytes(32).toString("base64url");
    this.#sessions.set(id, { ...principal, expires: this.#now() + this.#sessionMs });
    return id;
  }

  session(id: string): Session | undefined {
    const session = this.#sessions.get(id);
    if (!session) return undefined;
    if (session.expires <= this.#now()) {
      this.#sessions.delete(id);
      return undefined;
    }
    return session;
  }

  closeSession(id: string): void {
    this.#sessions.delete(id);
  }

  #sweep(): void {
    const now = this.#now();
    for (const [id, session] of this.#sessions) if (session.expires <= now) this.#sessions.delete(id);
  }
}
