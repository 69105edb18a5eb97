import { Option } from "commander";
import { AdminTokens } from "../access/admin-tokens.js";

/** `--admin-token`, or BASKET_ADMIN_TOKEN, which — unlike a command line — `ps` does not show. */
export const adminTokenOption = () =>
  new Option(
    "--admin-token <token>",
    "the operator's credential, one of ADMIN_TOKENS (better: BASKET_ADMIN_TOKEN, which ps does not show)",
  ).env("BASKET_ADMIN_TOKEN");

/**
 * An action that changes things (rebuild, import, replay) runs only for the operator: the token
 * presented must be one of ADMIN_TOKENS, as on the HTTP operator routes. Checked before anything
 * is opened, so a refusal changes nothing.
 *
 * The CLI talks to the database itself, so this is an interlock, not the security boundary: it
 * keeps a job or a person given the configuration for looking (history, export, status) from
 * changing the shop by mistake, and when ADMIN_TOKENS holds digests, reading the configuration
 * does not reveal the token. Whoever holds database credentials that may write can change the
 * data without this CLI; that is what PostgreSQL's own roles are for (docs/cli.md).
 */
export function requireOperator(action: string, adminTokens: string[], presented: string | undefined): void {
  const operators = new AdminTokens(adminTokens);
  if (!operators.configured)
    throw new Error(`${action} needs the operator's credential, and ADMIN_TOKENS is not configured.`);
  if (presented === undefined || presented === "")
    throw new Error(`${action} needs the operator's credential: set BASKET_ADMIN_TOKEN (or --admin-token).`);
  if (!operators.verify(presented))
    throw new Error(`${action}: the operator's credential given is not one of ADMIN_TOKENS.`);
}
