-- The receipt journal: which professional's connection brought each change of a case to the
-- relay, and when (Unix milliseconds, the relay's clock). Written before the change reaches the
-- shared record; never updated. The history trusts this, not what a device says.
CREATE TABLE change_receipts (
    case_id         TEXT NOT NULL,
    change_hash     TEXT NOT NULL,
    professional_id BIGINT NOT NULL REFERENCES professionals(id),
    received_at     BIGINT NOT NULL,
    PRIMARY KEY (case_id, change_hash)
);

-- Each Automerge actor (hex) belongs to the professional whose connection first brought one
-- of its changes; nobody else may write under it.
CREATE TABLE change_actors (
    actor           TEXT PRIMARY KEY NOT NULL,
    professional_id BIGINT NOT NULL REFERENCES professionals(id),
    bound_at        BIGINT NOT NULL
);

CREATE FUNCTION refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are never changed', TG_TABLE_NAME;
END;
$$;

CREATE TRIGGER change_receipts_append_only BEFORE UPDATE ON change_receipts
    FOR EACH ROW EXECUTE FUNCTION refuse_update();

CREATE TRIGGER change_actors_append_only BEFORE UPDATE ON change_actors
    FOR EACH ROW EXECUTE FUNCTION refuse_update();
