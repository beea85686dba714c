//! The JSON API under `/api`: signing in, cases and their members, accounts, audit.
//!
//! Handlers are thin: they check who is asking, call [`crate::accounts`], [`crate::access`],
//! [`crate::consent`] and [`crate::audit`], and say what happened in plain English. Anything a
//! caller may not see answers 404, the same as something that does not exist.

use crate::access::Registered;
use crate::accounts::{self, AccountError, Professional};
use crate::audit::{self, Event};
use crate::auth::{token_from, ClientAddr, DeviceOwner, SignedIn, SESSION_ENDED};
use crate::sign_in_limit::Verdict;
use crate::AppState;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use shared::api::{
    Agency, CaseRole, Export, Invite, Leaving, Me, Member, MyCase, NewAgency, NewProfessional,
    RegisterCase, Role, SignIn,
};

/// A refusal or failure, sent as `{"error": "<sentence>"}`.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
    pub fn session_ended() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, SESSION_ENDED)
    }
    pub(crate) fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            format!("We could not find that {what}."),
        )
    }
    pub(crate) fn forbidden(message: &str) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }
    pub(crate) fn bad_request(message: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = shared::api::ApiError {
            error: self.message,
        };
        (self.status, Json(body)).into_response()
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        tracing::error!(error = %e, "database error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong on the server. Try again in a minute.",
        )
    }
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Database(e) => e.into(),
            AccountError::EmailTaken | AccountError::AgencyTaken => {
                Self::new(StatusCode::CONFLICT, e.to_string())
            }
            e => Self::new(StatusCode::BAD_REQUEST, e.to_string()),
        }
    }
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

const NOT_UNDERSTOOD: &str = "The request was not understood. Reload the page and try again.";

/// A JSON request body whose rejection is a JSON error like every other answer.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Body(v)),
            Err(_) => Err(ApiError::bad_request(NOT_UNDERSTOOD)),
        }
    }
}

/// Path parameters; ones that do not parse (e.g. a non-numeric id) are simply not found.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| Path(v))
            .map_err(|_| ApiError::not_found("page"))
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/session", post(sign_in).get(session).delete(sign_out))
        .route("/leaving", get(leaving))
        .route("/cases", get(cases).post(register_case))
        .route("/cases/{id}/members", get(members).post(add_member))
        .route(
            "/cases/{id}/members/{professional_id}",
            delete(remove_member),
        )
        .route("/cases/{id}/receipts", get(receipts))
        .route(
            "/cases/{id}/last-looked",
            get(last_looked).put(put_last_looked),
        )
        .route("/cases/{id}/audit", get(case_audit))
        .route("/cases/{id}/audit.csv", get(case_audit_csv))
        .route("/cases/{id}/history.csv", get(case_history_csv))
        .route("/cases/{id}/exports", post(record_export))
        .route("/cases/{id}/documents/{kind}", post(document_pdf))
        .route("/professionals", get(directory).post(create_professional))
        .route("/professionals/{id}/deactivate", post(deactivate))
        .route("/professionals/{id}/revoke-sessions", post(revoke_sessions))
        .route("/agencies", get(agencies).post(create_agency))
        .merge(crate::subject_access::router())
        .merge(crate::case_views::router())
        .merge(crate::departure::router())
        .merge(crate::records::router())
        .merge(crate::organisation_sign_in::router())
        .merge(crate::second_factor::router())
        .route("/{*rest}", any(|| async { ApiError::not_found("page") }))
        .layer(axum::middleware::from_fn(same_site_only))
}

/// Refuses changes (anything but GET and HEAD) a browser says come from another site: a
/// `Sec-Fetch-Site` other than `same-origin`, or an `Origin` that is not this host. The
/// SameSite=Strict cookie already covers this; body-less POSTs and DELETEs get a second lock.
/// Requests with neither header (native clients, tools) pass.
async fn same_site_only(req: Request, next: axum::middleware::Next) -> Response {
    let method = req.method();
    if method != Method::GET && method != Method::HEAD {
        let headers = req.headers();
        let cross_site = headers
            .get("sec-fetch-site")
            .is_some_and(|site| site.as_bytes() != b"same-origin");
        if cross_site || !crate::sync::same_origin(headers) {
            return ApiError::forbidden("This page may not make changes here.").into_response();
        }
    }
    next.run(req).await
}

