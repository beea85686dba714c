-- Signing in with an organisation's own OpenID provider, and a second factor for passwords.
-- Times are Unix seconds.

-- One provider per organisation (agency). The client secret is needed to redeem codes, so it
-- is kept as given; the relay never sends it back out.
CREATE TABLE identity_providers (
    agency_id     BIGINT PRIMARY KEY NOT NULL REFERENCES agencies(id),
    issuer        TEXT NOT NULL,
    client_id     TEXT NOT NULL,
    client_secret TEXT NOT NULL,
    updated_at    BIGINT NOT NULL
);

-- Email domains (lower case) whose verified addresses may link on first sign-in; a domain
-- belongs to one organisation, so a typed email finds its provider.
CREATE TABLE identity_provider_domains (
    domain    TEXT PRIMARY KEY NOT NULL,
    agency_id BIGINT NOT NULL REFERENCES agencies(id)
);

-- Whether everyone in the organisation who signs in with a password needs a code from an
-- authenticator app too: yes unless a system administrator says otherwise (administrators
-- always do). Nobody reaches a child's record with a password alone by default.
ALTER TABLE agencies ADD COLUMN second_factor_required BIGINT NOT NULL DEFAULT 1;

-- Who a provider's account is: its issuer and subject, never its email.
CREATE TABLE external_identities (
    issuer          TEXT NOT NULL,
    subject         TEXT NOT NULL,
    professional_id BIGINT NOT NULL REFERENCES professionals(id),
    linked_at       BIGINT NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE UNIQUE INDEX external_identities_professional ON external_identities (professional_id, issuer);

-- One-time links an administrator sends so that a person's first sign-in links to them.
-- Only a SHA-256 of the link's token is kept.
CREATE TABLE sign_in_invitations (
    token_hash      TEXT PRIMARY KEY NOT NULL,
    professional_id BIGINT NOT NULL REFERENCES professionals(id),
    created_by      BIGINT NOT NULL REFERENCES professionals(id),
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    used_at         BIGINT
);

-- Sign-ins under way at a provider: state (hashed), nonce and PKCE verifier, used once.
CREATE TABLE provider_sign_ins (
    state_hash     TEXT PRIMARY KEY NOT NULL,
    agency_id      BIGINT NOT NULL REFERENCES agencies(id),
    nonce          TEXT NOT NULL,
    code_verifier  TEXT NOT NULL,
    invitation     TEXT,
    -- The session the browser had when it set off: it ends when this sign-in succeeds.
    previous_session BIGINT,
    created_at     BIGINT NOT NULL
);

-- Authenticator app keys (base32), written once a first code proved the set-up; last_step
-- stops a code being used twice.
CREATE TABLE second_factors (
    professional_id BIGINT PRIMARY KEY NOT NULL REFERENCES professionals(id),
    secret          TEXT NOT NULL,
    confirmed_at    BIGINT,
    last_step       BIGINT NOT NULL DEFAULT 0
);

-- Single-use recovery codes, SHA-256 only.
CREATE TABLE recovery_codes (
    code_hash       TEXT PRIMARY KEY NOT NULL,
    professional_id BIGINT NOT NULL REFERENCES professionals(id),
    used_at         BIGINT
);
CREATE INDEX recovery_codes_professional ON recovery_codes (professional_id);

-- A password that was right, waiting for its second factor (token hashed; a few minutes).
CREATE TABLE pending_sign_ins (
    token_hash      TEXT PRIMARY KEY NOT NULL,
    professional_id BIGINT NOT NULL REFERENCES professionals(id),
    created_at      BIGINT NOT NULL,
    wrong_codes     BIGINT NOT NULL DEFAULT 0,
    -- A new key offered to set an app up with; the person's once a code from it comes back.
    new_secret      TEXT
);
