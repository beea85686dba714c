-- Retention and disposal (see server/src/records.rs). Unix seconds.

-- A case under a legal hold (an inquiry, say) is never destroyed while the hold stands.
CREATE TABLE legal_holds (
    case_id   TEXT PRIMARY KEY NOT NULL,
    reason    TEXT NOT NULL,
    placed_by INTEGER NOT NULL REFERENCES professionals(id),
    placed_at INTEGER NOT NULL
);

-- The destruction log, and each destroyed case's tombstone: its id, the rule it was kept
-- under, when it was due, who approved and when; never any of its content. A case id here is
-- never taken again, from any device.
CREATE TABLE disposals (
    case_id     TEXT PRIMARY KEY NOT NULL,
    rule        TEXT NOT NULL,
    due         TEXT NOT NULL,
    approved_by INTEGER NOT NULL REFERENCES professionals(id),
    disposed_at INTEGER NOT NULL
);
