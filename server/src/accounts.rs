//! Agencies and the professionals who work for them: who may sign in, and with what role.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use password_hash::rand_core::{OsRng, RngCore};
use serde::Serialize;
use sqlx::AnyPool;
use std::sync::OnceLock;

pub use shared::api::{Agency, NewProfessional, Role};

/// A professional as the relay knows them (no password, no session). The API's
/// [`shared::api::Professional`] is this without the email address.
#[derive(Debug, Clone, Serialize)]
pub struct Professional {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub agency_id: i64,
    pub agency_name: String,
    pub role: Role,
    pub active: bool,
}

impl From<Professional> for shared::api::Professional {
    fn from(p: Professional) -> Self {
        Self {
            id: p.id,
            name: p.name,
            agency_id: p.agency_id,
            agency_name: p.agency_name,
            role: p.role,
            active: p.active,
        }
    }
}

#[derive(sqlx::FromRow)]
struct ProfessionalRow {
    id: i64,
    name: String,
    email: String,
    agency_id: i64,
    agency_name: String,
    role: String,
    /// 1 or 0: both databases store flags as integers.
    active: i64,
}

impl From<ProfessionalRow> for Professional {
    fn from(r: ProfessionalRow) -> Self {
        Professional {
            id: r.id,
            name: r.name,
            email: r.email,
            agency_id: r.agency_id,
            agency_name: r.agency_name,
            // The CHECK constraint allows only known roles; anything else gets least power.
            role: Role::parse(&r.role).unwrap_or(Role::Practitioner),
            active: r.active != 0,
        }
    }
}

const SELECT_PROFESSIONAL: &str =
    "SELECT p.id, p.name, p.email, p.agency_id, a.name AS agency_name,
        p.role, p.active FROM professionals p JOIN agencies a ON a.id = p.agency_id";

/// Why an account change was refused. The messages are shown to people.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("Enter a name.")]
    NoName,
    #[error("Enter an email address like name@example.org.")]
    BadEmail,
    #[error("Choose a password of at least 10 characters.")]
    WeakPassword,
    #[error("Someone already has that email address.")]
    EmailTaken,
    #[error("There is already an agency with that name.")]
    AgencyTaken,
    #[error("That agency does not exist.")]
    NoSuchAgency,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

pub const MIN_PASSWORD_CHARS: usize = 10;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `2026-01-02T03:04:05Z`.
pub fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// 32 bytes from the operating system's secure random source.
pub fn random_bytes() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    bytes
}

/// An argon2id hash (PHC string) of a password, with a fresh salt.
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters hashes any password")
        .to_string()
}

/// Whether `password` matches `hash`. With no hash (unknown email) it still does the work of a
/// check against a dummy hash, so the response time does not tell whether an account exists.
pub fn verify_password(password: &str, hash: Option<&str>) -> bool {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash_password("not anyone's password"));
    let (hash, real) = match hash {
        Some(h) => (h, true),
        None => (dummy.as_str(), false),
    };
    let ok = PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false);
    ok && real
}

fn normalise_email(email: &str) -> Result<String, AccountError> {
    let email = email.trim();
    let ok = email.len() <= 254
        && email
            .split_once('@')
            .is_some_and(|(user, host)| !user.is_empty() && host.contains('.'))
        && !email.chars().any(char::is_whitespace);
    ok.then(|| email.to_string()).ok_or(AccountError::BadEmail)
}

pub async fn agencies(pool: &AnyPool) -> Result<Vec<Agency>, sqlx::Error> {
    let rows: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT id, name, second_factor_required FROM agencies ORDER BY lower(name), id",
    )
    .fetch_all(pool)
    .await?;
    let mut providers = providers(pool).await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, required)| Agency {
            id,
            name,
            provider: providers.remove(&id),
            second_factor_required: required != 0,
        })
        .collect())
}

pub async fn agency(pool: &AnyPool, id: i64) -> Result<Option<Agency>, sqlx::Error> {
    Ok(agencies(pool).await?.into_iter().find(|a| a.id == id))
}

/// Every organisation's provider (as shown, without its secret), by agency id.
async fn providers(
    pool: &AnyPool,
) -> Result<std::collections::HashMap<i64, shared::api::ProviderView>, sqlx::Error> {
    let rows: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT agency_id, issuer, client_id FROM identity_providers")
            .fetch_all(pool)
            .await?;
    let domains: Vec<(i64, String)> =
        sqlx::query_as("SELECT agency_id, domain FROM identity_provider_domains ORDER BY domain")
            .fetch_all(pool)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(agency_id, issuer, client_id)| {
            let email_domains = domains
                .iter()
                .filter(|(a, _)| *a == agency_id)
                .map(|(_, d)| d.clone())
                .collect();
            (
                agency_id,
                shared::api::ProviderView {
                    issuer,
                    client_id,
                    email_domains,
                },
            )
        })
        .collect())
}

pub async fn create_agency(pool: &AnyPool, name: &str) -> Result<Agency, AccountError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(AccountError::NoName);
    }
    let id: i64 =
        sqlx::query_scalar("INSERT INTO agencies (name, created_at) VALUES ($1, $2) RETURNING id")
            .bind(name)
            .bind(now())
            .fetch_one(pool)
            .await
            .map_err(|e| match e {
                sqlx::Error::Database(d) if d.is_unique_violation() => AccountError::AgencyTaken,
                e => e.into(),
            })?;
    Ok(Agency {
        id,
        name: name.to_string(),
        provider: None,
        // The table's default: passwords need a code from an app.
        second_factor_required: true,
    })
}

