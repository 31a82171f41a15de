/** Reads the `Try: curl …` hint `npm start` prints into a request `fetch` can send. */

/** The request a printed curl command sends. */
export interface PrintedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

/**
 * Finds the `Try: curl …` command in `output` (continued over lines ending in `\`) and reads it
 * as a POSIX shell would: `'…'` literally, `"…"` with `$NAME` taken from `env`.
 *
 * @throws Error when there is no such command, or it uses a form this reader does not know.
 */
export function printedCurl(output: string, env: Record<string, string | undefined>): PrintedRequest {
  const lines = output.split('\n');
  const start = lines.findIndex((line) => line.startsWith('Try: curl '));
  if (start < 0) throw new Error(`no "Try: curl" line in:\n${output}`);
  let command = '';
  for (const line of lines.slice(start)) {
    command += line.endsWith('\\') ? `${line.slice(0, -1)} ` : line;
    if (!line.endsWith('\\')) break;
  }
  const words = shellWords(command.slice('Try: '.length), env);
  const request: PrintedRequest = { method: 'GET', url: '', headers: {}, body: '' };
  for (let i = 1; i < words.length; i++) {
    const word = words[i] ?? '';
    const next = () => words[++i] ?? '';
    if (word === '-s') continue;
    if (word === '-X') request.method = next();
    else if (word === '-d') request.body = next();
    else if (word === '-H') {
      const header = next();
      const colon = header.indexOf(':');
      request.headers[header.slice(0, colon).trim().toLowerCase()] = header.slice(colon + 1).trim();
    } else if (/^https?:\/\//.test(word)) request.url = word;
    else throw new Error(`unexpected curl argument ${JSON.stringify(word)}`);
  }
  return request;
}

function shellWords(text: string, env: Record<string, string | undefined>): string[] {
  const words: string[] = [];
  const pattern = /'([^']*)'|"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (const [, single, double, bare] of text.matchAll(pattern)) {
    if (single !== undefined) words.push(single);
    else if (double !== undefined) {
      if (double.includes('$(')) throw new Error('command substitution is not read here');
      words.push(double.replace(/\$([A-Z_][A-Z0-9_]*)/g, (_, name: string) => env[name] ?? ''));
    } else if (bare !== undefined) words.push(bare);
  }
  return words;
}

/** Sends `request` with `fetch`, as curl would. */
export function fetchPrinted(request: PrintedRequest): Promise<Response> {
  return fetch(request.url, { method: request.method, headers: request.headers, body: request.body });
}
