-- Who has left a case's team (removed by the lead, or by the family withdrawing consent), so
-- their devices remove their copy at next contact. Joining the team again clears it.
-- Unix seconds.
CREATE TABLE departures (
    case_id         TEXT NOT NULL,
    professional_id INTEGER NOT NULL REFERENCES professionals(id),
    left_at         INTEGER NOT NULL,
    PRIMARY KEY (case_id, professional_id)
) WITHOUT ROWID;

-- Each device's copy of a case removed, after its owner left the team ('left') or long after
-- the case closed ('closed'): which devices (their storage ids) have confirmed, so nobody has
-- to guess where copies remain.
CREATE TABLE device_copies_removed (
    case_id         TEXT NOT NULL,
    professional_id INTEGER NOT NULL REFERENCES professionals(id),
    device          TEXT NOT NULL,
    removed_at      INTEGER NOT NULL,
    because         TEXT NOT NULL DEFAULT 'left',
    PRIMARY KEY (case_id, professional_id, device)
) WITHOUT ROWID;
