/**
 * The agent's CNI socket: accepts one request per connection from the weir plugin (protocol in
 * ./protocol.ts), hands it to the endpoint handler and writes its answer. Every failure of the
 * exchange is answered with a CNI error or a closed connection; nothing here throws past a
 * connection.
 */
import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, rename, unlink } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { errorMessage } from '../../../common/src/errors.js';
import { formatFieldErrors } from '../../../common/src/field-errors.js';
import { CNI_ERROR_CODES } from './codes.js';
import {
  cniError,
  encodeCniResponse,
  parseCniRequest,
  type CniCommand,
  type CniRequest,
  type CniResponse,
  type FieldError,
} from './protocol.js';

export const DEFAULT_MAX_REQUEST_BYTES = 1024 * 1024;

/** What happened on the socket that the agent may want to log or count. */
export type CniServerEvent =
  | { type: 'bad-request'; errors: FieldError[] | string }
  | { type: 'request-too-large'; bytes: number }
  | { type: 'read-timeout' }
  | { type: 'handler-error'; command: CniCommand; error: string }
  | { type: 'handler-timeout'; command: CniCommand; timeoutMs: number }
  | { type: 'answered'; command: CniCommand; ok: boolean; durationMs: number };

export interface CniServerOptions {
  socketPath: string;
  /** Decides. The signal aborts when the exchange's time is up or the server closes. */
  handler: (req: CniRequest, signal: AbortSignal) => Promise<CniResponse>;
  /** Bound on one exchange: reading the request plus the handler. */
  timeoutMs: number;
  maxRequestBytes?: number;
  /** Connections beyond this are refused by the kernel backlog / closed by node. */
  maxConnections?: number;
  onEvent?: (e: CniServerEvent) => void;
}

export interface CniServer {
  close(): Promise<void>;
}

function errnoCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
}

