import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { acquirePostgres, findPostgresBinaries, type PostgresEnvironment, redactUrl } from "./postgres.ts";

/** Nothing available: no DATABASE_URL, no binaries, and any start would be a bug in the decision. */
function nothingAvailable(calls: string[], statements: string[] = []): PostgresEnvironment {
  return {
    env: {},
    execute: async (url, sql) => {
      statements.push(`${url} ${sql}`);
    },
    findBinaries: () => {
      calls.push("binaries?");
      return "no initdb and pg_ctl on PATH or under /usr/lib/postgresql/*/bin";
    },
    startCluster: async () => {
      calls.push("cluster");
      throw new Error("unexpected cluster start");
    },
    log: () => {},
  };
}

describe("acquirePostgres", () => {
  it("uses DATABASE_URL when it answers, starts nothing, and drops the databases it created", async () => {
    const calls: string[] = [];
    const statements: string[] = [];
    const server = "postgres://vigil:s3cret@db.example:5432/postgres";
    const acquired = await acquirePostgres({
      ...nothingAvailable(calls, statements),
      env: { DATABASE_URL: server },
    });
    expect(acquired.source).toBe("external");
    const url = await acquired.createDatabase("store-contract");
    expect(url).toMatch(
      /^postgres:\/\/vigil:s3cret@db\.example:5432\/vigil_test_store_contract_[0-9a-f]{8}$/,
    );
    const name = new URL(url).pathname.slice(1);
    await acquired.stop();
    expect(statements).toEqual([
      `${server} SELECT 1`,
      `${server} CREATE DATABASE "${name}"`,
      `${server} DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`,
    ]);
    expect(calls).toEqual([]);
  });

  it("fails with what to do when DATABASE_URL does not answer, without printing its password", async () => {
    const calls: string[] = [];
    const error = await acquirePostgres({
      ...nothingAvailable(calls),
      env: { DATABASE_URL: "postgres://vigil:s3cret@127.0.0.1:1/postgres" },
      execute: async () => {
        throw new Error("connect ECONNREFUSED 127.0.0.1:1");
      },
    }).catch((e: unknown) => e);
    const message = (error as Error).message;
    expect(message).toContain("DATABASE_URL=postgres://vigil:***@127.0.0.1:1/postgres is set");
    expect(message).toContain("ECONNREFUSED");
    expect(message).toContain("unset DATABASE_URL");
    expect(message).not.toContain("s3cret");
    expect(calls).toEqual([]);
  });

  it("says the user must be allowed to create databases when it is not", async () => {
    const acquired = await acquirePostgres({
      ...nothingAvailable([]),
      env: { DATABASE_URL: "postgres://app:pw@db:5432/app" },
      execute: async (_url, sql) => {
        if (sql.startsWith("CREATE")) throw new Error("permission denied to create database");
      },
    });
    await expect(acquired.createDatabase()).rejects.toThrow(/allowed to CREATE DATABASE/);
  });

  it("starts a local cluster when there is no DATABASE_URL, and creates databases on it", async () => {
    const statements: string[] = [];
    let stopped = false;
    const acquired = await acquirePostgres({
      ...nothingAvailable([], statements),
      findBinaries: () => ({ initdb: "/pg/bin/initdb", pgCtl: "/pg/bin/pg_ctl" }),
      startCluster: async () => ({
        url: "postgres://postgres@127.0.0.1:45678/postgres",
        stop: async () => {
          stopped = true;
        },
      }),
    });
    expect(acquired.source).toBe("local-cluster");
    const url = await acquired.createDatabase();
    expect(url).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:45678\/vigil_test_t_/);
    await acquired.stop();
    expect(stopped).toBe(true);
    expect(statements[0]).toBe("postgres://postgres@127.0.0.1:45678/postgres SELECT 1");
  });

  it("says exactly how to get PostgreSQL when none can be had, and names the opt-out", async () => {
    const calls: string[] = [];
    const error = await acquirePostgres(nothingAvailable(calls)).catch((e: unknown) => e);
    const message = (error as Error).message;
    expect(message).toContain("DATABASE_URL: not set");
    expect(message).toContain("local cluster: no initdb and pg_ctl");
    expect(message).toContain("DATABASE_URL=postgres://");
    expect(message).toContain("apt-get install postgresql");
    expect(message).toContain("VIGIL_SKIP_INTEGRATION=1");
    expect(calls).toEqual(["binaries?"]);
  });

  it("reports why the local cluster did not start", async () => {
    const error = await acquirePostgres({
      ...nothingAvailable([]),
      findBinaries: () => ({ initdb: "/pg/bin/initdb", pgCtl: "/pg/bin/pg_ctl" }),
      startCluster: async () => {
        throw new Error("initdb exited with 1: could not create directory");
      },
    }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/local cluster \(\/pg\/bin\/initdb\): initdb exited with 1/);
  });
});

describe("findPostgresBinaries", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  function tree(binDirs: readonly string[]): string {
    const root = mkdtempSync(join(tmpdir(), "vigil-pgbin-"));
    dirs.push(root);
    for (const dir of binDirs) {
      mkdirSync(join(root, dir), { recursive: true });
      for (const tool of ["initdb", "pg_ctl"]) {
        writeFileSync(join(root, dir, tool), "#!/bin/sh\n");
        chmodSync(join(root, dir, tool), 0o755);
      }
    }
    return root;
  }

  it("prefers PATH, then the newest Debian version", () => {
    const root = tree(["lib/13/bin", "lib/16/bin", "lib/9.6/bin", "local/bin"]);
    const lib = join(root, "lib");
    expect(findPostgresBinaries({ path: join(root, "local/bin"), libRoot: lib, isRoot: false })).toEqual({
      initdb: join(root, "local/bin/initdb"),
      pgCtl: join(root, "local/bin/pg_ctl"),
    });
    expect(findPostgresBinaries({ path: "/nonexistent", libRoot: lib, isRoot: false })).toMatchObject({
      initdb: join(lib, "16/bin/initdb"),
    });
  });

  it("says why not: no binaries, or root without a postgres user", () => {
    const root = tree(["lib/16/bin"]);
    expect(findPostgresBinaries({ path: "", libRoot: join(root, "none"), isRoot: false })).toMatch(
      /no initdb/,
    );
    expect(
      findPostgresBinaries({ path: "", libRoot: join(root, "lib"), isRoot: true, postgresUser: () => false }),
    ).toMatch(/no `postgres` user/);
  });
});

describe("redactUrl", () => {
  it("masks the password and never echoes what is not a URL", () => {
    expect(redactUrl("postgres://u:p@h:5432/d")).toBe("postgres://u:***@h:5432/d");
    expect(redactUrl("s3cret@host/db")).toBe("<not a URL>");
  });
});
