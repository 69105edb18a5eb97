import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

export interface TestCertificates {
  caFile: string;
  serverCert: string;
  serverKey: string;
  /** A client certificate whose common name is `clientName`, for servers that check it. */
  clientCert: string;
  clientKey: string;
}

const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });

/** A throwaway CA with a server certificate for 127.0.0.1/localhost and a client certificate. */
export function makeCertificates(dir: string, clientName: string): TestCertificates {
  const file = (name: string) => join(dir, name);
  const key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  openssl(
    "req",
    "-x509",
    ...key,
    "-keyout",
    file("ca.key"),
    "-out",
    file("ca.crt"),
    "-days",
    "2",
    "-subj",
    "/CN=basket-test-ca",
  );
  writeFileSync(file("server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  const sign = (name: string, subject: string, extensions?: string) => {
    openssl("req", ...key, "-keyout", file(`${name}.key`), "-out", file(`${name}.csr`), "-subj", subject);
    openssl(
      "x509",
      "-req",
      "-in",
      file(`${name}.csr`),
      "-CA",
      file("ca.crt"),
      "-CAkey",
      file("ca.key"),
      "-CAcreateserial",
      "-out",
      file(`${name}.crt`),
      "-days",
      "2",
      ...(extensions ? ["-extfile", extensions] : []),
    );
  };
  sign("server", "/CN=localhost", file("server.ext"));
  sign("client", `/CN=${clientName}`);
  return {
    caFile: file("ca.crt"),
    serverCert: file("server.crt"),
    serverKey: file("server.key"),
    clientCert: file("client.crt"),
    clientKey: file("client.key"),
  };
}