function canConnect(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(socketPath);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Removes a socket file nobody listens on; refuses to touch a live socket or a non-socket. */
async function removeStale(socketPath: string): Promise<void> {
  let st;
  try {
    st = await lstat(socketPath);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return;
    throw e;
  }
  if (!st.isSocket()) {
    throw new Error(`${socketPath} exists and is not a socket; refusing to replace it`);
  }
  if (await canConnect(socketPath)) {
    throw new Error(`another process is already serving ${socketPath} (is a second weir agent running?)`);
  }
  await unlink(socketPath);
}

function listen(server: net.Server, socketPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** The request in a connection's bytes, or the error to answer and the event to report. */
function decodeRequest(bytes: Buffer): { ok: true; req: CniRequest } | { ok: false; event: CniServerEvent; response: CniResponse } {
  let decoded: unknown;
  try {
    decoded = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    const why = errorMessage(e);
    return { ok: false, event: { type: 'bad-request', errors: why }, response: cniError(CNI_ERROR_CODES.WEIR_ERR_BAD_REQUEST, `weir agent could not decode the request: ${why}`) };
  }
  const parsed = parseCniRequest(decoded);
  if (!parsed.ok) {
    return {
      ok: false,
      event: { type: 'bad-request', errors: parsed.errors },
      response: cniError(CNI_ERROR_CODES.WEIR_ERR_BAD_REQUEST, `weir agent rejected the request: ${formatFieldErrors(parsed.errors)}`),
    };
  }
  return { ok: true, req: parsed.value };
}

interface ExchangeContext {
  handler: CniServerOptions['handler'];
  timeoutMs: number;
  maxBytes: number;
  emit: (e: CniServerEvent) => void;
  /** Aborts when the server closes. */
  closing: AbortSignal;
  /** Open connections, destroyed on close. */
  open: Set<net.Socket>;
}

/** One connection: one request, read within maxBytes and timeoutMs with the handler, answered once. */
function serveExchange(sock: net.Socket, ctx: ExchangeContext): void {
  const { emit, timeoutMs } = ctx;
  ctx.open.add(sock);
  const started = performance.now();
  const chunks: Buffer[] = [];
  let bytes = 0;
  let finished = false;
  const exchange = new AbortController();
  const onClosing = (): void => exchange.abort(new Error('weir agent is shutting down'));
  ctx.closing.addEventListener('abort', onClosing, { once: true });

  const finish = (resp: CniResponse | null): void => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    ctx.closing.removeEventListener('abort', onClosing);
    if (resp === null) sock.destroy();
    else sock.end(encodeCniResponse(resp));
  };
  let command: CniCommand | null = null;
  const timer = setTimeout(() => {
    exchange.abort(new Error('timeout'));
    if (command === null) {
      emit({ type: 'read-timeout' });
      finish(null);
      return;
    }
    emit({ type: 'handler-timeout', command, timeoutMs });
    finish(cniError(CNI_ERROR_CODES.WEIR_ERR_AGENT_TIMEOUT, `weir agent did not finish ${command} within ${timeoutMs} ms`));
  }, timeoutMs);

  sock.on('error', () => finish(null)); // the plugin went away; nothing to answer
  sock.on('close', () => {
    ctx.open.delete(sock);
    finish(null);
  });
  sock.on('data', (chunk: Buffer) => {
    if (finished) return;
    bytes += chunk.length;
    if (bytes > ctx.maxBytes) {
      emit({ type: 'request-too-large', bytes });
      finish(cniError(CNI_ERROR_CODES.WEIR_ERR_BAD_REQUEST, `request exceeds ${ctx.maxBytes} bytes`));
      return;
    }
    chunks.push(chunk);
  });
  sock.on('end', () => {
    if (finished) return;
    const decoded = decodeRequest(Buffer.concat(chunks));
    if (!decoded.ok) {
      emit(decoded.event);
      finish(decoded.response);
      return;
    }
    const { req } = decoded;
    const cmd = req.command;
    command = cmd;
    // An async wrapper calls the handler now and turns a synchronous throw into a rejection.
    const pending = (async () => ctx.handler(req, exchange.signal))();
    pending.then(
      (resp) => {
        if (!finished) emit({ type: 'answered', command: cmd, ok: resp.ok, durationMs: performance.now() - started });
        finish(resp);
      },
      (e: unknown) => {
        const why = errorMessage(e);
        if (!finished) emit({ type: 'handler-error', command: cmd, error: why });
        finish(cniError(CNI_ERROR_CODES.WEIR_ERR_AGENT_INTERNAL, `weir agent failed to handle ${cmd}: ${why}`));
      },
    );
  });
}

/**
 * Binds under a temporary name, restricts it, then renames it into place: the socket is never
 * reachable at its public path with the umask's permissions. Returns the socket file's identity.
 */
async function listenPrivately(server: net.Server, socketPath: string): Promise<{ ino: number; dev: number }> {
  const tmp = path.join(path.dirname(socketPath), `.${path.basename(socketPath)}.${randomBytes(4).toString('hex')}`);
  await listen(server, tmp);
  try {
    await chmod(tmp, 0o600);
    await rename(tmp, socketPath);
  } catch (e) {
    server.close();
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  return lstat(socketPath);
}

export async function startCniServer(opts: CniServerOptions): Promise<CniServer> {
  const { socketPath } = opts;
  const emit = (e: CniServerEvent): void => {
    try {
      opts.onEvent?.(e);
    } catch {
      // An observer's bug must not break the exchange.
    }
  };
  const dir = path.dirname(socketPath);
  const created = await mkdir(dir, { recursive: true, mode: 0o700 });
  if (created !== undefined) await chmod(dir, 0o700); // mkdir's mode is filtered by the umask
  await removeStale(socketPath);

  const open = new Set<net.Socket>();
  const closing = new AbortController();
  const ctx: ExchangeContext = {
    handler: opts.handler, timeoutMs: opts.timeoutMs, maxBytes: opts.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES, emit, closing: closing.signal, open,
  };
  // allowHalfOpen: the plugin shuts down its write side and then waits for our answer.
  const server = net.createServer({ allowHalfOpen: true }, (sock) => serveExchange(sock, ctx));
  if (opts.maxConnections !== undefined) server.maxConnections = opts.maxConnections;
  const ours = await listenPrivately(server, socketPath);

  return {
    async close(): Promise<void> {
      closing.abort();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of open) s.destroy();
      await closed;
      // Only remove the path if it is still our socket (a newer agent may have replaced it).
      try {
        const now = await lstat(socketPath);
        if (now.ino === ours.ino && now.dev === ours.dev) await unlink(socketPath);
      } catch {
        // already gone
      }
    },
  };
}
