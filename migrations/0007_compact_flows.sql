-- Narrower flow rows (the benchmark's 290-360 bytes per flow, target <= 250 with every index).
-- Values that were stored as text are now stored in a compact form when they have one, with the
-- text kept as a fallback for everything else, and the old column name is a VIRTUAL generated
-- column that rebuilds the text (no storage; every reader of the old columns keeps working):
--
-- * request_id_key: a canonical lower-case UUID (what Envoy generates) as its 16 bytes, any other
--   request id as TEXT. Its index was the largest one (~52 bytes per flow, now ~25).
-- * <address>_v4: "a.b.c.d:port" (canonical IPv4, no leading zeros) packed as
--   (ip - 2^31) * 65536 + port, which fits SQLite's 6-byte integer; x_forwarded_for_v4 is a single
--   IPv4 without port as ip - 2^31 (4 bytes). Anything else (IPv6, names, lists) in <address>_text.
-- * extra_id: `extra` objects made only of identity/TLS operator values (peer/local SANs, TLS
--   version, ...) repeat per edge, so they are interned; other objects stay JSON text in `extra`.
--
-- The table is rebuilt (column order is fixed by CREATE TABLE). Existing request ids are
-- converted; existing addresses and extra objects are kept in their text columns, which read
-- back the same.

CREATE TABLE flows_new (
  id                                   INTEGER PRIMARY KEY,
  source_id                            INTEGER NOT NULL REFERENCES sources(id),
  pos                                  INTEGER NOT NULL,
  line                                 INTEGER,
  -- start_time in epoch ms; when the line had no time, the ingest time, with ts_estimated = 1
  ts                                   INTEGER NOT NULL,
  ts_estimated                         INTEGER NOT NULL DEFAULT 0,
  method_id                            INTEGER,
  path                                 TEXT,
  protocol_id                          INTEGER,
  response_code                        INTEGER,
  response_flags_id                    INTEGER,
  response_code_details_id             INTEGER,
  connection_termination_details_id    INTEGER,
  upstream_transport_failure_reason_id INTEGER,
  bytes_received                       INTEGER,
  bytes_sent                           INTEGER,
  duration                             NUMERIC,
  upstream_service_time                NUMERIC,
  x_forwarded_for_v4                   INTEGER,
  x_forwarded_for_text                 TEXT,
  user_agent_id                        INTEGER,
  request_id_key                       BLOB,    -- 16-byte UUID, or the request id as TEXT
  authority_id                         INTEGER,
  upstream_host_v4                     INTEGER,
  upstream_host_text                   TEXT,
  upstream_cluster_id                  INTEGER,
  upstream_local_address_v4            INTEGER,
  upstream_local_address_text          TEXT,
  downstream_local_address_v4          INTEGER,
  downstream_local_address_text        TEXT,
  downstream_remote_address_v4         INTEGER,
  downstream_remote_address_text       TEXT,
  requested_server_name_id             INTEGER,
  route_name_id                        INTEGER,
  direction                            INTEGER, -- 1 inbound, 2 outbound, NULL unknown
  destination_service_id               INTEGER,
  destination_port                     INTEGER,
  reporter_id                          INTEGER NOT NULL,
  format_id                            INTEGER NOT NULL,
  source_principal_id                  INTEGER,
  source_principal_from_id             INTEGER,
  source_namespace_id                  INTEGER,
  source_namespace_from_id             INTEGER,
  source_service_account_id            INTEGER,
  source_workload_id                   INTEGER,
  destination_principal_id             INTEGER,
  destination_principal_from_id        INTEGER,
  destination_namespace_id             INTEGER,
  destination_namespace_from_id        INTEGER,
  destination_service_account_id       INTEGER,
  destination_workload_id              INTEGER,
  mtls                                 INTEGER, -- 1 true, 0 false, NULL unknown
  mtls_evidence_id                     INTEGER,
  tls_version_id                       INTEGER,
  tls_cipher_id                        INTEGER,
  extra_id                             INTEGER, -- interned JSON object (identity/TLS values only)
  extra                                TEXT,    -- JSON object; NULL when empty or interned
  request_id                TEXT GENERATED ALWAYS AS (CASE WHEN typeof(request_id_key) = 'blob' THEN lower(substr(hex(request_id_key), 1, 8) || '-' || substr(hex(request_id_key), 9, 4) || '-' || substr(hex(request_id_key), 13, 4) || '-' || substr(hex(request_id_key), 17, 4) || '-' || substr(hex(request_id_key), 21)) ELSE request_id_key END) VIRTUAL,
  x_forwarded_for           TEXT GENERATED ALWAYS AS (CASE WHEN x_forwarded_for_v4 IS NULL THEN x_forwarded_for_text ELSE ((x_forwarded_for_v4 + 2147483648) >> 24) || '.' || (((x_forwarded_for_v4 + 2147483648) >> 16) & 255) || '.' || (((x_forwarded_for_v4 + 2147483648) >> 8) & 255) || '.' || ((x_forwarded_for_v4 + 2147483648) & 255) END) VIRTUAL,
  upstream_host             TEXT GENERATED ALWAYS AS (CASE WHEN upstream_host_v4 IS NULL THEN upstream_host_text ELSE (((upstream_host_v4 >> 16) + 2147483648) >> 24) || '.' || ((((upstream_host_v4 >> 16) + 2147483648) >> 16) & 255) || '.' || ((((upstream_host_v4 >> 16) + 2147483648) >> 8) & 255) || '.' || (((upstream_host_v4 >> 16) + 2147483648) & 255) || ':' || (upstream_host_v4 & 65535) END) VIRTUAL,
  upstream_local_address    TEXT GENERATED ALWAYS AS (CASE WHEN upstream_local_address_v4 IS NULL THEN upstream_local_address_text ELSE (((upstream_local_address_v4 >> 16) + 2147483648) >> 24) || '.' || ((((upstream_local_address_v4 >> 16) + 2147483648) >> 16) & 255) || '.' || ((((upstream_local_address_v4 >> 16) + 2147483648) >> 8) & 255) || '.' || (((upstream_local_address_v4 >> 16) + 2147483648) & 255) || ':' || (upstream_local_address_v4 & 65535) END) VIRTUAL,
  downstream_local_address  TEXT GENERATED ALWAYS AS (CASE WHEN downstream_local_address_v4 IS NULL THEN downstream_local_address_text ELSE (((downstream_local_address_v4 >> 16) + 2147483648) >> 24) || '.' || ((((downstream_local_address_v4 >> 16) + 2147483648) >> 16) & 255) || '.' || ((((downstream_local_address_v4 >> 16) + 2147483648) >> 8) & 255) || '.' || (((downstream_local_address_v4 >> 16) + 2147483648) & 255) || ':' || (downstream_local_address_v4 & 65535) END) VIRTUAL,
  downstream_remote_address TEXT GENERATED ALWAYS AS (CASE WHEN downstream_remote_address_v4 IS NULL THEN downstream_remote_address_text ELSE (((downstream_remote_address_v4 >> 16) + 2147483648) >> 24) || '.' || ((((downstream_remote_address_v4 >> 16) + 2147483648) >> 16) & 255) || '.' || ((((downstream_remote_address_v4 >> 16) + 2147483648) >> 8) & 255) || '.' || (((downstream_remote_address_v4 >> 16) + 2147483648) & 255) || ':' || (downstream_remote_address_v4 & 65535) END) VIRTUAL
);

INSERT INTO flows_new (
  id, source_id, pos, line, ts, ts_estimated, method_id, path, protocol_id, response_code, response_flags_id,
  response_code_details_id, connection_termination_details_id, upstream_transport_failure_reason_id, bytes_received,
  bytes_sent, duration, upstream_service_time, x_forwarded_for_text, user_agent_id, request_id_key, authority_id,
  upstream_host_text, upstream_cluster_id, upstream_local_address_text, downstream_local_address_text,
  downstream_remote_address_text, requested_server_name_id, route_name_id, direction, destination_service_id,
  destination_port, reporter_id, format_id, source_principal_id, source_principal_from_id, source_namespace_id,
  source_namespace_from_id, source_service_account_id, source_workload_id, destination_principal_id,
  destination_principal_from_id, destination_namespace_id, destination_namespace_from_id,
  destination_service_account_id, destination_workload_id, mtls, mtls_evidence_id, tls_version_id, tls_cipher_id, extra)
SELECT
  id, source_id, pos, line, ts, ts_estimated, method_id, path, protocol_id, response_code, response_flags_id,
  response_code_details_id, connection_termination_details_id, upstream_transport_failure_reason_id, bytes_received,
  bytes_sent, duration, upstream_service_time, x_forwarded_for, user_agent_id,
  CASE WHEN request_id GLOB '[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]' THEN unhex(replace(request_id, '-', '')) ELSE request_id END,
  authority_id, upstream_host, upstream_cluster_id, upstream_local_address, downstream_local_address,
  downstream_remote_address, requested_server_name_id, route_name_id, direction, destination_service_id,
  destination_port, reporter_id, format_id, source_principal_id, source_principal_from_id, source_namespace_id,
  source_namespace_from_id, source_service_account_id, source_workload_id, destination_principal_id,
  destination_principal_from_id, destination_namespace_id, destination_namespace_from_id,
  destination_service_account_id, destination_workload_id, mtls, mtls_evidence_id, tls_version_id, tls_cipher_id, extra
FROM flows
ORDER BY id;

DROP TABLE flows;
ALTER TABLE flows_new RENAME TO flows;

-- The source position is the idempotency key: a replayed record is a no-op.
CREATE UNIQUE INDEX flows_position ON flows (source_id, pos);
CREATE INDEX flows_ts ON flows (ts);
CREATE INDEX flows_request_id ON flows (request_id_key) WHERE request_id_key IS NOT NULL;
-- "Everything this principal did between 02:00 and 02:15" is the first investigation query.
CREATE INDEX flows_source_principal ON flows (source_principal_id, ts) WHERE source_principal_id IS NOT NULL;
