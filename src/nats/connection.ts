import { readFileSync } from "node:fs";
import { type ConnectionOptions, connect, credsAuthenticator, type NatsConnection } from "nats";

/** How to reach NATS besides its URLs: credentials, TLS, how long to try (docs/configuration.md). */
export interface NatsConnectionConfig {
  /** User and password (NATS_USER, NATS_PASSWORD); the URL may carry them too. */
  user?: { name: string; password: string } | undefined;
  token?: string | undefined;
  /** A .creds file (JWT and NKey seed), read again at every reconnect so a rotated file is taken. */
  credsFile?: string | undefined;
  /** Set when TLS is asked for (NATS_TLS, any NATS_TLS_*_FILE, or a tls:// URL). */
  tls?:
    | { caFile?: string | undefined; certFile?: string | undefined; keyFile?: string | undefined }
    | undefined;
  connectTimeoutMs: number;
}

export const defaultNatsConnection: NatsConnectionConfig = { connectTimeoutMs: 10_000 };

/** NATS could not be reached at start. The message names the hosts only: URLs may hold credentials. */
export class NatsUnreachable extends Error {
  override readonly name = "NatsUnreachable";
}

/**
 * Connects to the configured servers — the seeds of a cluster, or one server: every process
 * connects through this. Credentials in a URL (`nats://user:password@host`, `nats://token@host`)
 * are taken out of it and passed as such — nats.js would not read them there.
 */
export async function connectNats(
  servers: readonly string[],
  config: NatsConnectionConfig,
  extra: Partial<ConnectionOptions> = {},
): Promise<NatsConnection> {
  try {
    return await connect(natsConnectionOptions(servers, config, extra));
  } catch (error) {
    throw new NatsUnreachable(
      `Cannot connect to NATS at ${natsHosts(servers)}: ${error instanceof Error ? error.message : error}`,
    );
  }
}

export function natsConnectionOptions(
  servers: readonly string[],
  config: NatsConnectionConfig,
  extra: Partial<ConnectionOptions> = {},
): ConnectionOptions {
  const plain = servers.map(withoutCredentials);
  const fromUrl = plain.find((server) => server.fromUrl.user || server.fromUrl.token)?.fromUrl ?? {};
  const { user, token, credsFile, tls } = { ...config, ...fromUrl };
  return {
    servers: plain.map((server) => server.url),
    timeout: config.connectTimeoutMs,
    ...(user ? { user: user.name, pass: user.password } : {}),
    ...(token ? { token } : {}),
    ...(credsFile ? { authenticator: credsAuthenticator(() => readFileSync(credsFile)) } : {}),
    ...(tls
      ? {
          tls: {
            ...(tls.caFile ? { caFile: tls.caFile } : {}),
            ...(tls.certFile ? { certFile: tls.certFile } : {}),
            ...(tls.keyFile ? { keyFile: tls.keyFile } : {}),
          },
        }
      : {}),
    ...extra,
  };
}

function withoutCredentials(url: string): {
  url: string;
  fromUrl: Pick<NatsConnectionConfig, "user" | "token">;
} {
  const parsed = new URL(url);
  if (!parsed.username) return { url, fromUrl: {} };
  const name = decodeURIComponent(parsed.username);
  const password = decodeURIComponent(parsed.password);
  parsed.username = "";
  parsed.password = "";
  return {
    url: parsed.toString(),
    fromUrl: password ? { user: { name, password } } : { token: name },
  };
}

/** Where NATS is, for messages: the URLs may hold a user and password. */
export const natsHosts = (servers: readonly string[]) =>
  servers.map((url) => (URL.canParse(url) ? new URL(url).host : "the configured server")).join(", ");