// ---- Signing in ----

/// Longest email address accepted at sign-in (RFC 5321's path limit less the brackets).
const MAX_EMAIL_CHARS: usize = 254;

async fn sign_in(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Body(body): Body<SignIn>,
) -> ApiResult<Response> {
    // Before the limiter, so made-up megabyte emails cannot fill its memory.
    if body.email.chars().count() > MAX_EMAIL_CHARS {
        return Err(ApiError::bad_request(
            "That email address is too long. Check it and try again.",
        ));
    }
    let found = accounts::by_email(&state.db, &body.email).await?;
    let subject = found.as_ref().map(|(p, _)| p.id);
    let event = |outcome| {
        let e = Event::new("sign_in", outcome).client(client);
        match subject {
            Some(id) => e.professional(id),
            None => e,
        }
    };
    // Checks and counts the attempt in one step: parallel guesses cannot all pass.
    if let Verdict::Limited { audit } = state.rate_limit.allows(&body.email, client).await? {
        if audit {
            state.audit.record(event("rate_limited")).await;
        }
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many attempts to sign in. Wait 15 minutes and try again, or ask your administrator to check your account.",
        ));
    }
    // argon2 takes tens of milliseconds of CPU and ~19 MiB: keep it off the async workers,
    // and run only as many at once as there are cores (the rest wait their turn).
    let (password, hash) = (body.password, found.as_ref().map(|(_, h)| h.clone()));
    let matches = match state.password_checks.clone().acquire_owned().await {
        Ok(permit) => tokio::task::spawn_blocking(move || {
            let _permit = permit;
            accounts::verify_password(&password, hash.as_deref())
        })
        .await
        .unwrap_or(false),
        Err(_) => false,
    };
    // People of an organisation with its own sign-in use it, whether or not the password was
    // right (the answer and its timing say nothing about an old password). A system
    // administrator keeps a password, with a code, so a broken provider cannot lock everyone
    // out.
    let own_sign_in = match &found {
        Some((p, _)) => crate::organisation_sign_in::has_provider(&state.db, p.agency_id).await?,
        None => false,
    } || crate::organisation_sign_in::domain_has_provider(&state.db, &body.email)
        .await?;
    let may_use_password = |p: &Professional| p.role == Role::SystemAdmin && matches && p.active;
    if own_sign_in && !found.as_ref().is_some_and(|(p, _)| may_use_password(p)) {
        state.audit.record(event("refused_use_provider")).await;
        return Err(use_provider());
    }
    let professional = match found {
        Some((p, _)) if matches && p.active => p,
        _ => {
            // The attempt was counted when it was allowed.
            state.audit.record(event("failed")).await;
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "Email address or password is not right",
            ));
        }
    };
    state.rate_limit.succeeded(&body.email, client).await?;
    if let Some(needed) = crate::second_factor::after_password(&state.db, &professional).await? {
        state.audit.record(event("code_needed")).await;
        return Ok((StatusCode::ACCEPTED, Json(needed)).into_response());
    }
    crate::auth::end_session_on_browser(&state, &headers, client).await?;
    let (session, token) = state.sessions.start(professional).await?;
    state
        .audit
        .record(
            Event::new("sign_in", "success")
                .actor(session.professional.id)
                .client(client),
        )
        .await;
    Ok((
        [(header::SET_COOKIE, state.sessions.cookie(&token))],
        Json(session.view()),
    )
        .into_response())
}

fn use_provider() -> ApiError {
    ApiError::forbidden(
        "Your organisation uses its own sign-in, not a password. Enter your work email address and choose Continue.",
    )
}

/// `GET /api/leaving`: whether this device's session belongs to someone who has left the
/// service (deactivated), and if so whether it may still hand over its copies or may only remove
/// them (its session revoked, or begun more than [`crate::auth::HANDOVER_SECS`] ago). 409 for an
/// open account, 401 for a session nobody has.
async fn leaving(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    owner: DeviceOwner,
) -> ApiResult<Json<Leaving>> {
    if owner.active {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "This account is still open.",
        ));
    }
    if !owner.may_hand_over {
        // Only ever told to remove what it holds, which a leaver's device should: on record.
        state
            .audit
            .record(
                Event::new("leaver_device_told_to_clear", "no_hand_over")
                    .actor(owner.professional_id)
                    .client(client),
            )
            .await;
    }
    Ok(Json(Leaving {
        id: owner.professional_id,
        hand_over: owner.may_hand_over,
    }))
}

