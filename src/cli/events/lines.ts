/**
 * The lines of a text stream, one at a time, pulled: nothing more is read while the consumer is
 * busy, so a file of any size goes through in memory the size of a chunk. A trailing "\r" is
 * dropped, so CRLF files read the same. Bytes that are not UTF-8 stop it, rather than turn into
 * replacement characters in the data.
 */
export async function* readLines(input: AsyncIterable<string | Buffer>): AsyncGenerator<string> {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let lines = 0;
  const decode = (bytes?: Buffer) => {
    try {
      return bytes ? decoder.decode(bytes, { stream: true }) : decoder.decode();
    } catch {
      throw new Error(`Line ${lines + 1}: not UTF-8 text.`);
    }
  };
  let rest = "";
  for await (const chunk of input) {
    rest += typeof chunk === "string" ? chunk : decode(chunk);
    let start = 0;
    for (let end = rest.indexOf("\n"); end >= 0; end = rest.indexOf("\n", start)) {
      lines++;
      yield stripCr(rest.slice(start, end));
      start = end + 1;
    }
    rest = rest.slice(start);
  }
  rest += decode();
  if (rest !== "") yield stripCr(rest);
}

const stripCr = (line: string) => (line.endsWith("\r") ? line.slice(0, -1) : line);
