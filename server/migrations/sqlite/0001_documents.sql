-- Document data as automerge-repo stores it: a key-value store whose keys are
-- `/`-joined lists (`<doc>/incremental/<change>`, `<doc>/snapshot/<heads hash>`, ...).
CREATE TABLE documents (
    key  TEXT PRIMARY KEY NOT NULL,
    data BLOB NOT NULL
);
