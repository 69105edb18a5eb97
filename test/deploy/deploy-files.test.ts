import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadConfig } from "../../src/config/config.js";
import { roles } from "../../src/config/roles.js";
import {
  envValues,
  execForm,
  finalStage,
  healthcheckCommand,
  only,
  readDockerfile,
} from "../support/dockerfile.js";
import { natsServer } from "../support/private-servers.js";

// Docker isn't available here: these check that the Dockerfile and deploy/compose.yaml agree with
// the package, the CLI and each other. test/deploy/package.test.ts runs what the image runs.

const run = promisify(execFile);
const root = new URL("../../", import.meta.url).pathname;
const deploy = join(root, "deploy");
const read = (path: string) => readFileSync(join(root, path), "utf8");
const pkg = JSON.parse(read("package.json")) as {
  bin: { basket: string };
  files: string[];
  scripts: Record<string, string>;
};

const dockerfile = readDockerfile();
const image = finalStage(dockerfile);
const entrypoint = execForm(only(image, "ENTRYPOINT").value);
const imageEnv = envValues(image);

/** .dockerignore's verdict on a path of the build context, as Docker reads it: the last match wins. */
function letIn(path: string): boolean {
  const toRegex = (glob: string) =>
    new RegExp(
      `^${glob
        .replace(/[.+^$|()[\]{}]/g, "\\$&")
        .replace(/\*/g, "[^/]*")
        .replace(/\?/g, "[^/]")}(/|$)`,
    );
  let included = true;
  for (const line of read(".dockerignore").split("\n")) {
    const pattern = line.trim();
    if (pattern === "" || pattern.startsWith("#")) continue;
    const negated = pattern.startsWith("!");
    if (toRegex(negated ? pattern.slice(1) : pattern).test(path)) included = negated;
  }
  return included;
}

interface Service {
  image?: string;
  build?: { context: string };
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test?: string[]; disable?: boolean };
  depends_on?: Record<string, { condition: string }>;
  deploy?: { replicas?: number };
  restart?: string;
  volumes?: string[];
}

/** deploy/env.example's values: what compose reads from deploy/.env. */
const exampleEnv = Object.fromEntries(
  read("deploy/env.example")
    .split("\n")
    .filter((line) => /^\w+=/.test(line))
    .map((line) => line.split(/=(.*)/).slice(0, 2) as [string, string]),
);

/** Compose's interpolation, of each string value after parsing: ${VAR}, ${VAR:-default}, ${VAR:?error}. */
const variablePattern = /\$\{(\w+)(?::([-?])([^}]*))?\}/g;
function interpolate(value: unknown, env: Record<string, string>): unknown {
  if (typeof value === "string")
    return value.replace(variablePattern, (_, name: string, kind?: string, word?: string) => {
      const given = env[name];
      if (given !== undefined && given !== "") return given;
      if (kind === "?") throw new Error(`compose would refuse: ${name} is unset (${word})`);
      return kind === "-" ? (word ?? "") : "";
    });
  if (Array.isArray(value)) return value.map((entry) => interpolate(entry, env));
  if (value !== null && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([key, entry]) => [key, interpolate(entry, env)]));
  return value;
}

const composeText = read("deploy/compose.yaml");
const composeParsed: unknown = parse(composeText, { merge: true });
const compose = interpolate(composeParsed, exampleEnv) as { services: Record<string, Service> };
const services = Object.entries(compose.services);
/** Services that run the repository's image (built from the Dockerfile). */
const ours = services.filter(([, service]) => service.build?.context === "..");
const role = (service: Service) => service.command?.[0];
const withRole = (wanted: string) => ours.filter(([, service]) => role(service) === wanted);
const replicas = (list: [string, Service][]) =>
  list.reduce((sum, [, service]) => sum + (service.deploy?.replicas ?? 1), 0);
const hostOf = (url: string | undefined) => (url ? new URL(url).hostname : undefined);

