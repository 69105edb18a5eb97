import { readdirSync } from "node:fs";
import { join } from "node:path";

/** The files under a folder, at any depth, whose names end with one of `extensions`. */
export function sourceFiles(folder: string, extensions: readonly string[] = [".ts"]): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return sourceFiles(path, extensions);
    return extensions.some((extension) => entry.name.endsWith(extension)) ? [path] : [];
  });
}
