-- Which relay works on each shard of cases now, when several relays serve one PostgreSQL
-- database at once (see server/src/cluster.rs). The claim itself is an advisory lock held by
-- that relay's database session; this row only says where to reach it. Unused on SQLite (one
-- relay), kept so both databases have one schema.
CREATE TABLE shard_owners (
    shard BIGINT PRIMARY KEY,
    relay_url TEXT NOT NULL,
    claimed_at BIGINT NOT NULL
);