describe("the Dockerfile", () => {
  it("builds in one stage and runs in another, as a user that is not root", () => {
    const stages = dockerfile.filter((instruction) => instruction.name === "FROM");
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const build = dockerfile.slice(0, dockerfile.indexOf(image[0] as (typeof dockerfile)[number]));
    const runs = build.filter((i) => i.name === "RUN").map((i) => i.value);
    expect(runs.some((command) => /npm ci --no-audit/.test(command))).toBe(true);
    expect(runs.some((command) => /npm pack/.test(command))).toBe(true);
    expect(runs.some((command) => /npm ci --omit=dev/.test(command))).toBe(true);
    expect(pkg.scripts.prepack).toBe("npm run build");
    expect(image.some((i) => i.name === "COPY" && i.value.startsWith("--from="))).toBe(true);
    expect(only(image, "USER").value).not.toMatch(/^(root|0)(:|$)/);
  });

  it("copies every source the build needs, and .dockerignore lets them in and keeps the rest out", () => {
    const copied = dockerfile
      .filter((i) => i.name === "COPY" && !i.value.startsWith("--from="))
      .flatMap((i) => i.value.split(/\s+/).slice(0, -1));
    for (const source of copied) {
      expect(existsSync(join(root, source)), source).toBe(true);
      expect(letIn(source), source).toBe(true);
    }
    const built = (JSON.parse(read("tsconfig.build.json")) as { include: string[] }).include;
    const published = pkg.files.filter((entry) => !entry.startsWith("dist/"));
    expect(copied).toEqual(
      expect.arrayContaining(["package-lock.json", "tsconfig.json", ...built, ...published]),
    );
    for (const left of ["node_modules", "dist", "data", "test", "bench", ".env", "deploy/.env", ".git"])
      expect(letIn(left), left).toBe(false);
  });

  it("starts the CLI the package installs, serve --role <role>, all by default, on every interface", () => {
    expect(entrypoint).toEqual(["node", pkg.bin.basket, "serve", "--role"]);
    expect(pkg.files.some((entry) => pkg.bin.basket.startsWith(`${entry}/`))).toBe(true);
    expect(roles).toContain(execForm(only(image, "CMD").value)[0]);
    expect(imageEnv).toMatchObject({ HOST: "0.0.0.0", NODE_ENV: "production" });
    expect(only(image, "EXPOSE").value).toBe(imageEnv.PORT);
  });

  it("checks health with node on /health/ready at PORT", () => {
    const command = healthcheckCommand(only(image, "HEALTHCHECK").value);
    expect(command.slice(0, 2)).toEqual(["node", "-e"]);
    expect(command[2]).toMatch(/process\.env\.PORT/);
    expect(command[2]).toMatch(/\/health\/ready/);
  });
});

