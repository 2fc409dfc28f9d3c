/**
 * The request handler of the admission server. Profiling the benchmark (bench/webhook.ts) showed
 * express's per-request machinery (router, query parser, request/response decoration, type-is,
 * body-parser, raw-body) costing more CPU than Weir's decision. So the one request shape the API
 * server actually sends (POST to an exact review path, `application/json` in UTF-8, an identity
 * body with a Content-Length within the limit) is read and parsed here directly; every other
 * request (wrong method or path, other content types, charsets or encodings, chunked or oversized
 * bodies, query strings) goes to the express app of app.ts unchanged, so its answers (404, 405,
 * 413, 415, …) stay exactly what they were. Both paths end in the same answerReview.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorMessage } from '../../../common/src/errors.js';
import {
  answerReview,
  createAdmissionApp,
  DEFAULT_BODY_LIMIT_BYTES,
  failedBeforeDecision,
  refuseMalformedJson,
  type AdmissionAppDeps,
} from './app.js';
import { ENDPOINTS, type Endpoint } from './route.js';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** The content types body-parser would read as UTF-8 JSON without a conversion. */
const PLAIN_JSON = new Set(['application/json', 'application/json; charset=utf-8', 'application/json;charset=utf-8']);

/** The endpoint when the request is one the fast path reads exactly as express would, else undefined. */
export function fastEndpoint(req: IncomingMessage, limitBytes: number): { endpoint: Endpoint; length: number } | undefined {
  if (req.method !== 'POST' || req.url === undefined) return undefined;
  const endpoint = ENDPOINTS.get(req.url);
  if (endpoint === undefined) return undefined;
  const h = req.headers;
  if (h['content-encoding'] !== undefined || h['transfer-encoding'] !== undefined) return undefined;
  const type = h['content-type'];
  if (type === undefined || !PLAIN_JSON.has(type.toLowerCase())) return undefined;
  const lengthHeader = h['content-length'];
  if (lengthHeader === undefined || !/^\d+$/.test(lengthHeader)) return undefined;
  const length = Number(lengthHeader);
  return length <= limitBytes ? { endpoint, length } : undefined;
}

/**
 * body-parser's reading of a JSON body in strict mode: empty is `{}`, a leading BOM is dropped,
 * anything but an object or array at the top is malformed. Throws a SyntaxError like its own.
 */
export function parseJsonBody(raw: string): unknown {
  const text = raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
  if (text.length === 0) return {};
  const first = /^[ \t\n\r]*([^ \t\n\r])/.exec(text)?.[1];
  if (first !== undefined && first !== '{' && first !== '[') {
    // The message JSON.parse gives for this character at this place, as body-parser reports it.
    const at = text.indexOf(first);
    try {
      JSON.parse(text.slice(0, at) + '#'.repeat(text.length - at));
    } catch (err: unknown) {
      throw new SyntaxError(errorMessage(err).replace(/#+/g, (run) => text.slice(at, at + run.length)));
    }
  }
  return JSON.parse(text) as unknown;
}

export function createAdmissionHandler(deps: AdmissionAppDeps): RequestHandler {
  const fallback = createAdmissionApp(deps);
  const limit = deps.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  return (req, res) => {
    const fast = fastEndpoint(req, limit);
    if (fast === undefined) {
      fallback(req, res);
      return;
    }
    const path = req.url ?? '';
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
    });
    req.once('error', (err: Error) => failedBeforeDecision(deps, res, err, () => res.destroy()));
    req.once('end', () => {
      if (size !== fast.length) {
        failedBeforeDecision(deps, res, new Error('request size did not match content length'), () => res.destroy());
        return;
      }
      let body: unknown;
      try {
        body = parseJsonBody((chunks.length === 1 ? (chunks[0] ?? Buffer.alloc(0)) : Buffer.concat(chunks, size)).toString('utf8'));
      } catch (err: unknown) {
        refuseMalformedJson(deps, res, errorMessage(err));
        return;
      }
      answerReview(deps, fast.endpoint, body, path, res).catch((err: unknown) => failedBeforeDecision(deps, res, err, () => res.destroy()));
    });
  };
}
