//! A second factor for passwords: codes from an authenticator app (RFC 6238: HMAC-SHA1, six
//! digits, 30-second steps, one step of clock drift either way) and single-use recovery codes.
//!
//! Administrators always need one; everyone else when their organisation says so. A password
//! that was right gives a short-lived pending sign-in, not a session; the code turns it into one.
//! A code is used once: the step it matched is kept, and only later steps are accepted after.

use crate::accounts::{self, now, Professional};
use crate::api::{ApiError, ApiResult, Body};
use crate::audit::Event;
use crate::auth::{ClientAddr, SignedIn};
use crate::sign_in_limit::Verdict;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use sha2::{Digest, Sha256};
use shared::api::{AuthenticatorSetUp, CodeAccepted, CodeEntry, Role, SecondFactorNeeded};
use sqlx::AnyPool;
use totp_rs::{Builder, Secret};

/// How long a right password waits for its code.
const PENDING_SECS: i64 = 5 * 60;
/// Wrong codes allowed on one pending sign-in before the password must be typed again.
const WRONG_CODES_ALLOWED: i64 = 5;
const RECOVERY_CODES: usize = 10;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/session/code", post(enter_code))
        .route(
            "/professionals/{id}/reset-second-factor",
            post(reset_second_factor),
        )
}

fn hash(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Checks `code` against `secret` at Unix time `at`: the step it matched, if any.
pub fn code_step(secret_base32: &str, code: &str, at: u64) -> Option<u64> {
    let secret = Secret::try_from_base32(secret_base32).ok()?;
    let totp = Builder::new().with_secret(secret).build().ok()?;
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    totp.check(&code, at)
}

fn new_secret() -> String {
    Secret::from(accounts::random_bytes()[..20].to_vec()).to_base32()
}

/// The `otpauth://` address as a QR code, an SVG image; empty if it cannot be drawn (the key
/// is on the screen as text too).
fn qr_svg(uri: &str) -> String {
    qrcode::QrCode::new(uri.as_bytes())
        .map(|code| {
            code.render::<qrcode::render::svg::Color>()
                .min_dimensions(200, 200)
                .quiet_zone(true)
                .build()
        })
        .unwrap_or_default()
}

/// `XXXX-XXXX-XX` from an alphabet without look-alikes (no 0/O, 1/I/L).
fn new_recovery_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let bytes = accounts::random_bytes();
    let chars: String = bytes[..10]
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect();
    format!("{}-{}-{}", &chars[..4], &chars[4..8], &chars[8..])
}