async fn session(SignedIn(session): SignedIn) -> Json<Me> {
    Json(session.view())
}

async fn sign_out(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
) -> ApiResult<Response> {
    if let Some(token) = token_from(&headers) {
        // A leaver's device ends its session too, once it has handed over its copies.
        if let Some(session) = state.sessions.find_handing_over(&token).await? {
            state.sessions.revoke(session.id).await?;
            state
                .audit
                .record(
                    Event::new("sign_out", "success")
                        .actor(session.professional.id)
                        .client(client),
                )
                .await;
        }
    }
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, state.sessions.clear_cookie())],
    )
        .into_response())
}

// ---- Cases and members ----

async fn cases(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
) -> ApiResult<Json<Vec<MyCase>>> {
    let mine = state.access.cases_of(me.professional.id);
    let last = state
        .journal
        .last_changes(mine.iter().map(|(id, _)| id.as_str()))
        .await?;
    Ok(Json(
        mine.into_iter()
            .map(|(id, role)| MyCase {
                last_change_at: last.get(&id).copied(),
                id,
                role,
            })
            .collect(),
    ))
}

/// The canonical (bare bs58check) form of a case id from a path or body.
pub(crate) fn case_id(raw: &str) -> ApiResult<String> {
    raw.parse::<shared::DocumentId>()
        .map(|id| id.to_string())
        .map_err(|_| ApiError::not_found("case"))
}

async fn register_case(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    ClientAddr(client): ClientAddr,
    Body(body): Body<RegisterCase>,
) -> ApiResult<Response> {
    let id = body
        .id
        .parse::<shared::DocumentId>()
        .map_err(|_| ApiError::bad_request("That is not a case id."))?
        .to_string();
    let me_id = me.professional.id;
    let event = |outcome| {
        Event::new("case_registered", outcome)
            .actor(me_id)
            .case(&id)
            .client(client)
    };
    // Data the relay already holds for an id nobody is a member of (e.g. stored before access
    // control) is not anyone's to claim: refused like a foreign case.
    if state.access.members(&id).is_empty()
        && crate::storage::holds_document(&state.db, &id).await?
    {
        state.audit.record(event("denied")).await;
        return Err(ApiError::not_found("case"));
    }
    match state.access.register(&id, me_id).await? {
        Registered::Created => {
            state.audit.record(event("success")).await;
            let body = MyCase {
                id: id.clone(),
                role: CaseRole::Lead,
                last_change_at: None,
            };
            Ok((StatusCode::CREATED, Json(body)).into_response())
        }
        Registered::AlreadyMember => {
            let role = state.access.role(&id, me_id).unwrap_or(CaseRole::Member);
            Ok(Json(MyCase {
                id,
                role,
                last_change_at: None,
            })
            .into_response())
        }
        Registered::Refused => {
            state.audit.record(event("denied")).await;
            Err(ApiError::not_found("case"))
        }
    }
}

/// A professional as a member of a case, with their role on it.
fn member(p: Professional, role: CaseRole) -> Member {
    Member {
        professional_id: p.id,
        name: p.name,
        agency_id: p.agency_id,
        agency_name: p.agency_name,
        role,
        email: p.email,
    }
}

/// The caller's role on a case; 404 for non-members, so a case's existence never leaks.
pub(crate) fn role_on(state: &AppState, case: &str, me: &Professional) -> ApiResult<CaseRole> {
    state
        .access
        .role(case, me.id)
        .ok_or_else(|| ApiError::not_found("case"))
}

