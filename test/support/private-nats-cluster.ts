import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { natsServer, steadyPort, waitUntil } from "./private-servers.js";
import { onTestProcessEnd } from "./processes.js";

/** One node of a private cluster: its own client, route and monitoring ports, its own store. */
export interface ClusterNode {
  /** Its server_name: n1, n2, n3. */
  readonly name: string;
  /** nats://127.0.0.1:<client port> */
  readonly url: string;
  readonly running: boolean;
  /** Kills it (SIGKILL by default: a crash). */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again with the same store; resolves once it takes connections. */
  start(): Promise<void>;
}

export interface PrivateNatsCluster {
  readonly nodes: readonly ClusterNode[];
  /** Every node's URL, comma-separated: NATS_URL. */
  readonly url: string;
  /** The node that leads JetStream's metadata (streams, consumers, their placement) now, if any. */
  metaLeader(): Promise<string | undefined>;
  node(name: string): ClusterNode;
  destroy(): Promise<void>;
}

/**
 * A NATS cluster of `size` nodes on loopback — nats-server with cluster routes on spare ports and
 * JetStream on every node, each store in a temporary folder that outlives restarts — for tests
 * that kill nodes under load. Resolves once a JetStream metadata leader is elected.
 */
export async function startPrivateNatsCluster(size = 3): Promise<PrivateNatsCluster> {
  const root = mkdtempSync(join(tmpdir(), "basket-nats-cluster-"));
  const ports = await Promise.all(
    Array.from({ length: size }, async () => ({
      client: await steadyPort(),
      route: await steadyPort(),
      monitor: await steadyPort(),
    })),
  );
  const routes = ports.map(({ route }) => `nats-route://127.0.0.1:${route}`).join(", ");
  const children = new Map<string, ChildProcess>();
  const nodes = ports.map(({ client, route, monitor }, i): ClusterNode => {
    const name = `n${i + 1}`;
    const configFile = join(root, `${name}.conf`);
    writeFileSync(
      configFile,
      [
        `server_name: ${name}`,
        `listen: 127.0.0.1:${client}`,
        `http: 127.0.0.1:${monitor}`,
        `jetstream { store_dir: "${join(root, name)}" }`,
        // Every node lists all of them, itself included (which it skips).
        `cluster { name: basket-test, listen: 127.0.0.1:${route}, routes: [${routes}] }`,
        "",
      ].join("\n"),
    );
    const node = {
      name,
      url: `nats://127.0.0.1:${client}`,
      monitorUrl: `http://127.0.0.1:${monitor}`,
      get running() {
        return children.has(name);
      },
      async start() {
        let log = "";
        const child = spawn(natsServer, ["-c", configFile], { stdio: ["ignore", "pipe", "pipe"] });
        children.set(name, child);
        const collect = (chunk: Buffer) => {
          log += chunk.toString();
        };
        child.stdout?.on("data", collect);
        child.stderr?.on("data", collect);
        await waitUntil(`nats-server ${name}`, async () => {
          if (child.exitCode !== null) throw new Error(`nats-server ${name} exited:\n${log}`);
          return log.includes("Server is ready");
        });
      },
      async stop(signal: NodeJS.Signals = "SIGKILL") {
        const child = children.get(name);
        children.delete(name);
        if (!child || child.exitCode !== null) return;
        const exited = once(child, "exit");
        child.kill(signal);
        await exited;
      },
    };
    return node;
  });
  const monitorUrls = new Map(nodes.map((node, i) => [node.name, `http://127.0.0.1:${ports[i]?.monitor}`]));

  const cluster: PrivateNatsCluster = {
    nodes,
    url: nodes.map((node) => node.url).join(","),
    async metaLeader() {
      // Any running node knows who leads; /jsz is its monitoring view of JetStream.
      for (const node of nodes.filter((n) => n.running)) {
        try {
          const response = await fetch(`${monitorUrls.get(node.name)}/jsz`, {
            signal: AbortSignal.timeout(1_000),
          });
          const jsz = (await response.json()) as { meta_cluster?: { leader?: string } };
          if (jsz.meta_cluster?.leader) return jsz.meta_cluster.leader;
        } catch {
          // This node does not answer: ask the next.
        }
      }
      return undefined;
    },
    node(name) {
      const found = nodes.find((node) => node.name === name);
      if (!found) throw new Error(`no node ${name} in the cluster`);
      return found;
    },
    async destroy() {
      forget();
      await Promise.all(nodes.map((node) => node.stop()));
      rmSync(root, { recursive: true, force: true });
    },
  };
  const forget = onTestProcessEnd(() => {
    for (const child of children.values()) child.kill("SIGKILL");
    rmSync(root, { recursive: true, force: true });
  });
  try {
    await Promise.all(nodes.map((node) => node.start()));
    await waitUntil("a JetStream metadata leader", async () => (await cluster.metaLeader()) !== undefined);
  } catch (error) {
    await cluster.destroy();
    throw error;
  }
  return cluster;
}
