//! OpenID Connect with an organisation's own provider: the authorization code flow with PKCE,
//! state and nonce, and the checks on the ID token that comes back.
//!
//! The relay fetches three things from a provider: its discovery document, its signing keys and
//! the token for a code. None of those fetches follows a redirect (a provider that moved must be
//! configured again, not trusted to point elsewhere), each is bounded in time and size, and only
//! `https` is spoken except to a loopback address (tests, a provider on the same machine).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::time::Duration;

/// Why a provider or its answer was not accepted. Shown to administrators (configuration) or
/// summarised for the person signing in; never carries personal data.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum OidcError {
    #[error("Enter the provider's address, starting https://")]
    BadIssuer,
    #[error("Use your tenant's own address (with its tenant id), not Microsoft's shared 'common', 'organizations' or 'consumers' address.")]
    SharedTenant,
    #[error("The provider could not be reached or did not answer as an OpenID provider.")]
    Unreachable,
    #[error("The provider's details name a different issuer.")]
    IssuerMismatch,
    #[error("The provider did not give a token for the code.")]
    TokenRefused,
    #[error("The provider's token was not valid: {0}")]
    BadToken(&'static str),
}

/// The parts of a provider's discovery document the relay uses.
#[derive(Debug, Clone, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
}

/// Entra's addresses that are not one organisation's: anyone's work account, anyone's, and
/// personal Microsoft accounts (by name, and by the personal accounts' tenant id).
const SHARED_TENANTS: [&str; 4] = [
    "common",
    "organizations",
    "consumers",
    "9188040d-6c67-4c5b-b112-36a304b66dad",
];

/// Checks an issuer an administrator typed: an absolute `https` address (plain `http` only on
/// loopback), no query or fragment, and never Entra's multi-tenant endpoints, which would let
/// any Microsoft account in.
pub fn check_issuer(issuer: &str) -> Result<(), OidcError> {
    let url = url::Url::parse(issuer.trim()).map_err(|_| OidcError::BadIssuer)?;
    check_url(&url)?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(OidcError::BadIssuer);
    }
    if let Family::Entra(tenant) = family_of(&url) {
        if tenant.is_empty() || SHARED_TENANTS.contains(&tenant.as_str()) {
            return Err(OidcError::SharedTenant);
        }
    }
    Ok(())
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// `https`, or `http` to a loopback address; no user name or password in it.
fn check_url(url: &url::Url) -> Result<(), OidcError> {
    if url.host().is_none() {
        return Err(OidcError::BadIssuer);
    }
    let loopback = is_loopback(url);
    let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && loopback);
    if !scheme_ok || !url.username().is_empty() || url.password().is_some() {
        return Err(OidcError::BadIssuer);
    }
    Ok(())
}

/// An HTTP client for talking to providers: no redirects, short timeouts.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
        .build()
        .expect("the HTTP client's settings are fixed")
}

/// Largest provider document or token answer read (JWKS of a big tenant is a few KiB).
const MAX_ANSWER: usize = 256 * 1024;

async fn read_json<T: serde::de::DeserializeOwned>(
    response: reqwest::Response,
) -> Result<T, OidcError> {
    if !response.status().is_success() {
        return Err(OidcError::Unreachable);
    }
    if response.content_length().unwrap_or(0) > MAX_ANSWER as u64 {
        return Err(OidcError::Unreachable);
    }
    let mut body = Vec::new();
    let mut response = response;
    while let Some(chunk) = response.chunk().await.map_err(|_| OidcError::Unreachable)? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_ANSWER {
            return Err(OidcError::Unreachable);
        }
    }
    serde_json::from_slice(&body).map_err(|_| OidcError::Unreachable)
}

