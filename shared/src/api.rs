//! The relay's JSON API for accounts, case membership and audit, as both sides see it.
//!
//! Sign-in sets an HttpOnly session cookie; every other call relies on it. Errors come back as
//! [`ApiError`] with a sentence fit to show to the person.

use serde::{Deserialize, Serialize};

/// What a professional may do beyond their own cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Practitioner,
    AgencyAdmin,
    SystemAdmin,
}

impl Role {
    pub fn label(self) -> &'static str {
        match self {
            Role::Practitioner => "Practitioner",
            Role::AgencyAdmin => "Administrator for their organisation",
            Role::SystemAdmin => "System administrator",
        }
    }

    pub fn is_admin(self) -> bool {
        self != Role::Practitioner
    }

    /// As stored and sent: `practitioner`, `agency_admin`, `system_admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Practitioner => "practitioner",
            Role::AgencyAdmin => "agency_admin",
            Role::SystemAdmin => "system_admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        [Role::Practitioner, Role::AgencyAdmin, Role::SystemAdmin]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// `POST /api/session`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignIn {
    pub email: String,
    pub password: String,
}

/// `GET /api/leaving`: this device's session belongs to someone who has left the service
/// (their account was closed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leaving {
    /// Whose account it was.
    pub id: i64,
    /// Whether the device may still hand its cases to their teams (unshared edits first). If
    /// not (signed out everywhere, or signed in here more than 90 days ago), it only removes
    /// them: nothing more is taken from it.
    pub hand_over: bool,
}

/// The signed-in professional (`GET`/`POST /api/session`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Me {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub agency_id: i64,
    pub agency_name: String,
    pub role: Role,
    /// The sync connection's peer id must start with this: it binds the socket to the session.
    pub peer_prefix: String,
    /// When the session ends (RFC 3339).
    pub expires_at: String,
}

/// The start of every sync peer id of this professional's sessions (`p<id>-`): the relay
/// refuses a connection whose peer id does not start with its session's prefix, so a peer id
/// tells whose it is.
pub fn peer_prefix(professional_id: i64) -> String {
    format!("p{professional_id}-")
}

/// A professional's part in a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseRole {
    Lead,
    Member,
}

/// One of my cases (`GET /api/cases`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MyCase {
    pub id: String,
    pub role: CaseRole,
    /// When the relay last took a change to the case (Unix ms), if it has: a device that put
    /// a closed case away fetches it again only if it changed since.
    #[serde(default)]
    pub last_change_at: Option<i64>,
}

/// `POST /api/cases`: registers a case made on a device, its maker becoming lead professional.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegisterCase {
    pub id: String,
}

/// Someone in the team around the child (`GET /api/cases/:id/members`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub professional_id: i64,
    pub name: String,
    pub agency_id: i64,
    pub agency_name: String,
    pub role: CaseRole,
    /// Their work email: how the team, and the family's plan, can reach them.
    #[serde(default)]
    pub email: String,
}

/// `POST /api/cases/:id/members`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Invite {
    pub professional_id: i64,
}

/// A professional in the directory (`GET /api/professionals`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Professional {
    pub id: i64,
    pub name: String,
    pub agency_id: i64,
    pub agency_name: String,
    pub role: Role,
    pub active: bool,
}

/// An organisation (`GET`/`POST /api/agencies`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agency {
    pub id: i64,
    pub name: String,
    /// Its own OpenID provider, if its people sign in through it (then not with passwords).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<ProviderView>,
    /// Everyone in it needs a code from an authenticator app with their password
    /// (administrators always do).
    #[serde(default)]
    pub second_factor_required: bool,
}

/// An organisation's OpenID provider as the accounts screens show it (never the secret).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderView {
    pub issuer: String,
    pub client_id: String,
    pub email_domains: Vec<String>,
}

/// `PUT /api/agencies/{id}/sign-in`: how an organisation's people sign in.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AgencySignIn {
    /// `None`: passwords. Otherwise the provider to send them to.
    pub provider: Option<ProviderSettings>,
    pub second_factor_required: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ProviderSettings {
    pub issuer: String,
    pub client_id: String,
    /// Empty keeps the secret already saved.
    #[serde(default)]
    pub client_secret: String,
    pub email_domains: Vec<String>,
}

