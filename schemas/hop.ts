/**
 * A hop of a request through the mesh: the client proxy's outbound line and the server proxy's
 * inbound line of the same call, joined (`src/enrich/hop-join.ts`). Each side shows what only that
 * side can prove: the client who answered and over which TLS, the server who called and whether
 * the connection was mutually authenticated. A side whose line was not found is null, and
 * `reason` says why the hop is half.
 */
import { z } from 'zod';
import { ReporterSchema } from './flow.js';

const text = z.string().nullable();

/** The client's view: its outbound (or gateway) line. */
export const HopClientSchema = z.object({
  flow_id: z.number().int().positive(),
  reporter: ReporterSchema,
  start_time: text,
  source_principal: text.describe('The identity the client presented (UPSTREAM_LOCAL_URI_SAN) or inferred.'),
  destination_principal: text.describe('The server identity the client verified (UPSTREAM_PEER_URI_SAN).'),
  destination_principal_from: text,
  destination_service: text,
  upstream_host: text,
  upstream_local_address: text,
  mtls: z.boolean().nullable(),
  mtls_evidence: text,
  tls_version: text,
  tls_cipher: text,
  response_code: z.number().int().nullable(),
  response_flags: z.array(z.string()),
  duration: z.number().nullable(),
});

/** The server's view: its inbound line (or a gateway's line, for the hop into the gateway). */
export const HopServerSchema = z.object({
  flow_id: z.number().int().positive(),
  reporter: ReporterSchema,
  start_time: text,
  source_principal: text.describe('The caller identity the server verified (DOWNSTREAM_PEER_URI_SAN).'),
  source_principal_from: text,
  destination_principal: text,
  downstream_local_address: text,
  downstream_remote_address: text,
  requested_server_name: text,
  mtls: z.boolean().nullable(),
  mtls_evidence: text,
  tls_version: text,
  tls_cipher: text,
  response_code: z.number().int().nullable(),
  response_flags: z.array(z.string()),
  duration: z.number().nullable(),
});

/** One hop: both sides, or a half-hop with the reason the other side is missing. */
export const HopSchema = z.object({
  hop: z.number().int().positive().describe('1-based position in time order.'),
  request_id: text,
  status: z.enum(['matched', 'client_only', 'server_only', 'unplaced']).describe('unplaced: a line whose side of a hop cannot be told (unknown direction, ztunnel connection lines); its id is in flow_ids.'),
  flow_ids: z.array(z.number().int().positive()).describe('Every flow the hop shows (client first).'),
  matched_by: z.array(z.enum(['request_id', 'server_address', 'client_address'])).describe('Facts both lines agree on: request_id; server_address (client upstream_host = server downstream_local_address); client_address (client upstream_local_address = server downstream_remote_address).'),
  reason: text.describe('Why the hop is half (null when matched).'),
  start_time: text,
  client: HopClientSchema.nullable(),
  server: HopServerSchema.nullable(),
});
export type Hop = z.infer<typeof HopSchema>;
export type HopClient = z.infer<typeof HopClientSchema>;
export type HopServer = z.infer<typeof HopServerSchema>;

/** A list of hops, e.g. for one request id. */
export const HopsSchema = z.array(HopSchema);
