-- The destruction log asks, per person, whether the relay ever served them a case (their
-- 'sync_access' rows): without this it reads the whole audit trail once per person.
CREATE INDEX audit_actor_event ON audit(actor_professional_id, event);