/// `POST /api/sign-in/start`: the work email typed first.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignInStart {
    pub email: String,
}

/// How that person signs in: with a password here, or at their organisation's provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum SignInMethod {
    Password,
    Provider { url: String },
}

/// `POST /api/session` answers 202 with this when the password was right but a code from an
/// authenticator app is needed too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecondFactorNeeded {
    /// Carries the right password forward for a few minutes (`POST /api/session/code`).
    pub pending: String,
    /// Present the first time: the key to add to an authenticator app.
    pub set_up: Option<AuthenticatorSetUp>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthenticatorSetUp {
    /// Base32, as authenticator apps take it typed in.
    pub secret: String,
    /// `otpauth://totp/...`, for apps that open links or scan codes.
    pub uri: String,
    /// The same as a QR code (an SVG image) for the phone's camera.
    #[serde(default)]
    pub qr_svg: String,
}

/// `POST /api/session/code`: a 6-digit code, or one of the recovery codes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CodeEntry {
    pub pending: String,
    pub code: String,
}

/// The code was right: signed in. Recovery codes come once, when the app was first set up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodeAccepted {
    pub me: Me,
    #[serde(default)]
    pub recovery_codes: Vec<String>,
}

/// `POST /api/professionals/{id}/sign-in-link`: a one-time link an administrator sends so that
/// the person's first sign-in with their organisation's account links to them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignInLink {
    pub link: String,
    pub expires_at: String,
}

/// `POST /api/agencies`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewAgency {
    pub name: String,
}

/// `POST /api/professionals`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewProfessional {
    pub name: String,
    pub email: String,
    pub agency_id: i64,
    pub role: Role,
    pub password: String,
}

/// `POST /api/cases/:id/exports`: something left the system (a printed copy, a download).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Export {
    pub kind: String,
}

/// Any error: a sentence for the person.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiError {
    pub error: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_read_and_write_as_the_relay_stores_them() {
        for role in [Role::Practitioner, Role::AgencyAdmin, Role::SystemAdmin] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{}\"", role.as_str()));
        }
        assert_eq!(Role::parse("root"), None);
        let me: Me = serde_json::from_str(
            r#"{"id":7,"name":"A","email":"a@x","agency_id":3,"agency_name":"School","role":"agency_admin","peer_prefix":"p7-","expires_at":"x"}"#,
        )
        .unwrap();
        assert_eq!((me.id, me.agency_id, me.role), (7, 3, Role::AgencyAdmin));
    }
}

/// `GET /api/cases/:id/receipts`: who brought each change of a case to the shared record, and
/// when (the relay's clock), with the names of everyone who did, so the history can name
/// people on this device later, offline. Changes without a receipt predate the journal and
/// read as "not verified".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Receipts {
    pub receipts: Vec<Receipt>,
    pub people: Vec<Author>,
}

impl Receipts {
    /// By change, as [`crate::record::history`] reads them (unreadable hashes are skipped).
    pub fn by_change(
        &self,
    ) -> std::collections::HashMap<automerge::ChangeHash, crate::record::history::Received> {
        self.receipts
            .iter()
            .filter_map(|r| {
                Some((
                    r.change_hash.parse().ok()?,
                    crate::record::history::Received {
                        professional_id: r.professional_id,
                        at: r.received_at,
                    },
                ))
            })
            .collect()
    }

    /// The person with this id, if they made any of the changes.
    pub fn author(&self, professional_id: i64) -> Option<&Author> {
        self.people
            .iter()
            .find(|a| a.professional_id == professional_id)
    }
}

/// One change as the relay received it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// Hex, as Automerge prints change hashes.
    pub change_hash: String,
    pub professional_id: i64,
    /// Unix milliseconds, the relay's clock.
    pub received_at: i64,
}

/// A person who made changes to a case, as the history names them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Author {
    pub professional_id: i64,
    pub name: String,
    pub agency_name: String,
}

/// `GET`/`PUT /api/cases/:id/last-looked`: the state of a case a person last saw (its heads, as
/// hex change hashes) and when (Unix ms), so "changed since you last looked" follows them to
/// another device. Only they can read theirs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastLooked {
    pub heads: Vec<String>,
    pub looked_at: i64,
}

