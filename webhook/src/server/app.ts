/**
 * The two express apps: the admission app (HTTPS, AdmissionReview paths) and the health app (plain
 * HTTP: /healthz, /readyz, /metrics). No sockets here; server.ts binds them.
 *
 * Requests that are not a usable AdmissionReview v1 (wrong method, wrong content type, body too
 * large, malformed JSON, wrong apiVersion/kind, missing uid) get an HTTP error status (405, 415,
 * 413, 400) and a JSON `{"error": "..."}` body, never an AdmissionReview: without a uid there is
 * no valid response to give, and the API server treats any non-200 as a failed call and applies the
 * webhook's failurePolicy (Fail for pods, so nothing is admitted unchecked). A review that parses
 * but cannot be decided (a decision that throws, a misrouted resource) is answered with HTTP 200,
 * `allowed: false`, code 500 and a message, so the API server shows the user why.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { errorMessage } from '../../../common/src/errors.js';
import type { ClusterView, Decider, DecideOptions } from './contract.js';
import type { WebhookMetrics } from './metrics.js';
import {
  allowResponse,
  denyResponse,
  formatFieldErrors,
  parseAdmissionReview,
  type AdmissionResponseBody,
  type AdmissionRequest,
} from './review.js';
import { awaitReferences, type CatchUpOptions } from './catch-up.js';
import { ENDPOINTS, routeReview, type Endpoint, type Outcome } from './route.js';

/**
 * The API server caps a request body at 3 MiB; an UPDATE review carries object and oldObject, so
 * twice that plus the envelope is the largest honest review.
 */
export const DEFAULT_BODY_LIMIT_BYTES = 6 * 1024 * 1024 + 64 * 1024;

export interface Readiness {
  ready: boolean;
  /** Why not ready (empty when ready); shown by /readyz. */
  reasons: string[];
}

export interface AdmissionAppDeps {
  decider: Decider;
  view: ClusterView;
  /** How long a pod review waits for the caches to hold the namespace and NADs it names. */
  catchUp?: CatchUpOptions;
  options: DecideOptions;
  logger: Logger;
  metrics: WebhookMetrics;
  bodyLimitBytes?: number;
}

/** Same status, headers and body express's res.status().type('application/json').send() wrote. */
export function sendError(res: ServerResponse, status: number, message: string): void {
  const body = JSON.stringify({ error: message });
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function outcomeToBody(uid: string, outcome: Outcome): AdmissionResponseBody {
  switch (outcome.kind) {
    case 'allow':
      return allowResponse(uid, outcome.patch, outcome.warnings);
    case 'deny':
      return denyResponse(uid, outcome.code, outcome.message, outcome.warnings, outcome.details);
    default: {
      const never: never = outcome;
      throw new Error(`unknown outcome ${JSON.stringify(never)}`);
    }
  }
}

/** The decision, or a deny naming the internal error: a bug in a decision must never admit, nor crash the server. */
function decideSafely(deps: AdmissionAppDeps, endpoint: Endpoint, review: AdmissionRequest, path: string): Outcome {
  try {
    return routeReview(endpoint, review, deps.decider, deps.view, deps.options);
  } catch (err: unknown) {
    deps.logger.error({ uid: review.uid, err, path }, 'decision threw; denying');
    return {
      kind: 'deny',
      code: 500,
      message: `Weir webhook internal error while deciding ${review.resource.resource} ${review.namespace}/${review.name}: ${errorMessage(err)}`,
      warnings: [],
      reasons: ['internal-error'],
    };
  }
}

/** The fields of a review's log line; a plain function so the hot path creates no closure per review. */
function logFields(review: AdmissionRequest, path: string, verdict: string, reason: string, seconds: number) {
  return {
    uid: review.uid,
    path,
    operation: review.operation,
    namespace: review.namespace,
    name: review.name,
    verdict,
    reason,
    dryRun: review.dryRun,
    ms: Math.round(seconds * 1e5) / 100,
  };
}

/** The metrics and the log line of one answered review. */
function recordReview(deps: AdmissionAppDeps, endpoint: Endpoint, review: AdmissionRequest, outcome: Outcome, path: string, seconds: number): void {
  const { metrics, logger } = deps;
  metrics.duration.observe({ resource: endpoint.resource, phase: endpoint.phase }, seconds);
  const verdict = outcome.kind === 'allow' ? 'allowed' : 'denied';
  const reason = outcome.kind === 'allow' ? outcome.reason : (outcome.reasons[0] ?? 'none');
  metrics.reviews.inc({ resource: endpoint.resource, operation: review.operation, verdict, reason });
  // Allows are the bulk of the traffic and log at debug (the API server's audit log already records
  // them), so unless debug is on the hot path builds no log object at all.
  if (outcome.kind === 'deny') {
    for (const r of outcome.reasons) metrics.refusals.inc({ resource: endpoint.resource, reason: r });
    logger.info({ ...logFields(review, path, verdict, reason, seconds), reasons: outcome.reasons }, 'denied');
  } else if (logger.isLevelEnabled('debug')) {
    logger.debug({ ...logFields(review, path, verdict, reason, seconds), patchOps: outcome.patch.length, warnings: outcome.warnings.length }, 'allowed');
  }
}

/** Decides one parsed JSON body POSTed to `path` and writes the answer; both request paths end here. */
export async function answerReview(deps: AdmissionAppDeps, endpoint: Endpoint, body: unknown, path: string, res: ServerResponse): Promise<void> {
  const { metrics, logger } = deps;
  const started = process.hrtime.bigint();
  const parsed = parseAdmissionReview(body);
  if (!parsed.ok) {
    metrics.badRequests.inc({ cause: 'not-admission-review' });
    const message = `not an AdmissionReview admission.k8s.io/v1: ${formatFieldErrors(parsed.errors)}`;
    logger.warn({ path, errors: parsed.errors }, 'rejected malformed AdmissionReview');
    sendError(res, 400, message);
    return;
  }
  const review = parsed.value;
  const caughtUp = await awaitReferences(review, deps.view, deps.catchUp);
  if (caughtUp.waitedMs > 0) logger.info({ uid: review.uid, waitedMs: caughtUp.waitedMs, missing: caughtUp.missing }, 'waited for the caches to hold what the pod names');
  const outcome = decideSafely(deps, endpoint, review, path);
  const answer = JSON.stringify(outcomeToBody(review.uid, outcome));
  res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(answer) });
  res.end(answer);
  recordReview(deps, endpoint, review, outcome, path, Number(process.hrtime.bigint() - started) / 1e9);
}

