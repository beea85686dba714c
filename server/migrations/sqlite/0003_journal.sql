-- The receipt journal: which professional's connection brought each change of a case to the
-- relay, and when (Unix milliseconds, the relay's clock). Written before the change reaches the
-- shared record; never updated. The history trusts this, not what a device says.
CREATE TABLE change_receipts (
    case_id         TEXT NOT NULL,
    change_hash     TEXT NOT NULL,
    professional_id INTEGER NOT NULL REFERENCES professionals(id),
    received_at     INTEGER NOT NULL,
    PRIMARY KEY (case_id, change_hash)
) WITHOUT ROWID;

-- Each Automerge actor (hex) belongs to the professional whose connection first brought one
-- of its changes; nobody else may write under it.
CREATE TABLE change_actors (
    actor           TEXT PRIMARY KEY NOT NULL,
    professional_id INTEGER NOT NULL REFERENCES professionals(id),
    bound_at        INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TRIGGER change_receipts_append_only BEFORE UPDATE ON change_receipts
BEGIN
    SELECT RAISE(ABORT, 'change receipts are never changed');
END;

CREATE TRIGGER change_actors_append_only BEFORE UPDATE ON change_actors
BEGIN
    SELECT RAISE(ABORT, 'actor bindings are never changed');
END;
