/** The parts of the service a process can run (`basket serve --role …`); see serve.ts. */
export const roles = ["api", "worker", "projector", "all"] as const;
export type Role = (typeof roles)[number];
