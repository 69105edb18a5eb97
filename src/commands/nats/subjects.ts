/** `<prefix>.cmd.<basketId>`: the basket id is in the subject so routing can act on it. */
export const commandSubject = (prefix: string, basketId: string) => `${prefix}.cmd.${basketId}`;
export const commandWildcard = (prefix: string) => `${prefix}.cmd.*`;
export const workerQueue = (prefix: string) => `${prefix}-workers`;
