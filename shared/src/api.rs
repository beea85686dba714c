//! The relay's JSON API for accounts, case membership and audit, as both sides see it.
//!
//! Sign-in sets an HttpOnly session cookie; every other call relies on it. Errors come back as
//! [`ApiError`] with a sentence fit to show to the person.

use serde::{Deserialize, Deserializer, Serialize};

/// Ids are opaque strings to the app, whether the relay's database numbers them or not.
fn id_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Text(String),
        Number(i64),
    }
    Ok(match Id::deserialize(d)? {
        Id::Text(s) => s,
        Id::Number(n) => n.to_string(),
    })
}

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
}

/// `POST /api/session`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignIn {
    pub email: String,
    pub password: String,
}

/// The signed-in professional (`GET`/`POST /api/session`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Me {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    pub name: String,
    pub email: String,
    #[serde(deserialize_with = "id_string")]
    pub agency_id: String,
    pub agency_name: String,
    pub role: Role,
    /// The sync connection's peer id must start with this: it binds the socket to the session.
    pub peer_prefix: String,
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
}

/// `POST /api/cases`: registers a case made on a device, its maker becoming lead professional.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegisterCase {
    pub id: String,
}

/// Someone in the team around the child (`GET /api/cases/:id/members`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    #[serde(deserialize_with = "id_string")]
    pub professional_id: String,
    pub name: String,
    #[serde(deserialize_with = "id_string")]
    pub agency_id: String,
    pub agency_name: String,
    pub role: CaseRole,
}

/// `POST /api/cases/:id/members`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Invite {
    pub professional_id: String,
}

/// A professional in the directory (`GET /api/professionals`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Professional {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    pub name: String,
    #[serde(deserialize_with = "id_string")]
    pub agency_id: String,
    pub agency_name: String,
    pub role: Role,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

/// An organisation (`GET`/`POST /api/agencies`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agency {
    #[serde(deserialize_with = "id_string")]
    pub id: String,
    pub name: String,
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
    pub agency_id: String,
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
    fn ids_may_be_numbers_or_strings() {
        let me: Me = serde_json::from_str(
            r#"{"id":7,"name":"A","email":"a@x","agency_id":"3","agency_name":"School","role":"agency_admin","peer_prefix":"p7-","expires_at":"x"}"#,
        )
        .unwrap();
        assert_eq!((me.id.as_str(), me.agency_id.as_str()), ("7", "3"));
        assert_eq!(me.role, Role::AgencyAdmin);
        assert!(serde_json::from_str::<Me>(r#"{"id":null}"#).is_err());
    }
}