async fn members(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<Member>>> {
    let id = case_id(&id)?;
    role_on(&state, &id, &me.professional)?;
    let mut out = Vec::new();
    for (pid, role) in state.access.members(&id) {
        if let Some(p) = accounts::professional(&state.db, pid).await? {
            out.push(member(p, role));
        }
    }
    Ok(Json(out))
}

/// Members only: the history of a case is part of the case.
async fn receipts(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json<shared::api::Receipts>> {
    let id = case_id(&id)?;
    role_on(&state, &id, &me.professional)?;
    Ok(Json(case_receipts(&state, &id).await?))
}

/// A case's receipts, with the name and organisation of everyone in them.
pub(crate) async fn case_receipts(state: &AppState, id: &str) -> ApiResult<shared::api::Receipts> {
    let rows = state.journal.for_case(id).await?;
    let mut ids: Vec<i64> = rows.iter().map(|r| r.professional_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut people = Vec::with_capacity(ids.len());
    for pid in ids {
        if let Some(p) = accounts::professional(&state.db, pid).await? {
            people.push(shared::api::Author {
                professional_id: p.id,
                name: p.name,
                agency_name: p.agency_name,
            });
        }
    }
    let receipts = rows
        .into_iter()
        .map(|r| shared::api::Receipt {
            change_hash: r.change_hash,
            professional_id: r.professional_id,
            received_at: r.received_at,
        })
        .collect();
    Ok(shared::api::Receipts { receipts, people })
}

/// The caller's own last look at a case; nobody else's.
async fn last_looked(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json<shared::api::LastLooked>> {
    let id = case_id(&id)?;
    role_on(&state, &id, &me.professional)?;
    let row: Option<(String, i64)> = sqlx::query_as(
        "SELECT heads, looked_at FROM last_looked WHERE professional_id = $1 AND case_id = $2",
    )
    .bind(me.professional.id)
    .bind(&id)
    .fetch_optional(&state.db)
    .await?;
    Ok(Json(row.map_or_else(
        Default::default,
        |(heads, looked_at)| {
            shared::api::LastLooked {
                heads: heads
                    .split(',')
                    .filter(|h| !h.is_empty())
                    .map(str::to_string)
                    .collect(),
                looked_at,
            }
        },
    )))
}

/// Keeps the newer of what is stored and what is sent (two devices may report out of order).
async fn put_last_looked(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    Path(id): Path<String>,
    Body(body): Body<shared::api::LastLooked>,
) -> ApiResult<StatusCode> {
    let id = case_id(&id)?;
    role_on(&state, &id, &me.professional)?;
    // Heads are change hashes: 64 hex digits each, a handful at most.
    let valid = body.heads.len() <= 64
        && body
            .heads
            .iter()
            .all(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()));
    if !valid {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "That is not a state of this case.",
        ));
    }
    sqlx::query(
        "INSERT INTO last_looked (professional_id, case_id, heads, looked_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (professional_id, case_id) DO UPDATE
         SET heads = excluded.heads, looked_at = excluded.looked_at
         WHERE excluded.looked_at > last_looked.looked_at",
    )
    .bind(me.professional.id)
    .bind(&id)
    .bind(body.heads.join(","))
    .bind(body.looked_at)
    .execute(&state.db)
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lead professional only (not administrators: adding someone to a family's record is a
/// practice decision made with the family's consent, by the person who holds the case).
async fn add_member(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    ClientAddr(client): ClientAddr,
    Path(id): Path<String>,
    Body(body): Body<Invite>,
) -> ApiResult<Response> {
    let id = case_id(&id)?;
    if crate::records::is_destroyed(&state.db, &id).await? {
        return Err(crate::records::gone());
    }
    if role_on(&state, &id, &me.professional)? != CaseRole::Lead {
        return Err(ApiError::forbidden(
            "Only the lead professional can add people to this case.",
        ));
    }
    let invitee = accounts::professional(&state.db, body.professional_id)
        .await?
        .filter(|p| p.active)
        .ok_or_else(|| ApiError::not_found("professional"))?;
    let event = |outcome| {
        Event::new("member_added", outcome)
            .actor(me.professional.id)
            .case(&id)
            .professional(invitee.id)
            .agency(invitee.agency_id)
            .client(client)
    };
    if state.access.role(&id, invitee.id).is_some() {
        return Ok(StatusCode::OK.into_response());
    }
    // Colleagues in the agency holding the case (the lead's) need no separate consent, as
    // withdrawal never removes them either; every other agency needs the family's consent.
    let mut holder = false;
    for (pid, role) in state.access.members(&id) {
        if role == CaseRole::Lead {
            let lead = accounts::professional(&state.db, pid).await?;
            holder |= lead.is_some_and(|l| l.agency_id == invitee.agency_id);
        }
    }
    let consent = crate::consent::of_case(&state.repos, &id)
        .await
        .unwrap_or_default();
    if !holder && !crate::consent::allows(&consent, &invitee.agency_name) {
        state.audit.record(event("denied_no_consent")).await;
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "The family has not given consent to share with {}. Record their consent, or a safeguarding override, in the Consent section first.",
                invitee.agency_name
            ),
        ));
    }
    state
        .access
        .add(&id, invitee.id, me.professional.id)
        .await?;
    state.audit.record(event("success")).await;
    Ok((StatusCode::CREATED, Json(member(invitee, CaseRole::Member))).into_response())
}

