/**
 * The OpenAPI 3.1 document of the API, generated from the route table and its zod schemas
 * (`z.toJSONSchema`), so it lists exactly the routes that are mounted, with exactly the
 * parameters and request bodies they accept.
 */
import { z } from 'zod';
import { ProblemSchema } from '../../schemas/api.js';
import type { RouteSpec } from './route-spec.js';

type JsonSchema = Record<string, unknown>;

/** A parameter as OpenAPI describes it. */
export interface OpenApiParameter {
  name: string;
  in: 'query' | 'path';
  required: boolean;
  description?: string;
  schema: JsonSchema;
}

const toSchema = (schema: z.ZodType, io: 'input' | 'output'): JsonSchema => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
};

/** The schema a parameter's string is piped into (enum, regex...), for a richer description. */
function pipedInto(field: z.ZodType): z.ZodType | undefined {
  let s: z.ZodType = field;
  for (let i = 0; i < 8; i++) {
    const def = s._zod.def as { type: string; innerType?: z.ZodType; out?: z.ZodType };
    if ((def.type === 'optional' || def.type === 'default' || def.type === 'nullable') && def.innerType) s = def.innerType;
    else if (def.type === 'pipe' && def.out) return def.out;
    else return undefined;
  }
  return undefined;
}

/** OpenAPI parameters of a (possibly refined) strict object schema. */
export function parametersOf(schema: z.ZodType | undefined, where: 'query' | 'path'): OpenApiParameter[] {
  if (!(schema instanceof z.ZodObject)) return [];
  return Object.entries(schema.shape as Record<string, z.ZodType>).map(([name, field]) => {
    const json = toSchema(field, 'input');
    const out = pipedInto(field);
    if (out) {
      const inner = toSchema(out, 'input');
      if (Array.isArray(inner.enum)) json.enum = inner.enum;
      if (typeof inner.pattern === 'string') json.pattern = inner.pattern;
    }
    const description = field.description ?? (json.description as string | undefined);
    delete json.description;
    return {
      name, in: where, required: where === 'path' || !field.safeParse(undefined).success,
      ...(description ? { description } : {}), schema: json,
    };
  });
}

const problemRef = { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } };

/** Builds the document for `routes`. */
export function buildOpenApi(routes: RouteSpec[], options: { version: string; auth: boolean }): JsonSchema {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const content: Record<string, unknown> = {};
    if (r.response) content['application/json'] = { schema: toSchema(r.response, 'output') };
    for (const type of r.produces ?? []) content[type] = { schema: { type: 'string' } };
    const responses: Record<string, unknown> = { 200: { description: 'OK', ...(Object.keys(content).length ? { content } : {}) } };
    const params = [...parametersOf(r.params, 'path'), ...parametersOf(r.query, 'query')];
    if (r.body) {
      responses[400] = { description: 'A parameter or body field is invalid, or the body is not valid JSON; `errors` names the field.', content: problemRef };
      responses[413] = { description: 'The request body is too large.', content: problemRef };
    } else if (params.length || r.query) {
      responses[400] = { description: 'A parameter is invalid; `errors` names it.', content: problemRef };
    }
    if (r.params) responses[404] = { description: 'Not found.', content: problemRef };
    if (r.access !== 'public' && options.auth) {
      responses[401] = { description: 'Missing or unknown bearer token.', content: problemRef };
      responses[403] = { description: 'The token\'s role is too low.', content: problemRef };
      responses[429] = { description: 'Rate limit exceeded; see Retry-After.', content: problemRef };
    }
    (paths[r.path] ??= {})[r.method] = {
      operationId: `${r.method}${r.path.replace(/\{([^}]+)\}/g, 'By_$1').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
      summary: r.summary,
      parameters: params,
      // 'input': the body as the client writes it (before transforms, e.g. times as strings).
      ...(r.body ? { requestBody: { required: true, content: { 'application/json': { schema: toSchema(r.body, 'input') } } } } : {}),
      responses,
      ...(r.access === 'public' ? { security: [] } : {}),
      ...(r.access === 'admin' ? { 'x-required-role': 'admin' } : {}),
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'meshtrail API', version: options.version, description: 'The audit trail of the mesh: flows, identities, mTLS evidence.' },
    paths,
    components: {
      schemas: { Problem: toSchema(ProblemSchema, 'output') },
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    },
    ...(options.auth ? { security: [{ bearer: [] }] } : {}),
  };
}