describe("deploy/compose.yaml", () => {
  it("needs no secret that deploy/env.example does not name, and the guide names them all", () => {
    const guide = read("docs/deployment.md");
    for (const [, name = ""] of composeText.matchAll(variablePattern)) {
      expect(guide, name).toContain(name);
      if (composeText.includes(`\${${name}:?`)) expect(Object.keys(exampleEnv), name).toContain(name);
    }
    expect(() => interpolate(composeParsed, {})).toThrow(/POSTGRES_PASSWORD is unset/);
  });

  it("runs two APIs behind the proxy, three workers, two projectors and a one-shot migration", () => {
    const apis = withRole("api").map(([name]) => name);
    expect(apis).toHaveLength(2);
    expect(replicas(withRole("worker"))).toBe(3);
    expect(replicas(withRole("projector"))).toBe(2);
    for (const [name, service] of ours) {
      if (service.command) expect(roles, name).toContain(role(service));
      else expect(service.entrypoint, name).toEqual(["node", pkg.bin.basket, "migrate"]);
    }
    // The proxy sends to each API on the port it listens on, when it is ready.
    const caddyfile = read("deploy/caddy/Caddyfile");
    const upstreams = /reverse_proxy\s+([^{]+)\{/.exec(caddyfile)?.[1]?.trim().split(/\s+/);
    expect(upstreams?.sort()).toEqual(apis.map((name) => `${name}:${imageEnv.PORT}`).sort());
    expect(caddyfile).toMatch(/health_uri \/health\/ready/);
  });

  it("gives each process of the service a configuration it accepts: the primary, the replica for queries, NATS with three replicas", () => {
    const natsNodes = services.filter(([name]) => /^nats-\d$/.test(name)).map(([name]) => name);
    expect(natsNodes).toHaveLength(3);
    for (const [name, service] of ours) {
      const env = service.environment ?? {};
      expect(hostOf(env.DATABASE_URL), name).toBe("postgres-primary");
      if (name === "migrate") continue;
      expect(env.NATS_REPLICAS, name).toBe("3");
      const seeds = (env.NATS_URL ?? "").split(",");
      expect(seeds.map((seed) => new URL(seed).host).sort(), name).toEqual(
        natsNodes.map((node) => `${node}:4222`),
      );
      expect(loadConfig({ ...imageEnv, ...env }).nats?.servers, name).toEqual(seeds);
    }
    for (const [name, service] of withRole("api")) {
      expect(hostOf(service.environment?.DATABASE_READ_URL), name).toBe("postgres-replica");
      expect(service.environment?.BASKET_TOKEN_SECRETS, name).toBeTruthy();
    }
  });

  it("has a healthcheck on every long-running service, and waits only on what exists", () => {
    const healthchecked = (service: Service) =>
      service.healthcheck?.disable !== true &&
      (service.healthcheck?.test !== undefined || service.build?.context === "..");
    for (const [name, service] of services) {
      if (!healthchecked(service)) {
        // A one-shot job: the others wait for it to complete, not to be healthy.
        expect(service.restart, name).toBe("no");
        const waiters = services.filter(([, other]) => other.depends_on?.[name]);
        expect(waiters.length, name).toBeGreaterThan(0);
        for (const [, other] of waiters)
          expect(other.depends_on?.[name]?.condition).toBe("service_completed_successfully");
      }
      for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
        const target = compose.services[dependency];
        expect(target, `${name} → ${dependency}`).toBeDefined();
        if (condition === "service_healthy") expect(healthchecked(target as Service), dependency).toBe(true);
      }
    }
  });

  it("mounts files that exist: valid NATS configurations naming every node, PostgreSQL scripts that parse", async () => {
    const mounted = services.flatMap(([, service]) =>
      (service.volumes ?? [])
        .filter((volume) => volume.startsWith("./"))
        .map((volume) => volume.split(":")[0] as string),
    );
    for (const path of mounted) expect(existsSync(join(deploy, path)), path).toBe(true);

    for (const [name, service] of services.filter(([name]) => /^nats-\d$/.test(name))) {
      const config = service.command?.at(-1)?.replace("/etc/nats/", "nats/") as string;
      expect(read(`deploy/${config}`)).toMatch(new RegExp(`^server_name: ${name}$`, "m"));
      await run(natsServer, ["-t", "-c", join(deploy, config)]);
    }
    const routes = [...read("deploy/nats/cluster.conf").matchAll(/nats-route:\/\/([\w-]+):6222/g)].map(
      (m) => m[1],
    );
    expect(routes).toEqual(["nats-1", "nats-2", "nats-3"]);

    const scripts = ["deploy/postgres/primary-init.sh", "deploy/postgres/replica-entrypoint.sh"];
    for (const script of scripts) await run("sh", ["-n", join(root, script)]);
    const slots = scripts.map((script) => /replica_\d+/.exec(read(script))?.[0]);
    expect(slots[0]).toBeDefined();
    expect(slots[1]).toBe(slots[0]);
  });
});