/// Lead professional only; the lead cannot remove themself.
async fn remove_member(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    ClientAddr(client): ClientAddr,
    Path((id, professional_id)): Path<(String, i64)>,
) -> ApiResult<StatusCode> {
    let id = case_id(&id)?;
    if role_on(&state, &id, &me.professional)? != CaseRole::Lead {
        return Err(ApiError::forbidden(
            "Only the lead professional can remove people from this case.",
        ));
    }
    if professional_id == me.professional.id {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "You hold this case as lead professional, so you cannot remove yourself.",
        ));
    }
    if !state.access.remove(&id, professional_id).await? {
        return Err(ApiError::not_found("member"));
    }
    state
        .audit
        .record(
            Event::new("member_removed", "success")
                .actor(me.professional.id)
                .case(&id)
                .professional(professional_id)
                .client(client),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

// ---- Audit and exports ----

/// Case audit trails are for system administrators (information governance), who answer
/// subject access requests and investigate; others get 403 whether or not the case exists.
fn audit_reader(me: &Professional) -> ApiResult<()> {
    if me.role == Role::SystemAdmin {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "Only a system administrator can read a case's audit trail.",
        ))
    }
}

async fn case_audit(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<audit::Row>>> {
    audit_reader(&me.professional)?;
    let id = case_id(&id)?;
    Ok(Json(state.audit.for_case(&id).await?))
}

/// A case's history (who changed what, from the relay's copy and its receipts) as CSV, for
/// the same people who may read the audit. It holds case content, so every download is
/// audited.
async fn case_history_csv(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    ClientAddr(client): ClientAddr,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    audit_reader(&me.professional)?;
    let id = case_id(&id)?;
    let receipts = case_receipts(&state, &id).await?;
    let Some(sittings) =
        crate::journal::sittings(&state.repos, &state.db, &id, receipts.by_change()).await
    else {
        return Err(ApiError::not_found("case"));
    };
    state
        .audit
        .record(
            Event::new("export_history_csv", "success")
                .actor(me.professional.id)
                .case(&id)
                .client(client),
        )
        .await;
    let csv = shared::record::history::to_csv(&sittings, |who| match who {
        shared::record::history::Who::Professional(p) => receipts.author(*p).map_or_else(
            || "Someone no longer on TAC Planner".into(),
            |a| format!("{} ({})", a.name, a.agency_name),
        ),
        _ => "Not verified".into(),
    });
    Ok(csv_download(&format!("history-{id}.csv"), csv))
}

/// A CSV file for the browser to save.
fn csv_download(file_name: &str, csv: String) -> Response {
    download("text/csv; charset=utf-8", file_name, csv)
}

async fn case_audit_csv(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    ClientAddr(client): ClientAddr,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    audit_reader(&me.professional)?;
    let id = case_id(&id)?;
    state
        .audit
        .record(
            Event::new("export_audit_csv", "success")
                .actor(me.professional.id)
                .case(&id)
                .client(client),
        )
        .await;
    let rows = state.audit.for_case(&id).await?;
    Ok(csv_download(
        &format!("audit-{id}.csv"),
        audit::to_csv(&rows),
    ))
}

/// Export kinds are short fixed words (stored in the audit), never free text.
fn export_kind(kind: &str) -> Option<&str> {
    let ok =
        (1..=40).contains(&kind.len()) && kind.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    ok.then_some(kind)
}

async fn record_export(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    ClientAddr(client): ClientAddr,
    Path(id): Path<String>,
    Body(body): Body<Export>,
) -> ApiResult<StatusCode> {
    let id = case_id(&id)?;
    role_on(&state, &id, &me.professional)?;
    let kind = export_kind(&body.kind).ok_or_else(|| {
        ApiError::bad_request("Say what was exported in a few lowercase words, like family_copy.")
    })?;
    state
        .audit
        .record(
            Event::new(format!("export_{kind}"), "success")
                .actor(me.professional.id)
                .case(&id)
                .client(client),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

/// Documents the relay draws as PDF files, by the name in their address.
fn document_kind(kind: &str) -> Option<&'static str> {
    match kind {
        "family-plan" => Some("family_plan"),
        "referral" => Some("referral"),
        _ => None,
    }
}

/// A document as a PDF file: the family's plan, or a request for support. The app sends the
/// document as it stands on its device (`shared::documents`, so edits not yet synced are in
/// it); the relay only draws it (`crate::pdf`), for members of the case, and records the copy
/// in the audit.
async fn document_pdf(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    ClientAddr(client): ClientAddr,
    Path((id, kind)): Path<(String, String)>,
    Body(doc): Body<shared::documents::Document>,
) -> ApiResult<Response> {
    let id = case_id(&id)?;
    let kind = document_kind(&kind).ok_or_else(|| ApiError::not_found("document"))?;
    role_on(&state, &id, &me.professional)?;
    let bytes = draw_pdf(doc).await?;
    state
        .audit
        .record(
            Event::new(format!("export_{kind}_pdf"), "success")
                .actor(me.professional.id)
                .case(&id)
                .client(client),
        )
        .await;
    let short: String = id
        .trim_start_matches("automerge:")
        .chars()
        .take(8)
        .collect();
    let file = kind.replace('_', "-");
    Ok(download(
        "application/pdf",
        &format!("{file}-{short}.pdf"),
        bytes,
    ))
}

/// Draws a document as a PDF file, off the threads that serve the sync connections (it is CPU
/// work).
pub(crate) async fn draw_pdf(doc: shared::documents::Document) -> ApiResult<Vec<u8>> {
    let too_long = || {
        ApiError::bad_request(
            "This document is too long to make into a PDF. Print the page instead.",
        )
    };
    if !doc.within_limits() {
        return Err(too_long());
    }
    tokio::task::spawn_blocking(move || crate::pdf::render(&doc))
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on the server. Try again in a minute.",
            )
        })?
        .map_err(|crate::pdf::TooLong| too_long())
}

