import { existsSync, readFileSync } from "node:fs";
import { posix } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { roles } from "../../src/config/roles.js";
import { allPanels, dashboardQueries, readDashboard, repoRoot } from "./dashboard.js";

const readYaml = (path: string) => parse(readFileSync(`${repoRoot}${path}`, "utf8"));

interface Service {
  profiles?: string[];
  image: string;
  volumes?: string[];
  ports?: string[];
  command?: string[];
}
const compose = readYaml("compose.yaml") as { services: Record<string, Service> };
const observability = ["prometheus", "grafana", "jaeger"];

/** A bind mount `./host/path:/container/path[:ro]`. */
const mounts = (service: string) =>
  (compose.services[service]?.volumes ?? []).map((volume) => {
    const [host, container] = volume.split(":") as [string, string];
    return { host, container };
  });
const publishedPort = (service: string, port: number) =>
  compose.services[service]?.ports?.some((mapping) => mapping.endsWith(`:${port}`));

/** Docker isn't here to start them: these check that the files agree with one another. */
describe("deploy/: compose profile, scrape example and Grafana provisioning", () => {
  it("starts Prometheus, Grafana and Jaeger in the profile `observability`, beside the services of every day", () => {
    for (const name of observability) expect(compose.services[name]?.profiles).toEqual(["observability"]);
    for (const name of ["nats", "postgres"]) expect(compose.services[name]?.profiles).toBeUndefined();
    for (const { image } of Object.values(compose.services)) expect(image).toMatch(/:[\w.]+$/); // pinned
  });

  it("mounts only files that exist", () => {
    const hostPaths = observability.flatMap(mounts).map(({ host }) => host);
    expect(hostPaths.length).toBeGreaterThan(0);
    for (const host of hostPaths) {
      expect(host).toMatch(/^\.\//);
      expect(existsSync(`${repoRoot}${host}`), host).toBe(true);
    }
  });

  it("has Prometheus scrape /metrics of every role", () => {
    expect(mounts("prometheus")).toContainEqual({
      host: "./deploy/prometheus/prometheus.yml",
      container: "/etc/prometheus/prometheus.yml",
    });
    const config = readYaml("deploy/prometheus/prometheus.yml") as {
      scrape_configs: { job_name: string; metrics_path?: string; static_configs: { targets: string[] }[] }[];
    };
    const jobs = config.scrape_configs.map((job) => job.job_name);
    expect(jobs).toEqual(roles.filter((role) => role !== "all").map((role) => `basket-${role}`));
    for (const job of config.scrape_configs) {
      expect(job.metrics_path ?? "/metrics").toBe("/metrics");
      expect(job.static_configs.flatMap((group) => group.targets).length).toBeGreaterThan(0);
    }
  });

  it("provisions Grafana with the Prometheus and Jaeger of the profile, and the dashboard where its provider looks", () => {
    const grafana = mounts("grafana");
    const provisioned = (kind: string) => {
      const mount = grafana.find(({ container }) => container === `/etc/grafana/provisioning/${kind}`);
      expect(mount, `provisioning/${kind} is mounted`).toBeDefined();
      return mount?.host as string;
    };
    const { datasources } = readYaml(`${provisioned("datasources")}/datasources.yaml`) as {
      datasources: { type: string; url: string; isDefault?: boolean }[];
    };
    expect(datasources).toContainEqual(
      expect.objectContaining({ type: "prometheus", url: "http://prometheus:9090", isDefault: true }),
    );
    expect(datasources).toContainEqual(
      expect.objectContaining({ type: "jaeger", url: "http://jaeger:16686" }),
    );
    expect(publishedPort("prometheus", 9090)).toBe(true);

    const { providers } = readYaml(`${provisioned("dashboards")}/basket-service.yaml`) as {
      providers: { type: string; options: { path: string } }[];
    };
    const dashboard = grafana.find(({ host }) => host === "./deploy/grafana/basket-service.json");
    expect(providers).toHaveLength(1);
    expect(providers[0]?.type).toBe("file");
    expect(posix.dirname(dashboard?.container ?? "")).toBe(providers[0]?.options.path);
  });

  it("has Jaeger take OTLP over gRPC (4317) and HTTP (4318) from the host, and show its UI", () => {
    for (const port of [4317, 4318, 16686]) expect(publishedPort("jaeger", port), `port ${port}`).toBe(true);
    expect(compose.services.jaeger?.command).toEqual([
      "--set=receivers.otlp.protocols.grpc.endpoint=0.0.0.0:4317",
      "--set=receivers.otlp.protocols.http.endpoint=0.0.0.0:4318",
    ]);
  });
});

describe("deploy/grafana/basket-service.json", () => {
  const dashboard = readDashboard();

  it("queries the data source the viewer picks, in every panel", () => {
    const [datasource] = dashboard.templating.list;
    expect(datasource).toMatchObject({ name: "datasource", type: "datasource", query: "prometheus" });
    const panels = allPanels(dashboard).filter((panel) => panel.type !== "row");
    expect(panels.length).toBeGreaterThan(10);
    for (const panel of panels) {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's syntax for a variable
      expect(panel.datasource, panel.title).toEqual({ type: "prometheus", uid: "${datasource}" });
      for (const target of panel.targets ?? [])
        expect(target.datasource, panel.title).toEqual(panel.datasource);
    }
    expect(new Set(allPanels(dashboard).map((panel) => panel.id)).size).toBe(allPanels(dashboard).length);
  });

  it("filters every metric of every panel by the $job and $instance variables", () => {
    const names = dashboard.templating.list.map((variable) => variable.name);
    expect(names).toEqual(["datasource", "job", "instance"]);
    const unfiltered = dashboardQueries(dashboard)
      .filter((query) => query.kind === "panel")
      .flatMap(({ where, selectors }) =>
        selectors
          .filter(
            ({ matchers }) =>
              !matchers.includes('job=~"$job"') || !matchers.includes('instance=~"$instance"'),
          )
          .map(({ metric }) => `${metric} (${where})`),
      );
    expect(unfiltered).toEqual([]);
  });
});
