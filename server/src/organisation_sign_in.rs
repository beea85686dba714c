//! Signing in with one's own organisation's account: each organisation (agency) may have its
//! own OpenID provider; sign-in asks for a work email first and sends people whose email domain
//! belongs to such an organisation there (see [`crate::oidc`] for the protocol).
//!
//! Linking is by the provider's issuer and subject only. The first sign-in of an account links
//! to a professional through a one-time link an administrator sent, or through an email whose
//! domain is on the organisation's list and which the provider vouches for. Once linked, the
//! email the provider sends is never looked at again, so a changed email cannot re-link.

use crate::accounts::{self, now, Professional};
use crate::api::{ApiError, ApiResult, Body};
use crate::audit::Event;
use crate::auth::{token_from, ClientAddr, SignedIn};
use crate::oidc::{self, Attempt, ClientSettings, Identity, OidcError};
use crate::sign_in_limit::Verdict;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use shared::api::{Agency, AgencySignIn, Role, SignInLink, SignInMethod, SignInStart};
use sqlx::AnyPool;

/// Binds a sign-in at the provider to the browser that started it (against login CSRF).
/// `SameSite=Lax`: it must come back on the provider's redirect, a cross-site navigation.
const STATE_COOKIE: &str = "tac_sign_in";
/// How long someone has at their provider.
const ATTEMPT_SECS: i64 = 10 * 60;
/// How long a sign-in link works.
const LINK_DAYS: i64 = 7;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sign-in/start", post(start))
        .route("/oidc/callback", get(callback))
        .route("/oidc/invitation/{token}", get(invitation))
        .route("/agencies/{id}/sign-in", put(configure))
        .route("/professionals/{id}/sign-in-link", post(create_link))
}

fn hash(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// An organisation's provider, secret included (never sent out).
struct Provider {
    agency_id: i64,
    issuer: String,
    client_id: String,
    client_secret: String,
}

async fn provider_of(pool: &AnyPool, agency_id: i64) -> Result<Option<Provider>, sqlx::Error> {
    let row: Option<(String, String, String)> = sqlx::query_as(
        "SELECT issuer, client_id, client_secret FROM identity_providers WHERE agency_id = $1",
    )
    .bind(agency_id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(issuer, client_id, client_secret)| Provider {
        agency_id,
        issuer,
        client_id,
        client_secret,
    }))
}

/// Whether this agency's people sign in at a provider (and so not with a password).
pub async fn has_provider(pool: &AnyPool, agency_id: i64) -> Result<bool, sqlx::Error> {
    Ok(provider_of(pool, agency_id).await?.is_some())
}

/// The organisation whose own sign-in this email's domain belongs to, if any.
pub async fn domain_claimed_by(pool: &AnyPool, email: &str) -> Result<Option<i64>, sqlx::Error> {
    let Some(domain) = domain_of(email) else {
        return Ok(None);
    };
    sqlx::query_scalar(
        "SELECT d.agency_id FROM identity_provider_domains d
         JOIN identity_providers p ON p.agency_id = d.agency_id WHERE d.domain = $1",
    )
    .bind(domain)
    .fetch_optional(pool)
    .await
}

/// Whether this email's domain belongs to an organisation with its own sign-in.
pub async fn domain_has_provider(pool: &AnyPool, email: &str) -> Result<bool, sqlx::Error> {
    Ok(domain_claimed_by(pool, email).await?.is_some())
}

fn domain_of(email: &str) -> Option<String> {
    let (user, domain) = email.trim().rsplit_once('@')?;
    (!user.is_empty() && domain.contains('.')).then(|| domain.to_ascii_lowercase())
}

/// Where the provider sends people back to.
fn redirect_uri(state: &AppState, headers: &HeaderMap) -> String {
    let base = match &state.public_url {
        Some(url) => url.to_string(),
        None => {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("127.0.0.1");
            let scheme = if state.sessions.secure_cookies {
                "https"
            } else {
                "http"
            };
            format!("{scheme}://{host}")
        }
    };
    format!("{base}/api/oidc/callback")
}

