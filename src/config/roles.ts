import type { Config } from "./config.js";
import { ConfigError } from "./env-reader.js";

/** The parts of the service a process can run (`basket serve --role …`); see src/serve/serve.ts. */
export const roles = ["api", "worker", "projector", "all"] as const;
export type Role = (typeof roles)[number];

/** What a role needs beyond what every process needs; refused at start, with what to set. */
export function checkRole(config: Config, role: Role): void {
  if ((role === "api" || role === "worker") && !config.nats) {
    throw new ConfigError(`NATS_URL is required for --role ${role}.`);
  }
  // API processes sharing PostgreSQL must agree on the secret: only PGlite may make its own.
  if (
    (role === "api" || role === "all") &&
    !config.access.tokenSecrets &&
    config.store.database.kind !== "pglite"
  ) {
    throw new ConfigError(
      `BASKET_TOKEN_SECRETS is required for --role ${role} on PostgreSQL: comma-separated secrets of at ` +
        "least 32 characters (the first signs basket tokens, all are accepted), the same for every API process.",
    );
  }
}