/// Adds a professional with the details an administrator entered.
pub async fn create_professional(
    pool: &AnyPool,
    new: &NewProfessional,
) -> Result<Professional, AccountError> {
    let name = new.name.trim();
    if name.is_empty() {
        return Err(AccountError::NoName);
    }
    let email = normalise_email(&new.email)?;
    if new.password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AccountError::WeakPassword);
    }
    if agency(pool, new.agency_id).await?.is_none() {
        return Err(AccountError::NoSuchAgency);
    }
    let hash = hash_password(&new.password);
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO professionals (name, email, agency_id, role, password_hash, active, created_at)
         VALUES ($1, $2, $3, $4, $5, 1, $6) RETURNING id",
    )
    .bind(name)
    .bind(&email)
    .bind(new.agency_id)
    .bind(new.role.as_str())
    .bind(hash)
    .bind(now())
    .fetch_one(pool)
    .await
    .map_err(|e| match e {
        sqlx::Error::Database(d) if d.is_unique_violation() => AccountError::EmailTaken,
        e => e.into(),
    })?;
    Ok(professional(pool, id).await?.expect("just inserted"))
}

pub async fn professional(pool: &AnyPool, id: i64) -> Result<Option<Professional>, sqlx::Error> {
    let row: Option<ProfessionalRow> =
        sqlx::query_as(&format!("{SELECT_PROFESSIONAL} WHERE p.id = $1"))
            .bind(id)
            .fetch_optional(pool)
            .await?;
    Ok(row.map(Into::into))
}

/// The professional with this email (any case) and their password hash.
pub async fn by_email(
    pool: &AnyPool,
    email: &str,
) -> Result<Option<(Professional, String)>, sqlx::Error> {
    let row: Option<(i64, String)> = sqlx::query_as(
        "SELECT id, password_hash FROM professionals WHERE lower(email) = lower($1)",
    )
    .bind(email.trim())
    .fetch_optional(pool)
    .await?;
    let Some((id, hash)) = row else {
        return Ok(None);
    };
    Ok(professional(pool, id).await?.map(|p| (p, hash)))
}

/// Everyone (admins) or only active professionals (for inviting), by name.
pub async fn directory(
    pool: &AnyPool,
    only_active: bool,
) -> Result<Vec<Professional>, sqlx::Error> {
    let filter = if only_active {
        " WHERE p.active = 1"
    } else {
        ""
    };
    let rows: Vec<ProfessionalRow> = sqlx::query_as(&format!(
        "{SELECT_PROFESSIONAL}{filter} ORDER BY p.name, p.id"
    ))
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// A leaver: the account is closed, and each case they were in the team for becomes one of
/// their departures, so their devices hand over and remove their copies (crate::departure).
/// Their memberships are kept, for the record.
pub async fn deactivate(pool: &AnyPool, id: i64) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    let closed = sqlx::query("UPDATE professionals SET active = 0 WHERE id = $1 AND active = 1")
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    // Already closed: their departures keep the day they left (it bounds their hand-over).
    if closed == 0 {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO departures (case_id, professional_id, left_at)
         SELECT case_id, professional_id, $2 FROM case_members WHERE professional_id = $1
         ON CONFLICT(case_id, professional_id) DO UPDATE SET left_at = excluded.left_at",
    )
    .bind(id)
    .bind(now())
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// The ids of professionals who may not sign in or sync any more.
pub async fn inactive_ids(pool: &AnyPool) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM professionals WHERE active = 0")
        .fetch_all(pool)
        .await
}

/// `tac-relay create-admin`: the agency (made if missing) and a system administrator in it.
pub async fn create_admin(
    pool: &AnyPool,
    agency_name: &str,
    name: &str,
    email: &str,
    password: &str,
) -> Result<Professional, AccountError> {
    // Refuse before making the agency, so a failed attempt leaves nothing behind.
    normalise_email(email)?;
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AccountError::WeakPassword);
    }
    let taken: Option<i64> =
        sqlx::query_scalar("SELECT id FROM professionals WHERE lower(email) = lower($1)")
            .bind(email.trim())
            .fetch_optional(pool)
            .await?;
    if taken.is_some() {
        return Err(AccountError::EmailTaken);
    }
    let existing: Option<i64> =
        sqlx::query_scalar("SELECT id FROM agencies WHERE lower(name) = lower($1)")
            .bind(agency_name.trim())
            .fetch_optional(pool)
            .await?;
    let agency_id = match existing {
        Some(id) => id,
        None => create_agency(pool, agency_name).await?.id,
    };
    create_professional(
        pool,
        &NewProfessional {
            name: name.to_string(),
            email: email.to_string(),
            agency_id,
            role: Role::SystemAdmin,
            password: password.to_string(),
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_own_hash() {
        let hash = hash_password("correct horse battery");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", Some(&hash)));
        assert!(!verify_password("wrong", Some(&hash)));
        assert!(!verify_password("correct horse battery", None));
        assert!(!verify_password("x", Some("not a hash")));
    }

    #[test]
    fn emails_must_look_like_emails() {
        assert!(normalise_email(" a@b.org ").is_ok());
        assert!(normalise_email("a@b").is_err());
        assert!(normalise_email("a b@c.org").is_err());
        assert!(normalise_email("@c.org").is_err());
    }
}