fn state_cookie(state: &AppState, value: &str, max_age: i64) -> String {
    let secure = if state.sessions.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    format!(
        "{STATE_COOKIE}={value}; HttpOnly; SameSite=Lax; Path=/api/oidc; Max-Age={max_age}{secure}"
    )
}

/// 424, not 502: the app takes a 502 to mean the relay itself is down.
fn unreachable_provider() -> ApiError {
    ApiError::new(
        StatusCode::FAILED_DEPENDENCY,
        "We could not reach your organisation's sign-in service. Try again in a few minutes.",
    )
}

/// Starts a sign-in at the provider: keeps state, nonce and verifier; returns where to go and
/// the cookie that ties the return to this browser.
async fn begin(
    state: &AppState,
    headers: &HeaderMap,
    provider: &Provider,
    invitation: Option<&str>,
    login_hint: Option<&str>,
    previous_session: Option<i64>,
    client: Option<std::net::IpAddr>,
) -> ApiResult<(String, String)> {
    let Ok(discovery) = oidc::discover(&state.http, &provider.issuer).await else {
        state
            .audit
            .record(
                Event::new("provider_sign_in", "provider_unreachable")
                    .agency(provider.agency_id)
                    .client(client),
            )
            .await;
        return Err(unreachable_provider());
    };
    let attempt = Attempt::new();
    let url = attempt
        .authorization_url(
            &discovery,
            &provider.client_id,
            &redirect_uri(state, headers),
            login_hint,
        )
        .map_err(|_| unreachable_provider())?;
    sqlx::query("DELETE FROM provider_sign_ins WHERE created_at < $1")
        .bind(now() - ATTEMPT_SECS)
        .execute(&state.db)
        .await?;
    sqlx::query(
        "INSERT INTO provider_sign_ins
             (state_hash, agency_id, nonce, code_verifier, invitation, previous_session, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(hash(&attempt.state))
    .bind(provider.agency_id)
    .bind(&attempt.nonce)
    .bind(&attempt.code_verifier)
    .bind(invitation.map(hash))
    .bind(previous_session)
    .bind(now())
    .execute(&state.db)
    .await?;
    Ok((url, state_cookie(state, &attempt.state, ATTEMPT_SECS)))
}

/// `POST /api/sign-in/start`: password here, or off to the organisation's provider.
async fn start(
    State(state): State<AppState>,
    headers: HeaderMap,
    ClientAddr(client): ClientAddr,
    Body(body): Body<SignInStart>,
) -> ApiResult<Response> {
    if body.email.chars().count() > 254 {
        return Err(ApiError::bad_request(
            "That email address is too long. Check it and try again.",
        ));
    }
    let Some(domain) = domain_of(&body.email) else {
        return Err(ApiError::bad_request(
            "Enter your work email address, like name@example.org.",
        ));
    };
    // A person's own organisation decides; for an address nobody has yet (a first sign-in
    // that links by its verified email), the organisation that owns its domain.
    let agency = match accounts::by_email(&state.db, &body.email).await? {
        Some((p, _)) => Some(p.agency_id),
        None => {
            sqlx::query_scalar("SELECT agency_id FROM identity_provider_domains WHERE domain = $1")
                .bind(&domain)
                .fetch_optional(&state.db)
                .await?
        }
    };
    let provider = match agency {
        Some(id) => provider_of(&state.db, id).await?,
        None => None,
    };
    let Some(provider) = provider else {
        return Ok(Json(SignInMethod::Password).into_response());
    };
    // Each start writes a row and asks the provider: limited like password attempts.
    if let Verdict::Limited { .. } = state
        .provider_starts
        .allows(body.email.trim(), client)
        .await?
    {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many attempts to sign in. Wait 15 minutes and try again.",
        ));
    }
    let previous = session_on_browser(&state, &headers).await?;
    let hint = Some(body.email.trim());
    let (url, cookie) = begin(&state, &headers, &provider, None, hint, previous, client).await?;
    Ok((
        [(header::SET_COOKIE, cookie)],
        Json(SignInMethod::Provider { url }),
    )
        .into_response())
}