async fn get_json<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
) -> Result<T, OidcError> {
    let url = url::Url::parse(url).map_err(|_| OidcError::Unreachable)?;
    check_url(&url).map_err(|_| OidcError::Unreachable)?;
    // A GET may be asked again: a provider's blip (a refused or dropped connection, a 5xx)
    // should not fail someone's sign-in. Two more tries, 0.2 s then 0.4 s apart; never after
    // a timeout, which would keep the person waiting three times as long.
    let mut wait = Duration::from_millis(200);
    for _ in 0..2 {
        match http
            .get(url.clone())
            .header("accept", "application/json")
            .send()
            .await
        {
            Ok(response) if !response.status().is_server_error() => {
                return read_json(response).await
            }
            Err(e) if e.is_timeout() => return Err(OidcError::Unreachable),
            _ => {
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
        }
    }
    let response = http
        .get(url)
        .header("accept", "application/json")
        .send()
        .await
        .map_err(|_| OidcError::Unreachable)?;
    read_json(response).await
}

/// The provider's discovery document, whose `issuer` must be exactly the configured one.
pub async fn discover(http: &reqwest::Client, issuer: &str) -> Result<Discovery, OidcError> {
    let address = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let found: Discovery = get_json(http, &address).await?;
    if found.issuer != issuer {
        return Err(OidcError::IssuerMismatch);
    }
    // A provider elsewhere may not point the relay at its own machine (where the client
    // secret would be posted to whatever listens there).
    let issuer_loopback = url::Url::parse(issuer).is_ok_and(|u| is_loopback(&u));
    for endpoint in [
        &found.authorization_endpoint,
        &found.token_endpoint,
        &found.jwks_uri,
    ] {
        let url = url::Url::parse(endpoint).map_err(|_| OidcError::Unreachable)?;
        check_url(&url).map_err(|_| OidcError::Unreachable)?;
        if is_loopback(&url) && !issuer_loopback {
            return Err(OidcError::Unreachable);
        }
    }
    Ok(found)
}

pub async fn keys(http: &reqwest::Client, discovery: &Discovery) -> Result<JwkSet, OidcError> {
    get_json(http, &discovery.jwks_uri).await
}

/// A sign-in about to go to the provider: the secrets kept by the relay until it returns.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub state: String,
    pub nonce: String,
    pub code_verifier: String,
}

impl Attempt {
    pub fn new() -> Self {
        let random = || URL_SAFE_NO_PAD.encode(crate::accounts::random_bytes());
        Attempt {
            state: random(),
            nonce: random(),
            code_verifier: random(),
        }
    }

    /// Where to send the browser (RFC 7636 S256 challenge).
    pub fn authorization_url(
        &self,
        discovery: &Discovery,
        client_id: &str,
        redirect_uri: &str,
        login_hint: Option<&str>,
    ) -> Result<String, OidcError> {
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(self.code_verifier.as_bytes()));
        let mut url = url::Url::parse(&discovery.authorization_endpoint)
            .map_err(|_| OidcError::Unreachable)?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", client_id)
                .append_pair("redirect_uri", redirect_uri)
                .append_pair("scope", "openid email profile")
                .append_pair("state", &self.state)
                .append_pair("nonce", &self.nonce)
                .append_pair("code_challenge", &challenge)
                .append_pair("code_challenge_method", "S256");
            if let Some(hint) = login_hint {
                q.append_pair("login_hint", hint);
            }
        }
        Ok(url.into())
    }
}

impl Default for Attempt {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    id_token: String,
}

/// Redeems the code at the token endpoint (client secret in the form body, as both Entra and
/// Google accept) and returns the raw ID token.
pub async fn redeem(
    http: &reqwest::Client,
    discovery: &Discovery,
    client: &ClientSettings<'_>,
    code: &str,
    code_verifier: &str,
) -> Result<String, OidcError> {
    let url = url::Url::parse(&discovery.token_endpoint).map_err(|_| OidcError::Unreachable)?;
    check_url(&url).map_err(|_| OidcError::Unreachable)?;
    let response = http
        .post(url)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", client.redirect_uri),
            ("client_id", client.client_id),
            ("client_secret", client.client_secret),
            ("code_verifier", code_verifier),
        ])
        .send()
        .await
        .map_err(|_| OidcError::TokenRefused)?;
    let answer: TokenAnswer = read_json(response)
        .await
        .map_err(|_| OidcError::TokenRefused)?;
    Ok(answer.id_token)
}

/// The relay as a client of one provider.
pub struct ClientSettings<'a> {
    pub client_id: &'a str,
    pub client_secret: &'a str,
    pub redirect_uri: &'a str,
}

