/** A queued command given up: kept for operators, with why. */
export interface DeadLetter {
  commandId: string;
  basketId: string;
  type: string;
  reason: string;
  deliveries: number;
  /** When it was moved to the dead letters. */
  at: Date;
  /** Its sequence in the dead-letter stream (JetStream only). */
  seq?: number;
}