/// `GET /api/oidc/invitation/{token}`: the one-time link an administrator sent; off to the
/// provider, and the link is used up only when the sign-in links.
async fn invitation(
    State(state): State<AppState>,
    headers: HeaderMap,
    ClientAddr(client): ClientAddr,
    Path(token): Path<String>,
) -> ApiResult<Response> {
    let row: Option<(i64, i64)> = sqlx::query_as(
        "SELECT i.professional_id, p.agency_id FROM sign_in_invitations i
         JOIN professionals p ON p.id = i.professional_id
         WHERE i.token_hash = $1 AND i.used_at IS NULL AND i.expires_at > $2 AND p.active = 1",
    )
    .bind(hash(&token))
    .bind(now())
    .fetch_optional(&state.db)
    .await?;
    let provider = match row {
        Some((_, agency)) => provider_of(&state.db, agency).await?,
        None => None,
    };
    let Some(provider) = provider else {
        state
            .audit
            .record(Event::new("sign_in_link", "refused_expired").client(client))
            .await;
        return Ok(back_to_app("link_expired"));
    };
    let previous = session_on_browser(&state, &headers).await?;
    let invited = Some(token.as_str());
    let Ok((url, cookie)) =
        begin(&state, &headers, &provider, invited, None, previous, client).await
    else {
        return Ok(back_to_app("failed"));
    };
    Ok((
        StatusCode::SEE_OTHER,
        [(header::LOCATION, url), (header::SET_COOKIE, cookie)],
    )
        .into_response())
}

/// The session this browser has now, if its cookie came with the request.
async fn session_on_browser(state: &AppState, headers: &HeaderMap) -> ApiResult<Option<i64>> {
    Ok(match token_from(headers) {
        // A leaver's too: it ends when someone signs in on this browser.
        Some(token) => state
            .sessions
            .find_handing_over(&token)
            .await?
            .map(|s| s.id),
        None => None,
    })
}

/// A sign-in that did not work goes back to the app, which says why in plain words.
fn back_to_app(reason: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, format!("/?sign_in={reason}"))],
    )
        .into_response()
}

#[derive(Deserialize)]
struct Returned {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
}

/// A sign-in under way at a provider, as kept until it returns.
#[derive(sqlx::FromRow)]
struct Pending {
    agency_id: i64,
    nonce: String,
    code_verifier: String,
    /// SHA-256 of the one-time link it started from, if any.
    invitation: Option<String>,
    /// The session this browser had when it set off (its SameSite=Strict cookie does not come
    /// back with the provider's cross-site redirect): it ends when the sign-in succeeds.
    previous_session: Option<i64>,
    created_at: i64,
}

