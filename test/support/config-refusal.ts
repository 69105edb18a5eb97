import { expect } from "vitest";
import { ConfigError, loadConfig } from "../../src/config/config.js";

/** The message `loadConfig` refuses this environment with; fails the test if it accepts it. */
export function refusalOf(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error("the configuration was accepted");
}
