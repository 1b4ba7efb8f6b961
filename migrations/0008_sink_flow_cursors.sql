-- Raw-flow forwarding (a sink's optional `flows:` filter): one row per sink that forwards flows.
-- `flow_id` is the flow id up to which every matching flow was acknowledged by the receiver (or
-- found deleted by retention, counted in `lost`); flows.id only grows (see src/store/retention.ts),
-- so a restart resumes right after it, in order. `started_at_flow_id` is the newest flow id when
-- the sink first started with flows on: older flows are not forwarded. `lost` counts flows that
-- retention deleted before the sink had read them. Times are epoch ms. A sink whose `flows:` is
-- removed loses its row at the next start (turning flows back on starts from then).
CREATE TABLE sink_flow_cursors (
  sink               TEXT PRIMARY KEY,
  flow_id            INTEGER NOT NULL,
  started_at_flow_id INTEGER NOT NULL,
  delivered          INTEGER NOT NULL DEFAULT 0,
  lost               INTEGER NOT NULL DEFAULT 0,
  last_lost_at       INTEGER,
  last_success_at    INTEGER,
  created_at         INTEGER NOT NULL,
  updated_at         INTEGER NOT NULL
);
