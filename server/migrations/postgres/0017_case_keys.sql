-- Each case's content is sealed with a key of its own (sealing.rs); destroying a case deletes
-- its key, so copies of its content the database still keeps cannot be read.
CREATE TABLE case_keys (
    case_id    TEXT PRIMARY KEY NOT NULL,
    key        BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);
-- No sample of the keys in pg_statistic, where deleting a row would not reach it.
ALTER TABLE case_keys ALTER COLUMN key SET STATISTICS 0;
