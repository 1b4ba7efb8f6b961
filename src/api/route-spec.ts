/**
 * One table of routes drives both Express and the OpenAPI document: each route declares its
 * path, access level and the zod schemas of its query, path parameters and JSON body, and the same
 * declaration is mounted and documented. A route cannot exist without its schema, and the
 * document cannot list a route that does not exist.
 */
import type { Request, RequestHandler, Response, Router } from 'express';
import type { z } from 'zod';
import { EmptyQuerySchema } from '../../schemas/api.js';
import { requireRole } from './auth.js';
import { validateBody, validateParams, validateQuery } from './problem.js';

/** Who may call a route: anyone, any valid token, or an admin token. */
export type Access = 'public' | 'read' | 'admin';

/** One API route. `path` uses OpenAPI templates (`/api/v1/flows/{id}`). */
export interface RouteSpec<Q extends z.ZodType = z.ZodType, P extends z.ZodType = z.ZodType, B extends z.ZodType = z.ZodType> {
  method: 'get' | 'post' | 'patch' | 'delete';
  path: string;
  summary: string;
  access: Access;
  /** Query schema (a strict object, possibly refined); none means no parameter is accepted. */
  query?: Q;
  /** Path parameter schema (a strict object). */
  params?: P;
  /**
   * JSON request body schema; declared means a body is required (documented as requestBody).
   * None: `ctx.body` is undefined (req.body stays as parsed) and the document describes no body.
   */
  body?: B;
  /** The JSON response body, for the document. */
  response?: z.ZodType;
  /** Other media types the route answers with (ndjson/csv exports, text). */
  produces?: string[];
  /** Handles a validated request; a returned value is sent as JSON. */
  handle(ctx: { req: Request; res: Response; query: z.infer<Q>; params: z.infer<P>; body: z.infer<B> }): unknown;
}

/** Declares a route with its parameter types inferred from its schemas. */
export function route<Q extends z.ZodType = typeof EmptyQuerySchema, P extends z.ZodType = z.ZodType, B extends z.ZodType = z.ZodType>(
  spec: RouteSpec<Q, P, B>,
): RouteSpec {
  return spec as unknown as RouteSpec;
}

/** `/a/{b}` to Express's `/a/:b`. */
export function expressPath(path: string): string {
  return path.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, ':$1');
}

/**
 * Mounts `specs` on `router`. `guard` returns the middleware that authenticates a route (the
 * app's bearer-token check); admin routes also pass {@link requireRole}.
 */
export function mountRoutes(router: Router, specs: RouteSpec[], guard: (spec: RouteSpec) => RequestHandler[]): void {
  for (const spec of specs) {
    router[spec.method](expressPath(spec.path), ...guard(spec), ...(spec.access === 'admin' ? [requireRole('admin')] : []), async (req, res) => {
      const params = spec.params ? validateParams(spec.params, { ...req.params }) : {};
      const query = validateQuery(spec.query ?? EmptyQuerySchema, req.query);
      // Malformed JSON and oversize bodies never get here: the JSON parser answers them (400/413).
      const body = spec.body ? validateBody(spec.body, req.body) : undefined;
      const out = await spec.handle({ req, res, query, params, body });
      if (out !== undefined && !res.headersSent) res.json(out);
    });
  }
}
