import { accessSync, constants } from "node:fs";

/** A setting the process cannot run with. Its message names the variable, never a secret's value. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

export type Env = Record<string, string | undefined>;
export type EnvReader = ReturnType<typeof envReader>;

/** Reads typed values from the environment, each checked, with a message that says what was expected. */
export function envReader(env: Env) {
  /** URLs may hold passwords, so their values are never repeated in the message. */
  const fail = (name: string, expected: string, showValue = true): never => {
    const shown = showValue ? `=${JSON.stringify(env[name])}` : "";
    throw new ConfigError(`${name}${shown} is not valid: expected ${expected}.`);
  };
  const given = (name: string) => (env[name] === undefined || env[name] === "" ? undefined : env[name]);
  return {
    env,
    given,
    fail,
    integer(name: string, fallback: number, min: number, max: number): number {
      const raw = given(name);
      if (raw === undefined) return fallback;
      const value = Number(raw);
      if (!/^\d+$/.test(raw) || value < min || value > max) fail(name, `an integer from ${min} to ${max}`);
      return value;
    },
    /** A number from 0 to 1, e.g. 0.98. */
    fraction(name: string, fallback: number): number {
      const raw = given(name);
      if (raw === undefined) return fallback;
      const value = Number(raw);
      if (!/^(0|1|0?\.\d+|1\.0*)$/.test(raw) || value > 1) fail(name, "a number from 0 to 1");
      return value;
    },
    boolean(name: string, fallback: boolean): boolean {
      const raw = given(name);
      if (raw === undefined) return fallback;
      if (raw === "true" || raw === "1") return true;
      if (raw === "false" || raw === "0") return false;
      return fail(name, "true or false");
    },
    oneOf<T extends string>(name: string, values: readonly T[], fallback: T): T {
      const raw = given(name);
      if (raw === undefined) return fallback;
      if (!values.includes(raw as T)) fail(name, `one of ${values.join(", ")}`);
      return raw as T;
    },
    url(name: string, protocols: readonly string[]): string {
      const raw = given(name);
      const expected = `a URL (${protocols.join(" or ")}//…)`;
      if (!raw) return fail(name, expected, false);
      if (!URL.canParse(raw) || !protocols.includes(new URL(raw).protocol)) fail(name, expected, false);
      return raw;
    },
    /** Comma-separated URLs, e.g. the seed servers of a cluster. */
    urls(name: string, protocols: readonly string[]): string[] {
      const raw = given(name);
      const expected = `comma-separated URLs (${protocols.join(" or ")}//…)`;
      if (!raw) return fail(name, expected, false);
      const urls = raw.split(",").map((entry) => entry.trim());
      for (const url of urls)
        if (!URL.canParse(url) || !protocols.includes(new URL(url).protocol)) fail(name, expected, false);
      return urls;
    },
    /** A secret value: never repeated in a message. */
    secret(name: string): string | undefined {
      return given(name);
    },
    /** A file the process must be able to read; its path (not a secret) is named when it cannot. */
    file(name: string): string | undefined {
      const raw = given(name);
      if (raw === undefined) return undefined;
      try {
        accessSync(raw, constants.R_OK);
      } catch (error) {
        fail(name, `a readable file (${(error as NodeJS.ErrnoException).code ?? "unreadable"})`);
      }
      return raw;
    },
    streamNamespace(name: string): string {
      const raw = env[name] ?? "";
      if (raw.startsWith("$") || /\s/.test(raw) || raw.length > 100)
        fail(name, "a stream name prefix (no spaces, not starting with $, at most 100 characters)");
      return raw;
    },
    /**
     * A comma-separated list of secrets; undefined when unset. The message says which entry is
     * wrong and why, never what it holds.
     */
    secrets(name: string, problemOf: (entry: string) => string | undefined): string[] | undefined {
      const raw = given(name);
      if (raw === undefined) return undefined;
      const entries = raw.split(",").map((entry) => entry.trim());
      entries.forEach((entry, i) => {
        const problem = entry === "" ? "no empty entries" : problemOf(entry);
        if (problem) fail(name, `comma-separated entries; entry ${i + 1}: ${problem}`, false);
      });
      return entries;
    },
    /** false, true (every hop), a number of hops, or comma-separated addresses/CIDRs of the proxies. */
    trustProxy(name: string): boolean | number | string {
      const raw = env[name];
      if (raw === undefined || raw === "" || raw === "false") return false;
      if (raw === "true") return true;
      if (/^\d{1,2}$/.test(raw)) return Number(raw);
      const address = /^[0-9A-Fa-f.:]+(\/\d{1,3})?$/;
      if (raw.split(",").every((entry) => address.test(entry.trim()))) return raw;
      return fail(
        name,
        "true, false, a number of proxy hops, or comma-separated proxy addresses (CIDR allowed)",
      );
    },
    subjectToken(name: string, fallback: string): string {
      const raw = given(name);
      if (raw === undefined) return fallback;
      // One token: the prefix also names JetStream streams and KV buckets, which allow no dots.
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(raw))
        fail(name, "one NATS subject token (letters, digits, - and _, at most 64)");
      return raw;
    },
    /** Two variables that mean something only as a pair (a user and its password, a certificate and its key). */
    together(name: string, value: unknown, otherName: string, other: unknown): void {
      if ((value === undefined) !== (other === undefined))
        throw new ConfigError(`${name} and ${otherName} go together: give both or neither.`);
    },
  };
}