/// A file for the browser to save.
pub(crate) fn download(
    content_type: &str,
    file_name: &str,
    bytes: impl Into<axum::body::Body>,
) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
        ],
        bytes.into(),
    )
        .into_response()
}

// ---- Accounts ----

/// For inviting: practitioners see active colleagues; administrators see everyone.
async fn directory(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
) -> ApiResult<Json<Vec<shared::api::Professional>>> {
    let only_active = !me.professional.role.is_admin();
    let people = accounts::directory(&state.db, only_active).await?;
    Ok(Json(people.into_iter().map(Into::into).collect()))
}

async fn agencies(
    State(state): State<AppState>,
    SignedIn(_): SignedIn,
) -> ApiResult<Json<Vec<Agency>>> {
    Ok(Json(accounts::agencies(&state.db).await?))
}

async fn create_agency(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    ClientAddr(client): ClientAddr,
    Body(body): Body<NewAgency>,
) -> ApiResult<Response> {
    if me.professional.role != Role::SystemAdmin {
        return Err(ApiError::forbidden(
            "Only a system administrator can add agencies.",
        ));
    }
    let agency = accounts::create_agency(&state.db, &body.name).await?;
    state
        .audit
        .record(
            Event::new("agency_created", "success")
                .actor(me.professional.id)
                .agency(agency.id)
                .client(client),
        )
        .await;
    Ok((StatusCode::CREATED, Json(agency)).into_response())
}

/// A [`NewProfessional`] from a request body; an unknown role gets its own message rather
/// than the one for a body that is not understood.
fn new_professional(body: serde_json::Value) -> ApiResult<NewProfessional> {
    NewProfessional::deserialize(&body).map_err(|_| {
        match body.get("role").and_then(|r| r.as_str()) {
            Some(role) if Role::parse(role).is_none() => {
                ApiError::bad_request("Choose a role: practitioner, agency_admin or system_admin.")
            }
            _ => ApiError::bad_request(NOT_UNDERSTOOD),
        }
    })
}

