-- The request-id index, chunked by row id: (id >> 16, request_id_key) instead of request_id_key.
--
-- Request ids are random (UUIDs), so every insert into a plain request-id index lands on a random
-- page of the whole index: once it outgrows the page cache, each transaction of 2,000 flows
-- dirties ~2,000 pages of it (8 MB of WAL for ~0.5 MB of rows), and ingest slowed by a third
-- between 1M and 10M stored flows. Chunked, inserts go to the current chunk's 65,536 rows only,
-- a few hundred pages that stay cached. A lookup by request id probes every chunk, one index
-- seek each (~150 at 10M flows; src/store/flows.query.ts).
DROP INDEX flows_request_id;
CREATE INDEX flows_request_chunk ON flows ((id >> 16), request_id_key) WHERE request_id_key IS NOT NULL;
