import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";

const failure = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error("the configuration was accepted");
};

describe("configuration of access", () => {
  const secret = "a-basket-token-secret-0123456789abcdef";

  it("reads the token secrets and the operator's tokens as comma-separated lists", () => {
    const config = loadConfig({
      BASKET_TOKEN_SECRETS: ` ${secret}, ${secret.toUpperCase()}`,
      ADMIN_TOKENS: `sha256:${"ab".repeat(32)}`,
    });
    expect(config.access.tokenSecrets).toEqual([secret, secret.toUpperCase()]);
    expect(config.access.adminTokens).toEqual([`sha256:${"ab".repeat(32)}`]);
    expect(loadConfig({}).access).toEqual({
      tokenSecrets: undefined,
      adminTokens: [],
      cookieMaxAgeSeconds: 2_592_000,
    });
  });

  it.each([
    ["BASKET_TOKEN_SECRETS", `${secret},tooShortToBeSecret`, "entry 2: a secret has at least 32 characters"],
    ["BASKET_TOKEN_SECRETS", `${secret},,${secret}`, "entry 2: no empty entries"],
    ["ADMIN_TOKENS", "hunter2-hunter2", "entry 1: a token has at least 32 characters"],
    ["ADMIN_TOKENS", "sha256:0123", "entry 1: a sha256: entry is 64 lower-case hex digits"],
    [
      "ADMIN_TOKENS",
      "an admin token with spaces in it, of some length",
      "entry 1: a token is printable ASCII",
    ],
  ])("refuses %s=%j, naming the variable and the entry, never its value", (name, value, why) => {
    const message = failure({ [name]: value });
    expect(message).toContain(`${name} is not valid: expected comma-separated entries; ${why}`);
    for (const part of value.split(",")) if (part.length > 3) expect(message).not.toContain(part.trim());
  });

  it.each([
    ["", false],
    ["false", false],
    ["true", true],
    ["2", 2],
    ["10.0.0.0/8, 127.0.0.1", "10.0.0.0/8, 127.0.0.1"],
  ])("reads TRUST_PROXY=%j", (value, expected) => {
    expect(loadConfig({ TRUST_PROXY: value }).trustProxy).toEqual(expected);
  });

  it("refuses a TRUST_PROXY it cannot make sense of", () => {
    expect(failure({ TRUST_PROXY: "the load balancer" })).toMatch(
      /^TRUST_PROXY="the load balancer" is not valid/,
    );
  });
});
