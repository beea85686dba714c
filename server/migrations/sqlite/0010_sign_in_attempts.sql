-- Sign-in attempts in the current window (see the relay's sign_in_limit module), kept in the
-- database so that every relay sharing it counts the same attempts. Keys are salted hashes of
-- "account:<email>" or "address:<ip>", never the email or address itself. Unix milliseconds.
CREATE TABLE sign_in_attempts (
    id  INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    at  INTEGER NOT NULL
);
CREATE INDEX sign_in_attempts_key ON sign_in_attempts (key);
CREATE INDEX sign_in_attempts_at ON sign_in_attempts (at);

-- When each key's refusal was last audited: at most one rate_limited audit row per window.
CREATE TABLE sign_in_refusals (
    key        TEXT PRIMARY KEY NOT NULL,
    audited_at INTEGER NOT NULL
);
