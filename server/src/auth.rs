//! Signing in: sessions carried in an HttpOnly cookie, failed-attempt limits, and the
//! [`SignedIn`] extractor every protected route uses.
//!
//! The cookie holds a random 32-byte token; the database keeps only its SHA-256, so a copy of
//! the database cannot be used to sign in. A session ends when it expires, when its owner signs
//! out, or when an administrator revokes it (lost laptop); open sync connections watch for that
//! through [`Sessions::ended`]. When an administrator deactivates its owner (a leaver), it stops
//! working for everything but handing over the device's copies ([`HandingOver`]).

use crate::accounts::{self, now, Professional};
use crate::api::ApiError;
use crate::AppState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use sha2::{Digest, Sha256};
use shared::api::Me;
use sqlx::AnyPool;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

pub const COOKIE: &str = "tac_session";

pub const SESSION_ENDED: &str = "Your session has ended. Sign in again.";

/// How long after signing in on a device its session may still hand over cases, if its owner
/// leaves the service: as long as someone removed from one case may (90 days).
pub const HANDOVER_SECS: i64 = crate::departure::FINAL_EDITS_WINDOW_SECS;

/// The peer id prefix bound to a professional, `p<id>-` (one definition, shared with the app,
/// which checks presence senders with it). The dash ends the number, so `p1-` is never a
/// prefix of `p12-...`.
pub use shared::api::peer_prefix;

/// The professional a (transport-verified) peer id belongs to.
pub fn professional_of_peer(peer_id: &str) -> Option<i64> {
    shared::authorship::professional_of_peer(peer_id)
}

/// A valid session and whose it is.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: i64,
    pub expires_at: i64,
    pub professional: Professional,
}

impl Session {
    /// The sign-in answer (and `GET /api/session`).
    pub fn view(&self) -> Me {
        let p = &self.professional;
        Me {
            id: p.id,
            name: p.name.clone(),
            email: p.email.clone(),
            agency_id: p.agency_id,
            agency_name: p.agency_name.clone(),
            role: p.role,
            peer_prefix: peer_prefix(p.id),
            expires_at: accounts::rfc3339(self.expires_at),
        }
    }
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Session storage plus a signal that some session was revoked.
#[derive(Clone)]
pub struct Sessions {
    pool: AnyPool,
    pub lifetime: Duration,
    pub secure_cookies: bool,
    /// Bumped whenever sessions are revoked, so open sync connections re-check theirs.
    revoked: Arc<watch::Sender<u64>>,
    /// The other relays sharing the database, if any.
    relays: Arc<std::sync::OnceLock<crate::cluster::Tell>>,
}

impl Sessions {
    pub fn new(pool: AnyPool, lifetime: Duration, secure_cookies: bool) -> Self {
        Self {
            pool,
            lifetime,
            secure_cookies,
            revoked: Arc::new(watch::Sender::new(0)),
            relays: Arc::default(),
        }
    }

    /// A new session; returns it and the token for the cookie.
    pub async fn start(
        &self,
        professional: Professional,
    ) -> Result<(Session, String), sqlx::Error> {
        let token = hex::encode(accounts::random_bytes());
        let created = now();
        let expires_at = created + self.lifetime.as_secs() as i64;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO sessions (token_hash, professional_id, created_at, expires_at)
             VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(token_hash(&token))
        .bind(professional.id)
        .bind(created)
        .bind(expires_at)
        .fetch_one(&self.pool)
        .await?;
        Ok((
            Session {
                id,
                expires_at,
                professional,
            },
            token,
        ))
    }

    /// The live session for a token: not expired, not revoked, its professional active.
    pub async fn find(&self, token: &str) -> Result<Option<Session>, sqlx::Error> {
        // No session began after the end of time: a leaver's never qualifies.
        self.find_since(token, i64::MAX).await
    }

    /// A live session, or one of someone who has since left the service (deactivated) that
    /// was not revoked and began within [`HANDOVER_SECS`], expired or not: see [`HandingOver`].
    pub async fn find_handing_over(&self, token: &str) -> Result<Option<Session>, sqlx::Error> {
        self.find_since(token, now() - HANDOVER_SECS).await
    }

