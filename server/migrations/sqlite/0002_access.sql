-- Who may see which case. Times are Unix seconds (UTC).

CREATE TABLE agencies (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE COLLATE NOCASE,
    created_at INTEGER NOT NULL
);

CREATE TABLE professionals (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    -- Unique whatever the case people type it in.
    email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
    agency_id     INTEGER NOT NULL REFERENCES agencies(id),
    role          TEXT NOT NULL CHECK (role IN ('practitioner', 'agency_admin', 'system_admin')),
    -- argon2id, PHC string format (salt and parameters included).
    password_hash TEXT NOT NULL,
    active        INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL
);

-- Only a SHA-256 hash of each session token is kept: a copy of the database cannot sign anyone in.
CREATE TABLE sessions (
    id              INTEGER PRIMARY KEY,
    token_hash      TEXT NOT NULL UNIQUE,
    professional_id INTEGER NOT NULL REFERENCES professionals(id),
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    revoked_at      INTEGER
);
CREATE INDEX sessions_professional ON sessions(professional_id);

-- A case id, once registered, belongs to its members: nobody else can claim it later.
CREATE TABLE cases (
    id            TEXT PRIMARY KEY NOT NULL,
    registered_by INTEGER NOT NULL REFERENCES professionals(id),
    registered_at INTEGER NOT NULL
);

-- Removed members are deleted; the audit table keeps the history.
CREATE TABLE case_members (
    case_id         TEXT NOT NULL REFERENCES cases(id),
    professional_id INTEGER NOT NULL REFERENCES professionals(id),
    role            TEXT NOT NULL CHECK (role IN ('lead', 'member')),
    added_by        INTEGER REFERENCES professionals(id),
    added_at        INTEGER NOT NULL,
    PRIMARY KEY (case_id, professional_id)
);
CREATE INDEX case_members_professional ON case_members(professional_id);

-- Ids only: never names, emails, case content or passwords.
CREATE TABLE audit (
    id                      INTEGER PRIMARY KEY,
    at                      INTEGER NOT NULL,
    event                   TEXT NOT NULL,
    actor_professional_id   INTEGER,
    case_id                 TEXT,
    subject_professional_id INTEGER,
    subject_agency_id       INTEGER,
    outcome                 TEXT NOT NULL,
    -- Salted SHA-256 of the client's address, so repeated attempts can be linked without
    -- keeping the address itself.
    client_hash             TEXT
);
CREATE INDEX audit_case ON audit(case_id);

-- Relay-wide values generated once, e.g. the salt for client address hashes.
CREATE TABLE settings (
    name  TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