/// How a returning sign-in ended, for the audit (ids only) and the person.
enum Outcome {
    SignedIn(Professional, &'static str),
    Refused(&'static str, &'static str),
}

/// `GET /api/oidc/callback`: the provider sends the person back with a code.
async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    ClientAddr(client): ClientAddr,
    Query(returned): Query<Returned>,
) -> ApiResult<Response> {
    let clear_state = state_cookie(&state, "", 0);
    let cookie_state = crate::auth::cookie(&headers, STATE_COOKIE);
    let given = returned.state.unwrap_or_default();
    // The state must be the one this browser was given; then it is used up, once.
    let ours = !given.is_empty() && given.len() <= 128 && cookie_state.as_deref() == Some(&given);
    let attempt: Option<Pending> = if ours {
        sqlx::query_as(
            "DELETE FROM provider_sign_ins WHERE state_hash = $1
             RETURNING agency_id, nonce, code_verifier, invitation, previous_session, created_at",
        )
        .bind(hash(&given))
        .fetch_optional(&state.db)
        .await?
    } else {
        None
    };
    let agency = attempt.as_ref().map(|a| a.agency_id);
    let previous_session = attempt.as_ref().and_then(|a| a.previous_session);
    let outcome = match attempt {
        Some(a) if a.created_at >= now() - ATTEMPT_SECS => match (returned.error, returned.code) {
            (None, Some(code)) => finish(&state, &headers, &a, &code).await?,
            // The provider said no (a disabled account, a cancelled sign-in).
            _ => Outcome::Refused("refused_by_provider", "refused"),
        },
        _ => Outcome::Refused("refused_state", "expired"),
    };
    let event = |outcome| {
        let e = Event::new("provider_sign_in", outcome).client(client);
        match agency {
            Some(a) => e.agency(a),
            None => e,
        }
    };
    let (professional, how) = match outcome {
        Outcome::Refused(audit, reason) => {
            state.audit.record(event(audit)).await;
            let mut r = back_to_app(reason);
            if let Ok(v) = HeaderValue::from_str(&clear_state) {
                r.headers_mut().append(header::SET_COOKIE, v);
            }
            return Ok(r);
        }
        Outcome::SignedIn(p, how) => (p, how),
    };
    state
        .audit
        .record(
            event(how)
                .actor(professional.id)
                .professional(professional.id),
        )
        .await;
    crate::auth::end_session_on_browser(&state, &headers, client).await?;
    if let Some(previous) = previous_session {
        let owner: Option<i64> = sqlx::query_scalar(
            "SELECT professional_id FROM sessions WHERE id = $1 AND revoked_at IS NULL",
        )
        .bind(previous)
        .fetch_optional(&state.db)
        .await?;
        if let Some(owner) = owner {
            state.sessions.revoke(previous).await?;
            state
                .audit
                .record(
                    Event::new("sign_out", "replaced")
                        .actor(owner)
                        .client(client),
                )
                .await;
        }
    }
    let id = professional.id;
    let (_, token) = state.sessions.start(professional).await?;
    state
        .audit
        .record(Event::new("sign_in", "success").actor(id).client(client))
        .await;
    let mut response = Html(SIGNED_IN_PAGE).into_response();
    for cookie in [state.sessions.cookie(&token), clear_state] {
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    Ok(response)
}

/// Goes on to the app from our own origin, so the session cookie (SameSite=Strict) is sent:
/// a redirect straight from the provider's site would count as cross-site.
const SIGNED_IN_PAGE: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta http-equiv=\"refresh\" content=\"0;url=/?signed_in\"><title>Signed in - TAC Planner</title></head>\
<body><p>You are signed in. <a href=\"/?signed_in\">Continue to TAC Planner</a>.</p></body></html>";

/// Redeems the code, checks the ID token and finds (or links) the professional.
async fn finish(
    state: &AppState,
    headers: &HeaderMap,
    pending: &Pending,
    code: &str,
) -> ApiResult<Outcome> {
    let agency_id = pending.agency_id;
    let Some(provider) = provider_of(&state.db, agency_id).await? else {
        return Ok(Outcome::Refused("refused_no_provider", "failed"));
    };
    let checked = check_with_provider(
        state,
        headers,
        &provider,
        code,
        &pending.nonce,
        &pending.code_verifier,
    )
    .await;
    let identity = match checked {
        Ok(identity) => identity,
        Err(OidcError::BadToken(why)) => {
            tracing::warn!(agency_id, why, "an ID token was refused");
            return Ok(Outcome::Refused("refused_token", "failed"));
        }
        Err(_) => return Ok(Outcome::Refused("provider_unreachable", "failed")),
    };
    link(
        &state.db,
        agency_id,
        &identity,
        pending.invitation.as_deref(),
    )
    .await
}

async fn check_with_provider(
    state: &AppState,
    headers: &HeaderMap,
    provider: &Provider,
    code: &str,
    nonce: &str,
    verifier: &str,
) -> Result<Identity, OidcError> {
    let discovery = oidc::discover(&state.http, &provider.issuer).await?;
    let redirect = redirect_uri(state, headers);
    let client = ClientSettings {
        client_id: &provider.client_id,
        client_secret: &provider.client_secret,
        redirect_uri: &redirect,
    };
    let id_token = oidc::redeem(&state.http, &discovery, &client, code, verifier).await?;
    let keys = oidc::keys(&state.http, &discovery).await?;
    oidc::verify_id_token(
        &id_token,
        &keys,
        &provider.issuer,
        &provider.client_id,
        nonce,
    )
}

/// Finds the professional an identity belongs to, linking on first sign-in only through an
/// invitation (its hash) or a verified email on the organisation's domains.
async fn link(
    pool: &AnyPool,
    agency_id: i64,
    identity: &Identity,
    invitation_hash: Option<&str>,
) -> ApiResult<Outcome> {
    let linked: Option<i64> = sqlx::query_scalar(
        "SELECT professional_id FROM external_identities WHERE issuer = $1 AND subject = $2",
    )
    .bind(&identity.issuer)
    .bind(&identity.subject)
    .fetch_optional(pool)
    .await?;
    if let Some(id) = linked {
        return Ok(match accounts::professional(pool, id).await? {
            Some(p) if p.active && p.agency_id == agency_id => Outcome::SignedIn(p, "success"),
            Some(p) if !p.active => Outcome::Refused("refused_inactive", "refused"),
            _ => Outcome::Refused("refused_other_organisation", "not_linked"),
        });
    }
    // First sign-in of this account: through the invitation it came with, if any.
    if let Some(invitation) = invitation_hash {
        let invited: Option<i64> = sqlx::query_scalar(
            "SELECT professional_id FROM sign_in_invitations
             WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(invitation)
        .bind(now())
        .fetch_optional(pool)
        .await?;
        let Some(id) = invited else {
            return Ok(Outcome::Refused("refused_link_used", "link_expired"));
        };
        let Some(p) = accounts::professional(pool, id).await? else {
            return Ok(Outcome::Refused("refused_link_used", "link_expired"));
        };
        if !p.active || p.agency_id != agency_id {
            return Ok(Outcome::Refused("refused_inactive", "refused"));
        }
        let mut tx = pool.begin().await?;
        let used = sqlx::query(
            "UPDATE sign_in_invitations SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL",
        )
        .bind(now())
        .bind(invitation)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if used != 1 {
            return Ok(Outcome::Refused("refused_link_used", "link_expired"));
        }
        // A new link replaces the person's old account at this provider (one recreated at
        // their organisation, say): the administrator's link is the authority.
        sqlx::query("DELETE FROM external_identities WHERE professional_id = $1 AND issuer = $2")
            .bind(p.id)
            .bind(&identity.issuer)
            .execute(&mut *tx)
            .await?;
        if !insert_link(&mut tx, identity, p.id).await? {
            return Ok(Outcome::Refused("refused_already_linked", "not_linked"));
        }
        tx.commit().await?;
        return Ok(Outcome::SignedIn(p, "linked_by_invitation"));
    }
    // Or through an email on the organisation's own domains that the provider vouches for.
    let Some(email) = identity
        .email
        .as_deref()
        .filter(|_| identity.email_verified)
    else {
        return Ok(Outcome::Refused("refused_unverified_email", "not_linked"));
    };
    let on_list: Option<i64> = match domain_of(email) {
        Some(domain) => sqlx::query_scalar(
            "SELECT agency_id FROM identity_provider_domains WHERE domain = $1 AND agency_id = $2",
        )
        .bind(domain)
        .bind(agency_id)
        .fetch_optional(pool)
        .await?,
        None => None,
    };
    if on_list.is_none() {
        return Ok(Outcome::Refused("refused_foreign_domain", "not_linked"));
    }
    let Some((p, _)) = accounts::by_email(pool, email).await? else {
        return Ok(Outcome::Refused("refused_unknown", "not_linked"));
    };
    if !p.active {
        return Ok(Outcome::Refused("refused_inactive", "refused"));
    }
    if p.agency_id != agency_id {
        return Ok(Outcome::Refused("refused_other_organisation", "not_linked"));
    }
    let mut tx = pool.begin().await?;
    if !insert_link(&mut tx, identity, p.id).await? {
        return Ok(Outcome::Refused("refused_already_linked", "not_linked"));
    }
    tx.commit().await?;
    Ok(Outcome::SignedIn(p, "linked_by_domain"))
}

/// Links, unless this professional already has another account at this provider (then a
/// different account claiming their email must not take them over).
async fn insert_link(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    identity: &Identity,
    professional_id: i64,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "INSERT INTO external_identities (issuer, subject, professional_id, linked_at)
         VALUES ($1, $2, $3, $4)",
    )
    .bind(&identity.issuer)
    .bind(&identity.subject)
    .bind(professional_id)
    .bind(now())
    .execute(&mut **tx)
    .await;
    match result {
        Ok(_) => Ok(true),
        Err(sqlx::Error::Database(d)) if d.is_unique_violation() => Ok(false),
        Err(e) => Err(e),
    }
}

/// `PUT /api/agencies/{id}/sign-in`: a system administrator sets how an organisation's people
/// sign in. The provider is asked for its details before anything is saved.
async fn configure(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    ClientAddr(client): ClientAddr,
    Path(agency_id): Path<i64>,
    Body(body): Body<AgencySignIn>,
) -> ApiResult<Json<Agency>> {
    if me.professional.role != Role::SystemAdmin {
        return Err(ApiError::forbidden(
            "Only a system administrator can change how an organisation signs in.",
        ));
    }
    if accounts::agency(&state.db, agency_id).await?.is_none() {
        return Err(ApiError::not_found("agency"));
    }
    let existing = provider_of(&state.db, agency_id).await?;
    // Everything is checked, the provider asked included, before the database is written:
    // a slow provider must not hold the write lock that every sign-in and sync needs.
    let provider = match body.provider {
        None => None,
        Some(settings) => {
            Some(checked_provider(&state, agency_id, settings, existing.as_ref()).await?)
        }
    };
    let mut tx = state.db.begin().await?;
    sqlx::query("UPDATE agencies SET second_factor_required = $1 WHERE id = $2")
        .bind(i64::from(body.second_factor_required))
        .bind(agency_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM identity_provider_domains WHERE agency_id = $1")
        .bind(agency_id)
        .execute(&mut *tx)
        .await?;
    match provider {
        None => {
            sqlx::query("DELETE FROM identity_providers WHERE agency_id = $1")
                .bind(agency_id)
                .execute(&mut *tx)
                .await?;
        }
        Some(Checked {
            issuer,
            client_id,
            secret,
            domains,
        }) => {
            sqlx::query("DELETE FROM identity_providers WHERE agency_id = $1")
                .bind(agency_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO identity_providers (agency_id, issuer, client_id, client_secret, updated_at)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(agency_id)
            .bind(&issuer)
            .bind(&client_id)
            .bind(&secret)
            .bind(now())
            .execute(&mut *tx)
            .await?;
            for d in &domains {
                let taken: Option<i64> = sqlx::query_scalar(
                    "SELECT agency_id FROM identity_provider_domains WHERE domain = $1",
                )
                .bind(d)
                .fetch_optional(&mut *tx)
                .await?;
                if taken.is_some() {
                    return Err(ApiError::new(
                        StatusCode::BAD_REQUEST,
                        format!("{d} is already used by another organisation."),
                    ));
                }
                sqlx::query(
                    "INSERT INTO identity_provider_domains (domain, agency_id) VALUES ($1, $2)",
                )
                .bind(d)
                .bind(agency_id)
                .execute(&mut *tx)
                .await?;
            }
        }
    }
    tx.commit().await?;
    state
        .audit
        .record(
            Event::new("agency_sign_in_changed", "success")
                .actor(me.professional.id)
                .agency(agency_id)
                .client(client),
        )
        .await;
    let agency = accounts::agency(&state.db, agency_id)
        .await?
        .ok_or_else(|| ApiError::not_found("agency"))?;
    Ok(Json(agency))
}

/// `POST /api/professionals/{id}/sign-in-link`: a one-time link for a person's first sign-in
/// with their organisation's account.
async fn create_link(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> ApiResult<(StatusCode, Json<SignInLink>)> {
    // An administrator's act, never one's own: a link links whichever provider account
    // follows it, so a stolen session must not be able to mint one for itself.
    if !me.professional.role.is_admin() || id == me.professional.id {
        return Err(ApiError::forbidden(
            "Ask an administrator for a sign-in link.",
        ));
    }
    let target = crate::api::managed_target(&state, &me.professional, id).await?;
    if !target.active {
        return Err(ApiError::bad_request("That account has been closed."));
    }
    if !has_provider(&state.db, target.agency_id).await? {
        return Err(ApiError::bad_request(
            "Their organisation signs in with passwords. Set up its own sign-in first.",
        ));
    }
    let token = hex::encode(accounts::random_bytes());
    let expires_at = now() + LINK_DAYS * 86_400;
    sqlx::query(
        "INSERT INTO sign_in_invitations (token_hash, professional_id, created_by, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(hash(&token))
    .bind(target.id)
    .bind(me.professional.id)
    .bind(now())
    .bind(expires_at)
    .execute(&state.db)
    .await?;
    state
        .audit
        .record(
            Event::new("sign_in_link_created", "success")
                .actor(me.professional.id)
                .professional(target.id)
                .client(client),
        )
        .await;
    let base = redirect_uri(&state, &headers);
    let base = base.trim_end_matches("/api/oidc/callback");
    Ok((
        StatusCode::CREATED,
        Json(SignInLink {
            link: format!("{base}/api/oidc/invitation/{token}"),
            expires_at: accounts::rfc3339(expires_at),
        }),
    ))
}

/// A provider's settings as checked: the issuer answers as an OpenID provider.
struct Checked {
    issuer: String,
    client_id: String,
    secret: String,
    domains: Vec<String>,
}

async fn checked_provider(
    state: &AppState,
    agency_id: i64,
    settings: shared::api::ProviderSettings,
    existing: Option<&Provider>,
) -> ApiResult<Checked> {
    oidc::check_issuer(&settings.issuer)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.to_string()))?;
    // As the provider writes it: the ID token's `iss` must match exactly.
    let issuer = settings.issuer.trim().to_string();
    let client_id = settings.client_id.trim().to_string();
    if client_id.is_empty() || client_id.len() > 512 {
        return Err(ApiError::bad_request(
            "Enter the client id the provider gave you for TAC Planner.",
        ));
    }
    let secret = match settings.client_secret.trim() {
        "" => match &existing {
            Some(p) => p.client_secret.clone(),
            None => {
                return Err(ApiError::bad_request(
                    "Enter the client secret the provider gave you for TAC Planner.",
                ))
            }
        },
        s => s.to_string(),
    };
    let mut domains = Vec::new();
    for d in &settings.email_domains {
        let d = d.trim().trim_start_matches('@').to_ascii_lowercase();
        if d.is_empty() {
            continue;
        }
        if !d.contains('.') || d.len() > 253 || d.chars().any(|c| c.is_whitespace() || c == '@') {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("'{d}' is not an email domain. Enter domains like council.gov.uk."),
            ));
        }
        domains.push(d);
    }
    domains.sort();
    domains.dedup();
    if domains.is_empty() {
        return Err(ApiError::bad_request(
            "Enter at least one email domain, like council.gov.uk: people are sent to this sign-in by their email address.",
        ));
    }
    for d in &domains {
        let others: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM professionals
             WHERE agency_id <> $1 AND lower(substr(email, length(email) - length($2) + 1)) = $2",
        )
        .bind(agency_id)
        .bind(format!("@{d}"))
        .fetch_one(&state.db)
        .await?;
        if others > 0 {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("People in other organisations have {d} email addresses, so it cannot send everyone to this organisation's sign-in. Enter a domain only this organisation uses."),
            ));
        }
    }
    oidc::discover(&state.http, &issuer).await.map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("{e} Check the address and try again."),
        )
    })?;
    Ok(Checked {
        issuer,
        client_id,
        secret,
        domains,
    })
}
