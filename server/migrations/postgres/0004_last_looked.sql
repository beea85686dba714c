-- When each person last looked at each case (the heads they saw), for "changed since you last
-- looked" on any of their devices. Read only by that person: it never tells anyone else what
-- someone read. Unix milliseconds.
CREATE TABLE last_looked (
    professional_id BIGINT NOT NULL REFERENCES professionals(id),
    case_id         TEXT NOT NULL,
    heads           TEXT NOT NULL,
    looked_at       BIGINT NOT NULL,
    PRIMARY KEY (professional_id, case_id)
);
