import { expect } from "vitest";

interface Response {
  statusCode: number;
  headers: Record<string, unknown>;
  json(): unknown;
}

/** The response is an RFC 9457 problem with this status and code. */
export function expectProblem(response: Response, status: number, code: string): void {
  expect(response.statusCode).toBe(status);
  expect(response.headers["content-type"]).toMatch(/^application\/problem\+json/);
  expect(response.json()).toMatchObject({
    status,
    code,
    type: `/problems/${code}`,
    title: expect.any(String),
  });
}
