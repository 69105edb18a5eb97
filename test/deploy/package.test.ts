import { execFile } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Role } from "../../src/config/roles.js";
import { createBasket, operatorEnv, testTokenSecret } from "../support/baskets.js";
import { putCatalog } from "../support/catalog.js";
import { createPostgresDatabase } from "../support/databases.js";
import {
  envValues,
  execForm,
  finalStage,
  healthcheckCommand,
  only,
  readDockerfile,
} from "../support/dockerfile.js";
import { connectNats, testNatsUrl, uniquePrefix } from "../support/nats.js";
import { listeningUrl, type ServiceProcess, startNode } from "../support/processes.js";

const run = promisify(execFile);
const root = new URL("../../", import.meta.url).pathname;
const image = finalStage(readDockerfile());
const entrypoint = execForm(only(image, "ENTRYPOINT").value);
const healthcheck = healthcheckCommand(only(image, "HEALTHCHECK").value);

/**
 * What the Dockerfile's build stage does, without Docker: pack the project as npm would publish
 * it, unpack it, and install its production dependencies from the lock file.
 */
async function installAsTheImageDoes(into: string): Promise<{ app: string; packed: string[] }> {
  // --ignore-scripts: the test run has built dist/ already (vitest's globalSetup), and prepack's
  // rebuild would rewrite files under the processes other test files are starting.
  const { stdout } = await run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", into], {
    cwd: root,
  });
  const [{ filename, files }] = JSON.parse(stdout) as [{ filename: string; files: { path: string }[] }];
  const app = join(into, "app");
  mkdirSync(app);
  await run("tar", ["-xzf", join(into, filename), "-C", app, "--strip-components=1"]);
  copyFileSync(join(root, "package-lock.json"), join(app, "package-lock.json"));
  await run("npm", ["ci", "--omit=dev", "--no-audit", "--no-fund", "--prefer-offline"], { cwd: app });
  return { app, packed: files.map((file) => file.path) };
}

/** The image's command for a role (`node` being this node), run where the image runs it. */
const startRole = (app: string, role: Role, env: Record<string, string>) =>
  startNode(
    [...entrypoint.slice(1), role],
    { ...envValues(image), HOST: "127.0.0.1", PORT: "0", ...env },
    app,
  );

/** The image's HEALTHCHECK against a process listening at `url`: its exit code. */
async function healthcheckExitCode(app: string, url: string): Promise<number> {
  const [, ...args] = healthcheck;
  const { port } = new URL(url);
  return run(process.execPath, args, { cwd: app, env: { PATH: process.env.PATH, PORT: port } }).then(
    () => 0,
    (error: { code: number }) => error.code,
  );
}

