/**
 * Subjects: `<prefix>.cmd.<partition>.<basketId>` — the partition first, so a worker can take
 * a partition with one wildcard subscription; `<prefix>.fallback.<basketId>` for a command whose
 * partition has no subscriber for a moment (served by every worker).
 */
export const commandSubject = (prefix: string, partition: number, basketId: string) =>
  `${prefix}.cmd.${partition}.${basketId}`;
export const partitionWildcard = (prefix: string, partition: number) => `${prefix}.cmd.${partition}.*`;
export const allCommandsWildcard = (prefix: string) => `${prefix}.cmd.*.*`;
export const fallbackSubject = (prefix: string, basketId: string) => `${prefix}.fallback.${basketId}`;
export const fallbackWildcard = (prefix: string) => `${prefix}.fallback.*`;
/** Queue groups: every worker shares one; each partition has its own, so two owners never both answer. */
export const workerQueue = (prefix: string) => `${prefix}-workers`;
export const partitionQueue = (prefix: string, partition: number) => `${prefix}-p${partition}`;
