/**
 * The load generator's HTTP client, the same for every target: node:http over keep-alive
 * connections, as many as requests in flight, JSON in and out. Given several base URLs (API
 * processes behind no proxy), it sends each request to the next in turn.
 */
import { Agent, request } from "node:http";

export interface Answer {
  status: number;
  /** The parsed JSON body; undefined when there is none. */
  body: unknown;
}

export class HttpClient {
  private readonly agent: Agent;
  private readonly bases: URL[];
  private sent = 0;

  constructor(baseUrls: string | readonly string[], connections: number) {
    this.bases = (typeof baseUrls === "string" ? [baseUrls] : baseUrls).map((url) => new URL(url));
    this.agent = new Agent({ keepAlive: true, maxSockets: connections });
  }

  send(method: string, path: string, options: { body?: unknown; headers?: Record<string, string> } = {}) {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const base = this.bases[this.sent++ % this.bases.length] as URL;
    return new Promise<Answer>((resolve, reject) => {
      const outgoing = request(
        {
          agent: this.agent,
          host: base.hostname,
          port: base.port,
          method,
          path,
          headers: {
            ...(payload === undefined
              ? {}
              : { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }),
            ...options.headers,
          },
        },
        (incoming) => {
          const chunks: Buffer[] = [];
          incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
          incoming.on("error", reject);
          incoming.on("end", () => {
            const text = Buffer.concat(chunks).toString();
            try {
              resolve({ status: incoming.statusCode ?? 0, body: text ? JSON.parse(text) : undefined });
            } catch {
              resolve({ status: incoming.statusCode ?? 0, body: text });
            }
          });
        },
      );
      outgoing.on("error", reject);
      outgoing.end(payload);
    });
  }

  /** Like `send`, but an answer other than 2xx is an error: the benchmark is off. */
  async expectOk(
    method: string,
    path: string,
    options: { body?: unknown; headers?: Record<string, string> } = {},
  ) {
    const answer = await this.send(method, path, options);
    if (answer.status < 200 || answer.status >= 300)
      throw new Error(`${method} ${path} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    return answer;
  }

  close(): void {
    this.agent.destroy();
  }
}