    /// Whose session `token` was, if they have since left the service, however old or
    /// revoked: their device is told to remove what it holds (see `GET /api/leaving`).
    pub async fn closed_account(&self, token: &str) -> Result<Option<i64>, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT s.professional_id FROM sessions s
             JOIN professionals p ON p.id = s.professional_id
             WHERE s.token_hash = $1 AND p.active = 0",
        )
        .bind(token_hash(token))
        .fetch_optional(&self.pool)
        .await
    }

    /// A live session, or a leaver's begun after `leaver_since`.
    async fn find_since(
        &self,
        token: &str,
        leaver_since: i64,
    ) -> Result<Option<Session>, sqlx::Error> {
        let row: Option<(i64, i64, i64)> = sqlx::query_as(
            "SELECT s.id, s.expires_at, s.professional_id FROM sessions s
             JOIN professionals p ON p.id = s.professional_id
             WHERE s.token_hash = $1 AND s.revoked_at IS NULL
               AND (p.active = 1 AND s.expires_at > $2 OR p.active = 0 AND s.created_at > $3)",
        )
        .bind(token_hash(token))
        .bind(now())
        .bind(leaver_since)
        .fetch_optional(&self.pool)
        .await?;
        let Some((id, expires_at, professional_id)) = row else {
            return Ok(None);
        };
        Ok(accounts::professional(&self.pool, professional_id)
            .await?
            .map(|professional| Session {
                id,
                expires_at,
                professional,
            }))
    }

    async fn is_live(&self, session_id: i64) -> Result<bool, sqlx::Error> {
        let live: Option<i64> = sqlx::query_scalar(
            "SELECT s.id FROM sessions s JOIN professionals p ON p.id = s.professional_id
             WHERE s.id = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 AND p.active = 1",
        )
        .bind(session_id)
        .bind(now())
        .fetch_optional(&self.pool)
        .await?;
        Ok(live.is_some())
    }

    pub async fn revoke(&self, session_id: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now())
            .bind(session_id)
            .execute(&self.pool)
            .await?;
        self.revoked.send_modify(|n| *n += 1);
        self.tell_relays().await;
        Ok(())
    }

    /// Ends every session of a professional (lost laptop, leaver).
    pub async fn revoke_all(&self, professional_id: i64) -> Result<u64, sqlx::Error> {
        let n = sqlx::query(
            "UPDATE sessions SET revoked_at = $1 WHERE professional_id = $2 AND revoked_at IS NULL",
        )
        .bind(now())
        .bind(professional_id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        self.revoked.send_modify(|n| *n += 1);
        self.tell_relays().await;
        Ok(n)
    }

    /// Someone has left the service (deactivated): their sessions stop working for anything
    /// but handing over ([`HandingOver`]), and open connections, here and on the other relays,
    /// re-check theirs and close.
    pub async fn owner_left(&self) {
        self.revoked.send_modify(|n| *n += 1);
        self.tell_relays().await;
    }

    /// From now on, tells the other relays sharing the database when sessions end here.
    pub fn tell_relays_with(&self, tell: crate::cluster::Tell) {
        let _ = self.relays.set(tell);
    }

    async fn tell_relays(&self) {
        if let Some(tell) = self.relays.get() {
            // Logged if it fails; connections elsewhere still end at their session's expiry,
            // and each request checks the database.
            let _ = tell.send(crate::cluster::SESSIONS_CHANNEL, "revoked").await;
        }
    }

    /// Another relay ended sessions (or may have): open connections check theirs.
    pub fn heard(&self) {
        self.revoked.send_modify(|n| *n += 1);
    }

    /// Resolves when the session expires or is revoked (or its owner deactivated).
    pub async fn ended(&self, session_id: i64, expires_at: i64) {
        let mut revoked = self.revoked.subscribe();
        // Revoked before we subscribed (e.g. while the socket was upgrading)?
        if !self.is_live(session_id).await.unwrap_or(false) {
            return;
        }
        let left = (expires_at - now()).max(0) as u64;
        let expiry = tokio::time::sleep(Duration::from_secs(left));
        tokio::pin!(expiry);
        loop {
            tokio::select! {
                _ = &mut expiry => return,
                changed = revoked.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    // Deny on a database error: a connection we cannot vouch for should end.
                    if !self.is_live(session_id).await.unwrap_or(false) {
                        return;
                    }
                }
            }
        }
    }

    /// `Set-Cookie` for a new session. The browser keeps it for [`HANDOVER_SECS`] beyond the
    /// session's end: it is good for nothing then unless its owner leaves the service, when
    /// it still lets the device hand over ([`HandingOver`]); a laptop left in a drawer when its
    /// owner left the council empties itself the next time it is opened.
    pub fn cookie(&self, token: &str) -> String {
        let secure = if self.secure_cookies { "; Secure" } else { "" };
        format!(
            "{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{secure}",
            self.lifetime.as_secs() + HANDOVER_SECS as u64
        )
    }

    /// `Set-Cookie` that removes the session cookie.
    pub fn clear_cookie(&self) -> String {
        let secure = if self.secure_cookies { "; Secure" } else { "" };
        format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{secure}")
    }
}