async function untilReady(url: string, timeoutMs = 20_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await fetch(`${url}/health/ready`);
    await response.text();
    const { status } = response;
    if (status === 200 || Date.now() > deadline) return status;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function stop(service: ServiceProcess): Promise<number | null> {
  service.child.kill("SIGTERM");
  return service.exited;
}

describe("the package, installed as the image installs it", { timeout: 120_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), "basket-package-"));
  let installed: { app: string; packed: string[] };
  let installMs = 0;

  beforeAll(async () => {
    const started = performance.now();
    installed = await installAsTheImageDoes(work);
    installMs = performance.now() - started;
  }, 180_000);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it("holds what runs, and none of the repository's sources, tests or benchmarks", () => {
    console.log(`pack and production install: ${Math.round(installMs)} ms`);
    const { packed, app } = installed;
    expect(packed).toEqual(
      expect.arrayContaining([
        entrypoint[1] as string,
        "dist/package.json",
        "dist/migrations/index.js",
        "public/index.html",
        "package.json",
        "README.md",
      ]),
    );
    expect(packed.filter((path) => !/^(dist\/(src|migrations)\/|public\/)/.test(path)).sort()).toEqual([
      "README.md",
      "dist/package.json",
      "package.json",
    ]);
    // Production dependencies only: the build and test tools stayed behind.
    for (const tool of ["typescript", "vitest", "tsx", "@biomejs/biome"])
      expect(existsSync(join(app, "node_modules", tool)), tool).toBe(false);
    expect(existsSync(join(app, "node_modules", "fastify"))).toBe(true);
  });

  it("runs migrate, then api, worker and projector against PostgreSQL and NATS: each ready, a command through", async () => {
    const { app } = installed;
    const database = await createPostgresDatabase();
    const prefix = uniquePrefix("pkg");
    const env = { DATABASE_URL: database.url, NATS_URL: testNatsUrl, NATS_SUBJECT_PREFIX: prefix };
    const services: ServiceProcess[] = [];
    try {
      // deploy/compose.yaml's migrate service: the same CLI, another command.
      const migrate = startNode([entrypoint[1] as string, "migrate"], env, app);
      expect(await migrate.exited).toBe(0);

      const roles = {
        api: { BASKET_TOKEN_SECRETS: testTokenSecret, ADMIN_TOKENS: operatorEnv.ADMIN_TOKENS },
        worker: {},
        projector: {},
      };
      const started = Object.entries(roles).map(([role, extra]) => {
        const service = startRole(app, role as Role, { ...env, ...extra });
        services.push(service);
        return listeningUrl(service).then((url) => [role, url] as const);
      });
      const urls = Object.fromEntries(await Promise.all(started));
      for (const [role, url] of Object.entries(urls)) {
        expect(await untilReady(url), role).toBe(200);
        expect(await healthcheckExitCode(app, url), role).toBe(0);
      }

      // The operator lists a product; the worker prices the basket from it.
      await putCatalog(urls.api as string, { tea: 450 });
      const { id, auth } = await createBasket(urls.api as string);
      const added = await fetch(`${urls.api}/baskets/${id}/items`, {
        method: "POST",
        headers: { "content-type": "application/json", ...auth },
        body: JSON.stringify({ sku: "tea", quantity: 2 }),
      });
      expect(added.status).toBe(200);
      expect(await added.json()).toMatchObject({ total: 900, revision: 1 });
      // The projector's read model, through the API's query route.
      const read = await fetch(`${urls.api}/baskets/${id}?minRevision=1`, { headers: auth });
      expect(await read.json()).toMatchObject({ id, total: 900, lines: [{ sku: "tea", quantity: 2 }] });

      for (const service of services) expect(await stop(service)).toBe(0);
      expect(await healthcheckExitCode(app, urls.api as string)).toBe(1);
    } finally {
      for (const service of services) if (service.child.exitCode === null) service.child.kill("SIGKILL");
      const nc = await connectNats("test-package-cleanup");
      const jsm = await nc.jetstreamManager();
      for await (const { config } of jsm.streams.list())
        if (config.name.includes(prefix)) await jsm.streams.delete(config.name);
      await nc.close();
      await database.drop();
    }
  });

  it("runs --role all, the image's default, on PGlite with no servers", async () => {
    const { app } = installed;
    const dataDir = join(work, "pglite");
    expect(only(image, "CMD").value).toBe(JSON.stringify(["all"]));
    const service = startRole(app, "all", { PGLITE_DATA_DIR: dataDir });
    try {
      const url = await listeningUrl(service);
      expect(await untilReady(url)).toBe(200);
      expect(await healthcheckExitCode(app, url)).toBe(0);
      const { id, auth } = await createBasket(url);
      const read = await fetch(`${url}/baskets/${id}`, { headers: auth });
      expect(await read.json()).toMatchObject({ id, total: 0 });
      // The demo page is served from the package's public/.
      expect((await fetch(`${url}/`)).status).toBe(200);
      expect(await stop(service)).toBe(0);
    } finally {
      if (service.child.exitCode === null) service.child.kill("SIGKILL");
    }
  });
});
