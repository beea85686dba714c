-- A view a device reports twice (an answer lost on the way, two tabs at once) is one row.
CREATE UNIQUE INDEX audit_case_viewed_once
    ON audit (case_id, actor_professional_id, occurred_at) WHERE event = 'case_viewed';

-- When each case last took a change, for the case list every device asks for.
CREATE INDEX change_receipts_latest ON change_receipts (case_id, received_at);