/// A cookie's value from the request, if sent.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.trim().to_string())
}

/// The session token from the request's cookies, if any.
pub fn token_from(headers: &HeaderMap) -> Option<String> {
    cookie(headers, COOKIE).filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A session already on this browser (someone else's, or an earlier sign-in) ends when someone
/// signs in on it, whichever way they sign in.
pub async fn end_session_on_browser(
    state: &AppState,
    headers: &HeaderMap,
    client: Option<IpAddr>,
) -> Result<(), sqlx::Error> {
    if let Some(token) = token_from(headers) {
        // A leaver's session that could still hand over ends too.
        if let Some(previous) = state.sessions.find_handing_over(&token).await? {
            state.sessions.revoke(previous.id).await?;
            state
                .audit
                .record(
                    crate::audit::Event::new("sign_out", "replaced")
                        .actor(previous.professional.id)
                        .client(client),
                )
                .await;
        }
    }
    Ok(())
}

/// The signed-in professional; rejects with 401 "Your session has ended" otherwise.
pub struct SignedIn(pub Session);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = token_from(&parts.headers).ok_or_else(ApiError::session_ended)?;
        match state.sessions.find(&token).await? {
            Some(session) => Ok(SignedIn(session)),
            None => Err(ApiError::session_ended()),
        }
    }
}

/// The signed-in professional, or someone who has left the service (deactivated) on a device
/// whose session was not revoked and began within [`HANDOVER_SECS`], even if it has expired.
/// Only the routes by which a device hands over its last edits and says its copies are gone
/// take it, so a leaver's laptop empties itself without losing what was typed on it. An
/// administrator who signs them out everywhere (a lost laptop) ends this too.
pub struct HandingOver(pub Session);

impl FromRequestParts<AppState> for HandingOver {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = token_from(&parts.headers).ok_or_else(ApiError::session_ended)?;
        match state.sessions.find_handing_over(&token).await? {
            Some(session) => Ok(HandingOver(session)),
            None => Err(ApiError::session_ended()),
        }
    }
}

/// Whose device this is, for a device that may be a leaver's: a session that may hand over
/// ([`HandingOver`]: a live one, or a leaver's begun within [`HANDOVER_SECS`]), or any session
/// of someone who has left the service, however old or revoked, whose device may then only
/// remove what it holds. Only `GET /api/leaving` and the report that a copy was removed take
/// it.
pub struct DeviceOwner {
    pub professional_id: i64,
    /// The owner's account is open.
    pub active: bool,
    /// The session may hand over (else its owner left, and it may only remove copies).
    pub may_hand_over: bool,
}

impl FromRequestParts<AppState> for DeviceOwner {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = token_from(&parts.headers).ok_or_else(ApiError::session_ended)?;
        if let Some(session) = state.sessions.find_handing_over(&token).await? {
            return Ok(DeviceOwner {
                professional_id: session.professional.id,
                active: session.professional.active,
                may_hand_over: true,
            });
        }
        match state.sessions.closed_account(&token).await? {
            Some(professional_id) => Ok(DeviceOwner {
                professional_id,
                active: false,
                may_hand_over: false,
            }),
            None => Err(ApiError::session_ended()),
        }
    }
}

/// The client's address: the connection's, or behind a trusted reverse proxy the one it
/// reports (see [`crate::proxy`]). `None` if the server was not started with connect info.
pub struct ClientAddr(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // Forwarded by another relay of this service: the browser's address is its word.
        if let Some(cluster) = state.cluster.as_ref().filter(|c| c.vouches(&parts.headers)) {
            return Ok(ClientAddr(cluster.client(&parts.headers)));
        }
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| state.proxies.client(c.0.ip(), &parts.headers)),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_ids_map_back_to_their_professional_only() {
        assert_eq!(professional_of_peer("p12-abc"), Some(12));
        assert_eq!(
            professional_of_peer(&format!("{}xyz", peer_prefix(7))),
            Some(7)
        );
        assert_eq!(professional_of_peer("p12abc"), None);
        assert_eq!(professional_of_peer("p-1-abc"), None);
        assert_eq!(professional_of_peer("p012-abc"), None);
        assert_eq!(professional_of_peer("q12-abc"), None);
        assert!(!"p12-x".starts_with(&peer_prefix(1)));
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        let token = "ab".repeat(32);
        h.insert(
            header::COOKIE,
            format!("a=1; {COOKIE}={token}; b=2").parse().unwrap(),
        );
        assert_eq!(token_from(&h), Some(token));
        h.insert(header::COOKIE, format!("{COOKIE}=short").parse().unwrap());
        assert_eq!(token_from(&h), None);
    }
}
