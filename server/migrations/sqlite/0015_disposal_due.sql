-- When each case falls due for disposal, as last worked out (records::DueCache), kept across
-- restarts so the first due list after one does not read every case. Dates and counts only.
CREATE TABLE disposal_due (
    case_id     TEXT PRIMARY KEY,
    rule        TEXT NOT NULL,
    last_change BIGINT,
    changes     BIGINT,
    due         TEXT,
    -- When it was worked out (Unix ms): trusted for a week at most.
    worked_out_at BIGINT NOT NULL
);