/** Body-parser errors (too large, bad JSON, bad encoding) land here; express wants the 4 arguments. */
function bodyErrors(deps: AdmissionAppDeps) {
  const { metrics } = deps;
  return (err: unknown, _req: Request, res: Response, next: NextFunction): void => {
    const e = (typeof err === 'object' && err !== null ? err : {}) as { type?: unknown; message?: unknown };
    const type = typeof e.type === 'string' ? e.type : 'unknown';
    const message = typeof e.message === 'string' ? e.message : String(err);
    switch (type) {
      case 'entity.too.large':
        metrics.badRequests.inc({ cause: 'too-large' });
        sendError(res, 413, `request body exceeds the limit of ${deps.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES} bytes`);
        return;
      case 'entity.parse.failed':
        refuseMalformedJson(deps, res, message);
        return;
      case 'encoding.unsupported':
      case 'charset.unsupported':
        metrics.badRequests.inc({ cause: 'encoding' });
        sendError(res, 415, message);
        return;
      default:
        // Too late for a JSON error once a response started: express's default handler closes it.
        failedBeforeDecision(deps, res, err, () => next(err));
    }
  };
}

export function refuseMalformedJson(deps: AdmissionAppDeps, res: ServerResponse, message: string): void {
  deps.metrics.badRequests.inc({ cause: 'malformed-json' });
  sendError(res, 400, `malformed JSON body: ${message}`);
}

/** A request that failed for none of the body's known faults (aborted, a bug): counted, logged, 400 or its own status. */
export function failedBeforeDecision(deps: AdmissionAppDeps, res: ServerResponse, err: unknown, afterHeaders: () => void): void {
  deps.metrics.badRequests.inc({ cause: 'other' });
  deps.logger.warn({ err }, 'request failed before a decision');
  if (res.headersSent) {
    afterHeaders();
    return;
  }
  const e = (typeof err === 'object' && err !== null ? err : {}) as { status?: unknown; message?: unknown };
  sendError(res, typeof e.status === 'number' ? e.status : 400, typeof e.message === 'string' ? e.message : String(err));
}

export function createAdmissionApp(deps: AdmissionAppDeps): express.Express {
  const { metrics } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  const jsonBody = express.json({
    limit: deps.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
    type: 'application/json',
    strict: true,
  });

  for (const [path, endpoint] of ENDPOINTS) {
    app.post(
      path,
      (req: Request, res: Response, next: NextFunction) => {
        const isJson = req.is('application/json');
        if (isJson === false || isJson === null) {
          metrics.badRequests.inc({ cause: 'content-type' });
          sendError(res, 415, `content type must be application/json, got ${JSON.stringify(req.get('content-type') ?? '')}`);
          return;
        }
        next();
      },
      jsonBody,
      // Express 4 drops a handler's promise: a rejection goes to the error handler below instead of
      // becoming an unhandled rejection.
      (req: Request, res: Response, next: NextFunction) => {
        answerReview(deps, endpoint, req.body as unknown, req.path, res).catch(next);
      },
    );
    app.all(path, (req: Request, res: Response) => {
      metrics.badRequests.inc({ cause: 'method' });
      res.set('Allow', 'POST');
      sendError(res, 405, `method ${req.method} not allowed; AdmissionReviews are POSTed`);
    });
  }
  app.use((req: Request, res: Response) => {
    metrics.badRequests.inc({ cause: 'path' });
    sendError(res, 404, `no webhook at ${req.path}; paths are ${[...ENDPOINTS.keys()].join(', ')}`);
  });
  app.use(bodyErrors(deps));
  return app;
}

export interface HealthAppDeps {
  metrics: WebhookMetrics;
  readiness: () => Readiness;
}

export function createHealthApp(deps: HealthAppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req: Request, res: Response) => {
    res.type('text/plain').send('ok\n');
  });
  app.get('/readyz', (_req: Request, res: Response) => {
    const r = deps.readiness();
    if (r.ready) {
      res.type('text/plain').send('ok\n');
    } else {
      res.status(503).type('text/plain').send(`not ready:\n${r.reasons.map((x) => `- ${x}\n`).join('')}`);
    }
  });
  app.get('/metrics', (_req: Request, res: Response, next: NextFunction) => {
    deps.metrics.registry
      .metrics()
      .then((text) => {
        res.type(deps.metrics.registry.contentType).send(text);
      })
      .catch(next);
  });
  return app;
}
