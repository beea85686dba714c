-- When an event happened on a device, for events a device reports later: opening a case while
-- offline is recorded when the device is next online. Unix milliseconds, the device's clock
-- (two views in one second are two views);
-- `at` stays the relay's.
ALTER TABLE audit ADD COLUMN occurred_at BIGINT;