/// Recovery codes are compared without dashes, spaces or case.
fn normalise_recovery(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Whether this person must give a code after their password.
pub async fn required(pool: &AnyPool, p: &Professional) -> Result<bool, sqlx::Error> {
    if p.role != Role::Practitioner {
        return Ok(true);
    }
    let required: Option<i64> =
        sqlx::query_scalar("SELECT second_factor_required FROM agencies WHERE id = $1")
            .bind(p.agency_id)
            .fetch_optional(pool)
            .await?;
    Ok(required.unwrap_or(0) != 0)
}

/// The key of the app this person set up, if any.
async fn authenticator(pool: &AnyPool, id: i64) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT secret FROM second_factors WHERE professional_id = $1 AND confirmed_at IS NOT NULL",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// After a right password: `None` if no code is needed (sign in now), otherwise the pending
/// sign-in to answer with (and, until an app is set up, a new key to set it up with).
pub async fn after_password(
    pool: &AnyPool,
    p: &Professional,
) -> Result<Option<SecondFactorNeeded>, sqlx::Error> {
    let confirmed = authenticator(pool, p.id).await?.is_some();
    // Someone who set an app up keeps using it, even where it is not required.
    if !confirmed && !required(pool, p).await? {
        return Ok(None);
    }
    // A key offered for setting up belongs to this pending sign-in only, and becomes the
    // person's when a code from it comes back: whoever learns a password later cannot read
    // back a key the person already added to their phone.
    let set_up = (!confirmed).then(|| {
        let secret = new_secret();
        let uri = format!(
            "otpauth://totp/TAC%20Planner:{}?secret={secret}&issuer=TAC%20Planner&algorithm=SHA1&digits=6&period=30",
            url::form_urlencoded::byte_serialize(p.email.as_bytes()).collect::<String>()
        );
        let qr_svg = qr_svg(&uri);
        AuthenticatorSetUp {
            secret,
            uri,
            qr_svg,
        }
    });
    let token = hex::encode(accounts::random_bytes());
    // Old pending sign-ins of anyone go; only the newest of this person's is kept.
    sqlx::query("DELETE FROM pending_sign_ins WHERE created_at < $1 OR professional_id = $2")
        .bind(now() - PENDING_SECS)
        .bind(p.id)
        .execute(pool)
        .await?;
    sqlx::query(
        "INSERT INTO pending_sign_ins (token_hash, professional_id, created_at, wrong_codes, new_secret)
         VALUES ($1, $2, $3, 0, $4)",
    )
    .bind(hash(&token))
    .bind(p.id)
    .bind(now())
    .bind(set_up.as_ref().map(|s| s.secret.clone()))
    .execute(pool)
    .await?;
    Ok(Some(SecondFactorNeeded {
        pending: token,
        set_up,
    }))
}

enum Checked {
    /// A code from the app; `true` if this confirmed a new set-up.
    App {
        first: bool,
    },
    Recovery,
    Wrong,
}

/// Checks a code for `id` and uses it up if right (atomically: two requests with one code
/// cannot both pass). `setting_up`: the key this pending sign-in offered, if it is a set-up.
async fn check_code(
    pool: &AnyPool,
    id: i64,
    code: &str,
    setting_up: Option<&str>,
) -> Result<Checked, sqlx::Error> {
    let at = now().max(0) as u64;
    if let Some(secret) = setting_up {
        let Some(step) = code_step(secret, code, at) else {
            return Ok(Checked::Wrong);
        };
        let mut tx = pool.begin().await?;
        sqlx::query("DELETE FROM second_factors WHERE professional_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO second_factors (professional_id, secret, confirmed_at, last_step)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(secret)
        .bind(now())
        .bind(step as i64)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        return Ok(Checked::App { first: true });
    }
    let Some(secret) = authenticator(pool, id).await? else {
        return Ok(Checked::Wrong);
    };
    if let Some(step) = code_step(&secret, code, at) {
        let used = sqlx::query(
            "UPDATE second_factors SET last_step = $1 WHERE professional_id = $2 AND last_step < $1",
        )
        .bind(step as i64)
        .bind(id)
        .execute(pool)
        .await?
        .rows_affected();
        return Ok(if used == 1 {
            Checked::App { first: false }
        } else {
            Checked::Wrong
        });
    }
    let used = sqlx::query(
        "UPDATE recovery_codes SET used_at = $1
         WHERE code_hash = $2 AND professional_id = $3 AND used_at IS NULL",
    )
    .bind(now())
    .bind(hash(&normalise_recovery(code)))
    .bind(id)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(if used == 1 {
        Checked::Recovery
    } else {
        Checked::Wrong
    })
}

/// A fresh set of recovery codes (the old ones stop working); shown once.
async fn new_recovery_codes(pool: &AnyPool, id: i64) -> Result<Vec<String>, sqlx::Error> {
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
    let mut tx = pool.begin().await?;
    sqlx::query("DELETE FROM recovery_codes WHERE professional_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    for code in &codes {
        sqlx::query("INSERT INTO recovery_codes (code_hash, professional_id) VALUES ($1, $2)")
            .bind(hash(&normalise_recovery(code)))
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(codes)
}

const WRONG_CODE: &str = "That code is not right. Check your authenticator app and try again.";

/// `POST /api/session/code`: the second step of a password sign-in.
async fn enter_code(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: axum::http::HeaderMap,
    Body(body): Body<CodeEntry>,
) -> ApiResult<Response> {
    // 410, not 401: the app treats 401 as a session that ended.
    let expired = || {
        ApiError::new(
            StatusCode::GONE,
            "Your sign-in took too long. Enter your email address and password again.",
        )
    };
    if body.pending.len() != 64 || body.code.chars().count() > 64 {
        return Err(expired());
    }
    let row: Option<(i64, i64, i64, Option<String>)> = sqlx::query_as(
        "SELECT professional_id, created_at, wrong_codes, new_secret FROM pending_sign_ins
         WHERE token_hash = $1",
    )
    .bind(hash(&body.pending))
    .fetch_optional(&state.db)
    .await?;
    let Some((id, created_at, wrong, setting_up)) = row else {
        return Err(expired());
    };
    if wrong >= WRONG_CODES_ALLOWED {
        return Err(ApiError::new(
            StatusCode::GONE,
            "You entered a wrong code too many times. Enter your email address and password again.",
        ));
    }
    if created_at < now() - PENDING_SECS {
        return Err(expired());
    }
    let Some(professional) = accounts::professional(&state.db, id)
        .await?
        .filter(|p| p.active)
    else {
        return Err(expired());
    };
    // The same limit as passwords, on its own key: codes cannot be guessed faster than passwords.
    let limit_key = format!("code:{}", professional.email);
    if let Verdict::Limited { audit } = state.rate_limit.allows(&limit_key, client).await? {
        if audit {
            state
                .audit
                .record(
                    Event::new("second_factor", "rate_limited")
                        .professional(id)
                        .client(client),
                )
                .await;
        }
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many codes tried. Wait 15 minutes and try again, or ask your administrator to check your account.",
        ));
    }
    let checked = check_code(&state.db, id, &body.code, setting_up.as_deref()).await?;
    let (outcome, first) = match checked {
        Checked::Wrong => {
            sqlx::query(
                "UPDATE pending_sign_ins SET wrong_codes = wrong_codes + 1 WHERE token_hash = $1",
            )
            .bind(hash(&body.pending))
            .execute(&state.db)
            .await?;
            state
                .audit
                .record(
                    Event::new("second_factor", "failed")
                        .professional(id)
                        .client(client),
                )
                .await;
            return Err(ApiError::new(StatusCode::UNAUTHORIZED, WRONG_CODE));
        }
        Checked::App { first: true } => ("set_up", true),
        Checked::App { first: false } => ("success", false),
        Checked::Recovery => ("recovery_code_used", false),
    };
    // The pending sign-in is used up, once: a second request with it finds nothing.
    let taken = sqlx::query("DELETE FROM pending_sign_ins WHERE token_hash = $1")
        .bind(hash(&body.pending))
        .execute(&state.db)
        .await?
        .rows_affected();
    if taken != 1 {
        return Err(expired());
    }
    state.rate_limit.succeeded(&limit_key, client).await?;
    state
        .audit
        .record(
            Event::new("second_factor", outcome)
                .actor(id)
                .client(client),
        )
        .await;
    let recovery_codes = if first {
        new_recovery_codes(&state.db, id).await?
    } else {
        Vec::new()
    };
    crate::auth::end_session_on_browser(&state, &headers, client).await?;
    let (session, token) = state.sessions.start(professional).await?;
    state
        .audit
        .record(Event::new("sign_in", "success").actor(id).client(client))
        .await;
    Ok((
        [(header::SET_COOKIE, state.sessions.cookie(&token))],
        Json(CodeAccepted {
            me: session.view(),
            recovery_codes,
        }),
    )
        .into_response())
}

/// `POST /api/professionals/{id}/reset-second-factor`: a lost phone. The person sets a new app
/// up at their next sign-in; their sessions end now.
async fn reset_second_factor(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    ClientAddr(client): ClientAddr,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    let target = crate::api::managed_target(&state, &me.professional, id).await?;
    if target.id == me.professional.id {
        return Err(ApiError::forbidden(
            "Ask another administrator to reset your own authenticator app.",
        ));
    }
    let mut tx = state.db.begin().await?;
    for table in ["second_factors", "recovery_codes", "pending_sign_ins"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE professional_id = $1"))
            .bind(target.id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    state.sessions.revoke_all(target.id).await?;
    state
        .audit
        .record(
            Event::new("second_factor_reset", "success")
                .actor(me.professional.id)
                .professional(target.id)
                .client(client),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_test_vector_sha1() {
        // RFC 6238 appendix B: secret "12345678901234567890", T = 59 s gives 94287082 (8
        // digits); its last six digits are the 6-digit code.
        let secret = Secret::from(b"12345678901234567890".to_vec()).to_base32();
        assert_eq!(code_step(&secret, "287082", 59), Some(1));
        assert_eq!(code_step(&secret, "287 082", 59), Some(1));
        // One step of drift either way, no more.
        assert_eq!(code_step(&secret, "287082", 89), Some(1));
        assert_eq!(code_step(&secret, "287082", 120), None);
        assert_eq!(code_step(&secret, "287083", 59), None);
        assert_eq!(code_step(&secret, "", 59), None);
    }

    #[test]
    fn the_set_up_key_is_drawn_as_a_qr_code() {
        let svg = qr_svg("otpauth://totp/TAC%20Planner:a%40b.org?secret=ABCDEFGHIJKLMNOP");
        assert!(svg.contains("<svg") && svg.contains("</svg>"), "{svg}");
        // Dark modules are drawn: it is not an empty frame.
        assert!(svg.matches("M").count() > 50);
    }

    #[test]
    fn recovery_codes_are_distinct_and_forgiving_to_type() {
        let a = new_recovery_code();
        assert_eq!(a.len(), 12);
        assert_ne!(a, new_recovery_code());
        assert_eq!(
            normalise_recovery(&a.to_lowercase().replace('-', " ")),
            normalise_recovery(&a)
        );
    }
}
