-- An open case used to be "never due"; it now counts from its last change (retention.rs),
-- so due dates worked out before are forgotten rather than trusted for up to a week.
DELETE FROM disposal_due;