/// May `me` manage `target`'s account? System admins: anyone. Agency admins: people in their
/// own agency who are not system admins.
fn manages(me: &Professional, agency_id: i64, role: Role) -> bool {
    match me.role {
        Role::SystemAdmin => true,
        Role::AgencyAdmin => agency_id == me.agency_id && role != Role::SystemAdmin,
        Role::Practitioner => false,
    }
}

async fn create_professional(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    ClientAddr(client): ClientAddr,
    Body(body): Body<serde_json::Value>,
) -> ApiResult<Response> {
    let new = new_professional(body)?;
    if !manages(&me.professional, new.agency_id, new.role) {
        return Err(ApiError::forbidden(
            "You can only add accounts for your own agency, and not system administrators.",
        ));
    }
    if let Some(owner) =
        crate::organisation_sign_in::domain_claimed_by(&state.db, &new.email).await?
    {
        if owner != new.agency_id {
            return Err(ApiError::bad_request(
                "Everyone with an email address on that domain signs in through another organisation's own sign-in. Add them to that organisation, or use their email address at this one.",
            ));
        }
    }
    let created = accounts::create_professional(&state.db, &new).await?;
    state
        .audit
        .record(
            Event::new("professional_created", "success")
                .actor(me.professional.id)
                .professional(created.id)
                .agency(created.agency_id)
                .client(client),
        )
        .await;
    // The full account (with its email address), so the administrator sees what was saved.
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

pub(crate) async fn managed_target(
    state: &AppState,
    me: &Professional,
    id: i64,
) -> ApiResult<Professional> {
    let target = accounts::professional(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("professional"))?;
    if target.id != me.id && !manages(me, target.agency_id, target.role) {
        return Err(ApiError::forbidden(
            "You can only manage accounts in your own agency.",
        ));
    }
    Ok(target)
}

/// A leaver: the account stops working at once, everywhere (open sync connections closed with
/// 4401, and access withdrawn from every case). Their sessions are not revoked: a device still
/// signed in may hand over its last edits and remove its copies ([`crate::auth::HandingOver`]).
async fn deactivate(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    ClientAddr(client): ClientAddr,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    if id == me.professional.id {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "You cannot deactivate your own account. Ask another administrator.",
        ));
    }
    if !me.professional.role.is_admin() {
        return Err(ApiError::forbidden(
            "Only an administrator can deactivate accounts.",
        ));
    }
    let target = managed_target(&state, &me.professional, id).await?;
    // Refuse in memory first, so no frame of theirs is served once SQL says they have left.
    state.access.deactivated(target.id).await?;
    accounts::deactivate(&state.db, target.id).await?;
    state.sessions.owner_left().await;
    state
        .audit
        .record(
            Event::new("professional_deactivated", "success")
                .actor(me.professional.id)
                .professional(target.id)
                .agency(target.agency_id)
                .client(client),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

/// A lost laptop: every session of the account ends (their own, or one an admin manages).
async fn revoke_sessions(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    ClientAddr(client): ClientAddr,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    let target = managed_target(&state, &me.professional, id).await?;
    state.sessions.revoke_all(target.id).await?;
    state
        .audit
        .record(
            Event::new("sessions_revoked", "success")
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
    fn an_unknown_role_is_named_as_such() {
        let body = |role: serde_json::Value| {
            serde_json::json!({"name": "N", "email": "n@example.org", "agency_id": 1,
                "role": role, "password": "a long enough password"})
        };
        let new = new_professional(body("agency_admin".into())).unwrap();
        assert_eq!((new.agency_id, new.role), (1, Role::AgencyAdmin));
        let message = |v| new_professional(v).unwrap_err().message;
        assert!(message(body("root".into())).starts_with("Choose a role"));
        assert_eq!(message(body(7.into())), NOT_UNDERSTOOD);
        assert_eq!(
            message(serde_json::json!({"role": "practitioner"})),
            NOT_UNDERSTOOD
        );
    }

    #[test]
    fn export_kinds_are_short_words() {
        assert_eq!(export_kind("family_copy"), Some("family_copy"));
        assert_eq!(export_kind("Family copy"), None);
        assert_eq!(export_kind(""), None);
        assert_eq!(export_kind(&"a".repeat(41)), None);
    }
}