/// A case opened on a device, reported to the relay (later, if it was opened offline) so the
/// case's audit trail says who has looked at the child's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseView {
    pub case_id: String,
    /// When it was opened, by the device's clock (Unix milliseconds).
    pub at: i64,
}

/// Most views one report may carry; a device sends more in several.
pub const MAX_VIEWS_PER_REPORT: usize = 500;

/// `GET /api/departures`: a case the caller has left (removed from its team, or the family
/// withdrew consent), so their devices hand over any last edits and remove their copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Departure {
    pub case_id: String,
    /// Unix seconds.
    pub left_at: i64,
    /// The case was destroyed under the records policy: its copy goes without handing
    /// anything over (the relay takes nothing more of it).
    #[serde(default)]
    pub destroyed: bool,
}

/// `POST /api/cases/:id/final-edits`: what the relay took from a device's copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinalEdits {
    /// How many changes were new to it.
    pub new: usize,
    /// The relay's clock when it had them on disk (Unix ms): a device that puts a closed case
    /// away compares later changes with this, never with its own clock.
    pub at: i64,
}

/// `POST /api/cases/:id/device-copy-removed`: this device (its storage id) removed its copy,
/// because its owner left the team, or because the case closed long ago.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyRemoved {
    pub device: String,
    #[serde(default)]
    pub because: RemovedBecause,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemovedBecause {
    /// Its owner is no longer in the team.
    #[default]
    Left,
    /// The case closed longer ago than the council keeps cases on devices.
    Closed,
    /// The case was destroyed under the council's records policy.
    Destroyed,
}

impl RemovedBecause {
    pub fn as_str(self) -> &'static str {
        match self {
            RemovedBecause::Left => "left",
            RemovedBecause::Closed => "closed",
            RemovedBecause::Destroyed => "destroyed",
        }
    }
}

/// `GET /api/records/settings` (anyone signed in) and `PUT` (system administrators): how long
/// closed cases are kept, and who approves their destruction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordsSettings {
    pub rule: crate::record::retention::RetentionRule,
    /// The named records manager, who alone approves destruction and places legal holds.
    pub records_manager_id: Option<i64>,
    /// Their name (answers only).
    #[serde(default)]
    pub records_manager_name: Option<String>,
    /// Whether the caller is the records manager (answers only).
    #[serde(default)]
    pub you_manage: bool,
}

/// A legal hold on a case: it is not destroyed while the hold stands (an inquiry, say).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegalHold {
    pub reason: String,
    pub placed_by: String,
    /// Unix seconds.
    pub placed_at: i64,
}

/// `PUT /api/records/:id/hold`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldRequest {
    pub reason: String,
}

/// `GET /api/records/due`: a closed case whose retention period has ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DueCase {
    pub case_id: String,
    pub child_name: String,
    /// `YYYY-MM-DD`: the day it became due.
    pub due: String,
    pub hold: Option<LegalHold>,
    /// Set when the case was never closed: the day it last changed (`YYYY-MM-DD`), from which
    /// its time is counted.
    #[serde(default)]
    pub never_closed: Option<String>,
}

/// `GET /api/records/destroyed`: the destruction log, with who has not yet confirmed that
/// their devices removed their copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestroyedCase {
    pub case_id: String,
    /// The rule it was kept under, in words.
    pub rule: String,
    /// `YYYY-MM-DD`.
    pub due: String,
    pub approved_by: String,
    /// Unix seconds.
    pub destroyed_at: i64,
    /// Devices that have confirmed their copy is gone.
    pub devices_confirmed: usize,
    /// People on the team when it was destroyed none of whose devices has confirmed yet, and
    /// who the relay's audit shows it was served to.
    pub waiting_for: Vec<String>,
    /// The same, with no record of the case ever served to them (they never opened it on a
    /// device, or the record was lost): shown apart, never left out.
    #[serde(default)]
    pub never_opened: Vec<String>,
}

/// `GET /api/device-policy`: how the council wants devices to treat cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevicePolicy {
    /// A case closed for longer than this leaves devices (it stays on the relay, and a member
    /// can still open it from its link).
    pub closed_case_days: u32,
}
