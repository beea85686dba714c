-- Document data as automerge-repo stores it: a key-value store whose keys are
-- `/`-joined lists (`<doc>/incremental/<change>`, `<doc>/snapshot/<heads hash>`, ...).
-- COLLATE "C": keys are compared byte by byte, as the relay's range reads expect
-- (everything under `a/b` lies in ["a/b/", "a/b0")), whatever the server's locale.
CREATE TABLE documents (
    key  TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    data BYTEA NOT NULL
);