/// Who the provider says signed in.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    pub issuer: String,
    /// Stable id at the provider: Entra's `tid/oid` where given, otherwise `sub`.
    pub subject: String,
    /// The email, lower-cased, only if given.
    pub email: Option<String>,
    /// Whether the provider vouches that the email's domain belongs to the account's
    /// organisation: Google's `email_verified` (and `hd`, the hosted domain, matching when
    /// given); Entra's `xms_edov` (email domain owner verified).
    pub email_verified: bool,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    nonce: Option<String>,
    email: Option<String>,
    email_verified: Option<serde_json::Value>,
    hd: Option<String>,
    tid: Option<String>,
    oid: Option<String>,
    xms_edov: Option<serde_json::Value>,
    azp: Option<String>,
    aud: serde_json::Value,
}

/// True for `true` or `"true"` (Entra has sent booleans as strings).
fn truthy(v: &Option<serde_json::Value>) -> bool {
    match v {
        Some(serde_json::Value::Bool(b)) => *b,
        Some(serde_json::Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// Checks an ID token (OpenID Connect Core 3.1.3.7): signed with one of the provider's keys by
/// an asymmetric algorithm (never `none`, never a shared secret), issued by this issuer for
/// this client, not expired, and carrying the nonce this sign-in sent.
pub fn verify_id_token(
    token: &str,
    keys: &JwkSet,
    issuer: &str,
    client_id: &str,
    nonce: &str,
) -> Result<Identity, OidcError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| OidcError::BadToken("header"))?;
    let allowed = [
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
    ];
    if !allowed.contains(&header.alg) {
        return Err(OidcError::BadToken("algorithm"));
    }
    // With a key id, that key; without one, the provider must have exactly one key.
    let jwk = match &header.kid {
        Some(kid) => keys.find(kid),
        None if keys.keys.len() == 1 => keys.keys.first(),
        None => None,
    }
    .ok_or(OidcError::BadToken("unknown key"))?;
    let key = DecodingKey::from_jwk(jwk).map_err(|_| OidcError::BadToken("key"))?;
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[client_id]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    validation.leeway = 60;
    let data = jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|e| {
        use jsonwebtoken::errors::ErrorKind::*;
        OidcError::BadToken(match e.kind() {
            ExpiredSignature => "expired",
            InvalidIssuer => "issuer",
            InvalidAudience => "audience",
            InvalidSignature => "signature",
            _ => "claims",
        })
    })?;
    let claims = data.claims;
    // Several audiences (or an authorised party named at all): it must be this client.
    // A list of one, as Authlib sends, needs no `azp`.
    let several = claims.aud.as_array().is_some_and(|a| a.len() > 1);
    if (several || claims.azp.is_some()) && claims.azp.as_deref() != Some(client_id) {
        return Err(OidcError::BadToken("audience"));
    }
    let nonce_ok = claims.nonce.as_deref().is_some_and(|n| {
        // Constant-time enough: both are ours and the same length when right.
        n.len() == nonce.len()
            && n.bytes()
                .zip(nonce.bytes())
                .fold(0, |a, (x, y)| a | (x ^ y))
                == 0
    });
    if !nonce_ok {
        return Err(OidcError::BadToken("nonce"));
    }
    identity_from(issuer, claims)
}

/// Which provider family an issuer is: the claims that vouch for an email differ.
#[derive(Debug, PartialEq)]
enum Family {
    Google,
    /// Entra, with the tenant id its issuer names.
    Entra(String),
    Other,
}

fn family(issuer: &str) -> Family {
    url::Url::parse(issuer).map_or(Family::Other, |url| family_of(&url))
}

fn family_of(url: &url::Url) -> Family {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    if host == "accounts.google.com" {
        return Family::Google;
    }
    if host.ends_with("microsoftonline.com") || host.ends_with("microsoftonline.us") {
        let tenant = url
            .path_segments()
            .and_then(|mut s| s.next())
            .unwrap_or_default()
            .to_ascii_lowercase();
        return Family::Entra(tenant);
    }
    Family::Other
}

