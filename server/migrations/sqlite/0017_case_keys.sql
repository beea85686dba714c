-- Each case's content is sealed with a key of its own (sealing.rs); destroying a case deletes
-- its key, so copies of its content the database still keeps cannot be read.
CREATE TABLE case_keys (
    case_id    TEXT PRIMARY KEY NOT NULL,
    key        BLOB NOT NULL,
    created_at BIGINT NOT NULL
);
