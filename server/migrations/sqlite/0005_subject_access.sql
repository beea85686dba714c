-- Subject access requests: a person's request for what a case holds about them, the
-- reviewer's withholdings, and who approved release. Ids and dates only, apart from the review
-- (which pieces and words to withhold), which is case content like the stored documents.
-- Unix milliseconds.
CREATE TABLE subject_access_requests (
    id          INTEGER PRIMARY KEY,
    case_id     TEXT NOT NULL,
    person_id   TEXT NOT NULL,
    received_on TEXT NOT NULL,
    extended    INTEGER NOT NULL DEFAULT 0,
    status      TEXT NOT NULL,
    review      TEXT NOT NULL,
    -- Everyone who changed or sent the review (JSON ids): none of them may approve it.
    editors     TEXT NOT NULL DEFAULT '[]',
    -- The case's heads (JSON) the review was made of: the copy is made of exactly that.
    heads       TEXT,
    opened_by   INTEGER NOT NULL REFERENCES professionals(id),
    opened_at   INTEGER NOT NULL,
    reviewed_by INTEGER REFERENCES professionals(id),
    reviewed_at INTEGER,
    approved_by INTEGER REFERENCES professionals(id),
    approved_at INTEGER,
    released_at INTEGER
);

CREATE INDEX subject_access_requests_by_case ON subject_access_requests (case_id);
