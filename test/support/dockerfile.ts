import { readFileSync } from "node:fs";

const root = new URL("../../", import.meta.url).pathname;

export interface Instruction {
  /** Upper-case: FROM, RUN, ENTRYPOINT… */
  name: string;
  /** The rest of the instruction, continuation lines joined. */
  value: string;
}

/** The repository's Dockerfile, instruction by instruction (comments dropped, `\` lines joined). */
export function readDockerfile(path = `${root}Dockerfile`): Instruction[] {
  const joined = readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => !/^\s*#/.test(line))
    .join("\n")
    .replace(/\\\n/g, " ");
  return joined
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .map((line) => {
      const [, name = "", value = ""] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
      return { name: name.toUpperCase(), value: value.trim() };
    });
}

/** The instructions of the last stage: what the image is. */
export function finalStage(instructions: Instruction[]): Instruction[] {
  const from = instructions.map((instruction) => instruction.name).lastIndexOf("FROM");
  return instructions.slice(from);
}

/** The one instruction of that name in these; an error when there is not exactly one. */
export function only(instructions: Instruction[], name: string): Instruction {
  const found = instructions.filter((instruction) => instruction.name === name);
  if (found.length !== 1)
    throw new Error(`Expected one ${name} in the Dockerfile's stage, found ${found.length}.`);
  return found[0] as Instruction;
}

/** An exec-form argument list (`["node", "x.js"]`); an error for the shell form. */
export function execForm(value: string): string[] {
  const parsed: unknown = JSON.parse(value);
  if (!Array.isArray(parsed) || !parsed.every((entry) => typeof entry === "string"))
    throw new Error(`Not an exec form: ${value}`);
  return parsed;
}

/** HEALTHCHECK's command, after its options (`--interval=…`) and `CMD`. */
export function healthcheckCommand(value: string): string[] {
  const command = /^(?:--\S+\s+)*CMD\s+(.*)$/.exec(value)?.[1];
  if (command === undefined) throw new Error(`A HEALTHCHECK without CMD: ${value}`);
  return execForm(command);
}

/** ENV's variables, in the `ENV A=1 B=2` form. */
export function envValues(instructions: Instruction[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { value } of instructions.filter((instruction) => instruction.name === "ENV"))
    for (const [, key = "", raw = ""] of value.matchAll(/(\w+)=("[^"]*"|\S+)/g))
      env[key] = raw.replace(/^"|"$/g, "");
  return env;
}
