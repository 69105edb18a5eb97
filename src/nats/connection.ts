import { readFileSync } from "node:fs";
import { type ConnectionOptions, connect, credsAuthenticator, type NatsConnection } from "nats";

/** How to reach NATS besides its URL: credentials, TLS, how long to try (README: configuration). */
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

/**
 * nats.js options for the configured server: every process connects through this. Credentials
 * in the URL (`nats://user:password@host`, `nats://token@host`) are taken out of it and passed
 * as such — nats.js would not read them there.
 */
export function natsConnectionOptions(
  url: string,
  config: NatsConnectionConfig,
  extra: Partial<ConnectionOptions> = {},
): ConnectionOptions {
  const { servers, fromUrl } = withoutCredentials(url);
  const { user, token, credsFile, tls } = { ...config, ...fromUrl };
  return {
    servers,
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
  servers: string;
  fromUrl: Pick<NatsConnectionConfig, "user" | "token">;
} {
  const parsed = new URL(url);
  if (!parsed.username) return { servers: url, fromUrl: {} };
  const name = decodeURIComponent(parsed.username);
  const password = decodeURIComponent(parsed.password);
  parsed.username = "";
  parsed.password = "";
  return {
    servers: parsed.toString(),
    fromUrl: password ? { user: { name, password } } : { token: name },
  };
}

export const connectNats = (
  url: string,
  config: NatsConnectionConfig,
  extra: Partial<ConnectionOptions> = {},
) => connect(natsConnectionOptions(url, config, extra)) as Promise<NatsConnection>;

/** Where NATS is, for messages: the URL may hold a user and password. */
export const natsHost = (url: string) => (URL.canParse(url) ? new URL(url).host : "the configured server");