/// Who the checked claims say signed in, and whether the provider vouches for their email's
/// domain. Google: `email_verified` and `hd` (the Workspace domain) equal to the email's
/// domain; a personal Google account has no `hd`. Entra: only `xms_edov` (Entra does not
/// check `email`, so `email_verified` from it means nothing). Others: `email_verified`, with
/// `hd` matching where given, or `xms_edov`.
fn identity_from(issuer: &str, claims: Claims) -> Result<Identity, OidcError> {
    let email = claims.email.map(|e| e.trim().to_ascii_lowercase());
    let domain = email
        .as_deref()
        .and_then(|e| e.rsplit_once('@'))
        .map(|(_, d)| d.to_string());
    let hd_matches = |required: bool| match &claims.hd {
        Some(hd) => domain.as_deref() == Some(hd.to_ascii_lowercase().as_str()),
        None => !required,
    };
    let verified = truthy(&claims.email_verified);
    let domain_owner = truthy(&claims.xms_edov);
    let family = family(issuer);
    let email_verified = email.is_some()
        && match &family {
            Family::Google => verified && hd_matches(true),
            Family::Entra(_) => domain_owner,
            Family::Other => (verified && hd_matches(false)) || domain_owner,
        };
    let subject = match (&claims.tid, &claims.oid, &family) {
        // An Entra token for another tenant than the issuer's is not this organisation's.
        (Some(tid), Some(_), Family::Entra(tenant)) if !tid.eq_ignore_ascii_case(tenant) => {
            return Err(OidcError::BadToken("tenant"));
        }
        (Some(tid), Some(oid), _) => format!("{tid}/{oid}"),
        _ => claims.sub,
    };
    if subject.is_empty() {
        return Err(OidcError::BadToken("subject"));
    }
    Ok(Identity {
        issuer: issuer.to_string(),
        subject,
        email,
        email_verified,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_providers_blip_does_not_fail_the_sign_in_but_an_outage_does() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let asked = std::sync::Arc::new(AtomicUsize::new(0));
        // Fails the first `fails` times it is asked, then answers.
        let fails = std::sync::Arc::new(AtomicUsize::new(1));
        let (a, f, me) = (asked.clone(), fails.clone(), issuer.clone());
        let app = axum::Router::new().route(
            "/.well-known/openid-configuration",
            axum::routing::get(move || {
                let n = a.fetch_add(1, Ordering::SeqCst);
                let answer = (n >= f.load(Ordering::SeqCst)).then(|| {
                    axum::Json(serde_json::json!({
                        "issuer": me,
                        "authorization_endpoint": format!("{me}/authorize"),
                        "token_endpoint": format!("{me}/token"),
                        "jwks_uri": format!("{me}/jwks"),
                    }))
                });
                async move { answer.ok_or(axum::http::StatusCode::SERVICE_UNAVAILABLE) }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        let http = client();
        let found = discover(&http, &issuer)
            .await
            .expect("found on the second try");
        assert_eq!(found.issuer, issuer);
        assert_eq!(asked.load(Ordering::SeqCst), 2);
        asked.store(0, Ordering::SeqCst);
        fails.store(usize::MAX, Ordering::SeqCst);
        assert!(matches!(
            discover(&http, &issuer).await,
            Err(OidcError::Unreachable)
        ));
        assert_eq!(asked.load(Ordering::SeqCst), 3, "three tries in all");
    }

    fn claims(json: serde_json::Value) -> Claims {
        let mut base = serde_json::json!({ "sub": "s1", "aud": "client" });
        base.as_object_mut()
            .unwrap()
            .extend(json.as_object().unwrap().clone());
        serde_json::from_value(base).unwrap()
    }

    fn vouched(issuer: &str, json: serde_json::Value) -> bool {
        identity_from(issuer, claims(json)).unwrap().email_verified
    }

    #[test]
    fn who_vouches_for_an_email_depends_on_the_provider() {
        let google = "https://accounts.google.com";
        let school = serde_json::json!({ "email": "a@school.sch.uk", "email_verified": true, "hd": "school.sch.uk" });
        assert!(vouched(google, school.clone()));
        // A personal Google account made with a school address has no hosted domain.
        assert!(!vouched(
            google,
            serde_json::json!({ "email": "a@school.sch.uk", "email_verified": true })
        ));
        assert!(!vouched(
            google,
            serde_json::json!({ "email": "a@school.sch.uk", "email_verified": true, "hd": "other.org" })
        ));
        let entra = "https://login.microsoftonline.com/5d7c2b0e-43f1-4c5e-9a77-2f0e6b1c9d01/v2.0";
        // Entra does not check `email`: only the domain-owner claim counts.
        assert!(!vouched(
            entra,
            serde_json::json!({ "email": "c@council.gov.uk", "email_verified": true })
        ));
        assert!(vouched(
            entra,
            serde_json::json!({ "email": "c@council.gov.uk", "xms_edov": true })
        ));
        let other = "https://idp.example.org";
        assert!(vouched(other, school));
        assert!(vouched(
            other,
            serde_json::json!({ "email": "a@x.org", "email_verified": "true" })
        ));
        assert!(!vouched(other, serde_json::json!({ "email": "a@x.org" })));
        assert!(!vouched(
            other,
            serde_json::json!({ "email_verified": true })
        ));
    }

    #[test]
    fn entra_accounts_are_known_by_tenant_and_object_id_of_the_issuers_tenant() {
        let entra = "https://login.microsoftonline.com/5d7c2b0e-43f1-4c5e-9a77-2f0e6b1c9d01/v2.0";
        let id = identity_from(
            entra,
            claims(
                serde_json::json!({ "tid": "5d7c2b0e-43f1-4c5e-9a77-2f0e6b1c9d01", "oid": "o1" }),
            ),
        )
        .unwrap();
        assert_eq!(id.subject, "5d7c2b0e-43f1-4c5e-9a77-2f0e6b1c9d01/o1");
        assert_eq!(
            identity_from(
                entra,
                claims(
                    serde_json::json!({ "tid": "00000000-0000-0000-0000-000000000000", "oid": "o1" })
                ),
            ),
            Err(OidcError::BadToken("tenant"))
        );
        let plain =
            identity_from("https://idp.example.org", claims(serde_json::json!({}))).unwrap();
        assert_eq!(plain.subject, "s1");
    }

    #[test]
    fn issuers_must_be_https_tenant_specific_addresses() {
        assert!(check_issuer(
            "https://login.microsoftonline.com/5d7c2b0e-43f1-4c5e-9a77-2f0e6b1c9d01/v2.0"
        )
        .is_ok());
        // Personal Microsoft accounts' tenant.
        assert_eq!(
            check_issuer(
                "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0"
            ),
            Err(OidcError::SharedTenant)
        );
        assert!(check_issuer("https://accounts.google.com").is_ok());
        assert!(check_issuer("http://127.0.0.1:9400").is_ok());
        assert!(check_issuer("http://localhost:9400").is_ok());
        assert_eq!(
            check_issuer("https://login.microsoftonline.com/common/v2.0"),
            Err(OidcError::SharedTenant)
        );
        assert_eq!(
            check_issuer("https://login.microsoftonline.com/organizations/v2.0"),
            Err(OidcError::SharedTenant)
        );
        assert_eq!(
            check_issuer("http://idp.example.org"),
            Err(OidcError::BadIssuer)
        );
        assert_eq!(
            check_issuer("https://user:pw@idp.example.org"),
            Err(OidcError::BadIssuer)
        );
        assert_eq!(check_issuer("idp.example.org"), Err(OidcError::BadIssuer));
        assert_eq!(
            check_issuer("https://idp.example.org/?tenant=x"),
            Err(OidcError::BadIssuer)
        );
    }

    #[test]
    fn the_authorization_url_carries_state_nonce_and_an_s256_challenge() {
        let d = Discovery {
            issuer: "https://idp.example.org".into(),
            authorization_endpoint: "https://idp.example.org/authorize?x=1".into(),
            token_endpoint: "https://idp.example.org/token".into(),
            jwks_uri: "https://idp.example.org/jwks".into(),
        };
        let a = Attempt::new();
        let url = url::Url::parse(
            &a.authorization_url(&d, "client", "https://tac.example/cb", Some("a@b.org"))
                .unwrap(),
        )
        .unwrap();
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["x"], "1");
        assert_eq!(q["state"], a.state);
        assert_eq!(q["nonce"], a.nonce);
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(
            q["code_challenge"],
            URL_SAFE_NO_PAD.encode(Sha256::digest(a.code_verifier.as_bytes()))
        );
        assert_ne!(a.state, Attempt::new().state);
    }
}
