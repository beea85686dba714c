//! Calls to the relay's JSON API (accounts, case membership, audit): a thin adapter over the
//! browser's `fetch`. The session travels as an HttpOnly cookie the page cannot read.

use serde::de::DeserializeOwned;
use serde::Serialize;
use shared::api::{
    Agency, AgencySignIn, ApiError, CodeAccepted, CodeEntry, Export, Invite, Leaving, Me, Member,
    MyCase, NewAgency, NewProfessional, Professional, RegisterCase, SecondFactorNeeded, SignIn,
    SignInLink, SignInMethod, SignInStart,
};
use shared::DocumentId;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestCredentials, RequestInit, Response};

/// Why a call did not work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// The relay could not be reached: carry on offline.
    Offline,
    /// No session, or it has ended or been revoked: sign in again.
    SignedOut,
    /// The relay refused, with a sentence for the person.
    Refused(u16, String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Offline => write!(f, "You are offline, or TAC Planner's server cannot be reached. Try again when you are online."),
            CallError::SignedOut => write!(f, "Your session has ended. Sign in again."),
            CallError::Refused(_, message) => write!(f, "{message}"),
        }
    }
}

async fn call(method: &str, path: &str, body: Option<String>) -> Result<Response, CallError> {
    let init = RequestInit::new();
    init.set_method(method);
    init.set_credentials(RequestCredentials::SameOrigin);
    if let Some(body) = body {
        init.set_body(&JsValue::from_str(&body));
    }
    let request = Request::new_with_str_and_init(path, &init).map_err(|_| CallError::Offline)?;
    if method != "GET" {
        let _ = request.headers().set("Content-Type", "application/json");
    }
    fetch(request).await
}

/// Sends a request; a refusal becomes [`CallError`] with the relay's sentence.
async fn fetch(request: Request) -> Result<Response, CallError> {
    let window = web_sys::window().ok_or(CallError::Offline)?;
    let response: Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(|_| CallError::Offline)?
        .unchecked_into();
    match response.status() {
        200..=299 => Ok(response),
        401 => Err(CallError::SignedOut),
        // A relay that is down behind a proxy, or restarting: carry on offline.
        502..=504 => Err(CallError::Offline),
        status => {
            let message = text(&response)
                .await
                .ok()
                .and_then(|t| serde_json::from_str::<ApiError>(&t).ok())
                .map(|e| e.error)
                .unwrap_or_else(|| match status {
                    403 | 404 => "You do not have access to this.".to_string(),
                    429 => "Too many attempts. Wait a few minutes, then try again.".to_string(),
                    _ => "Something went wrong on TAC Planner's server. Try again.".to_string(),
                });
            Err(CallError::Refused(status, message))
        }
    }
}

async fn text(response: &Response) -> Result<String, CallError> {
    let promise = response.text().map_err(|_| CallError::Offline)?;
    JsFuture::from(promise)
        .await
        .ok()
        .and_then(|v| v.as_string())
        .ok_or(CallError::Offline)
}

async fn get<T: DeserializeOwned>(path: &str) -> Result<T, CallError> {
    let response = call("GET", path, None).await?;
    json(&response).await
}

async fn json<T: DeserializeOwned>(response: &Response) -> Result<T, CallError> {
    let body = text(response).await?;
    serde_json::from_str(&body).map_err(|_| {
        CallError::Refused(
            500,
            "TAC Planner's server sent something this version of the app does not understand. Reload the page.".into(),
        )
    })
}

async fn send<B: Serialize>(method: &str, path: &str, body: &B) -> Result<Response, CallError> {
    let body = serde_json::to_string(body).expect("API bodies serialise");
    call(method, path, Some(body)).await
}

pub async fn current_session() -> Result<Me, CallError> {
    get("/api/session").await
}

/// What a right password leads to.
pub enum PasswordAnswer {
    SignedIn(Me),
    /// A code from an authenticator app is needed too (202).
    CodeNeeded(SecondFactorNeeded),
}

/// The work email first: a password here, or the organisation's own sign-in.
pub async fn sign_in_method(email: &str) -> Result<SignInMethod, CallError> {
    let body = SignInStart {
        email: email.trim().to_string(),
    };
    json(&send("POST", "/api/sign-in/start", &body).await?).await
}

pub async fn sign_in(email: &str, password: &str) -> Result<PasswordAnswer, CallError> {
    let body = SignIn {
        email: email.trim().to_string(),
        password: password.to_string(),
    };
    let response = send("POST", "/api/session", &body)
        .await
        .map_err(|e| match e {
            // Here a 401 means wrong details, not an ended session.
            CallError::SignedOut => {
                CallError::Refused(401, "Email address or password is not right".into())
            }
            e => e,
        })?;
    if response.status() == 202 {
        return Ok(PasswordAnswer::CodeNeeded(json(&response).await?));
    }
    Ok(PasswordAnswer::SignedIn(json(&response).await?))
}

/// The code from the authenticator app (or a recovery code) after a right password.
pub async fn enter_code(pending: &str, code: &str) -> Result<CodeAccepted, CallError> {
    let body = CodeEntry {
        pending: pending.to_string(),
        code: code.trim().to_string(),
    };
    let response = send("POST", "/api/session/code", &body)
        .await
        .map_err(|e| match e {
            CallError::SignedOut => CallError::Refused(
                401,
                "That code is not right. Check your authenticator app and try again.".into(),
            ),
            e => e,
        })?;
    json(&response).await
}

/// How an organisation's people sign in (system administrators).
pub async fn set_agency_sign_in(agency_id: i64, body: &AgencySignIn) -> Result<Agency, CallError> {
    json(&send("PUT", &format!("/api/agencies/{agency_id}/sign-in"), body).await?).await
}

/// A one-time link for someone's first sign-in with their organisation's account.
pub async fn sign_in_link(professional_id: i64) -> Result<SignInLink, CallError> {
    let path = format!("/api/professionals/{professional_id}/sign-in-link");
    json(&call("POST", &path, None).await?).await
}

/// A lost phone: the person sets their authenticator app up again at their next sign-in.
pub async fn reset_second_factor(professional_id: i64) -> Result<(), CallError> {
    let path = format!("/api/professionals/{professional_id}/reset-second-factor");
    call("POST", &path, None).await.map(drop)
}

/// Who this device's session belonged to, if they have left the service (their account was
/// closed), and whether the device may still hand over its cases or may only remove them.
pub async fn leaving() -> Result<Leaving, CallError> {
    get("/api/leaving").await
}

pub async fn sign_out() -> Result<(), CallError> {
    call("DELETE", "/api/session", None).await.map(drop)
}

pub async fn my_cases() -> Result<Vec<MyCase>, CallError> {
    get("/api/cases").await
}

/// Tells the relay about a case made on this device; its maker becomes the lead professional.
pub async fn register_case(id: &DocumentId) -> Result<(), CallError> {
    send("POST", "/api/cases", &RegisterCase { id: id.to_string() })
        .await
        .map(drop)
}

pub async fn members(id: &DocumentId) -> Result<Vec<Member>, CallError> {
    get(&format!("/api/cases/{id}/members")).await
}

pub async fn invite(id: &DocumentId, professional_id: i64) -> Result<(), CallError> {
    let body = Invite { professional_id };
    send("POST", &format!("/api/cases/{id}/members"), &body)
        .await
        .map(drop)
}

pub async fn remove_member(id: &DocumentId, professional_id: i64) -> Result<(), CallError> {
    call(
        "DELETE",
        &format!("/api/cases/{id}/members/{professional_id}"),
        None,
    )
    .await
    .map(drop)
}

pub async fn directory() -> Result<Vec<Professional>, CallError> {
    get("/api/professionals").await
}

/// A document (`family-plan`, `referral`) drawn as a PDF by the relay, which records the copy.
pub async fn document_pdf(
    id: &DocumentId,
    kind: &str,
    doc: &shared::documents::Document,
) -> Result<web_sys::Blob, CallError> {
    let response = send("POST", &format!("/api/cases/{id}/documents/{kind}"), doc).await?;
    let promise = response.blob().map_err(|_| CallError::Offline)?;
    JsFuture::from(promise)
        .await
        .map(|b| b.unchecked_into())
        .map_err(|_| CallError::Offline)
}

/// Records that something left the system (e.g. a printed copy for the family).
pub async fn record_export(id: &DocumentId, kind: &str) -> Result<(), CallError> {
    let body = Export {
        kind: kind.to_string(),
    };
    send("POST", &format!("/api/cases/{id}/exports"), &body)
        .await
        .map(drop)
}

/// The case's audit trail, as rows of column name → value (admins only).
pub async fn audit(
    id: &DocumentId,
) -> Result<Vec<serde_json::Map<String, serde_json::Value>>, CallError> {
    get(&format!("/api/cases/{id}/audit")).await
}

pub async fn agencies() -> Result<Vec<Agency>, CallError> {
    get("/api/agencies").await
}

pub async fn create_agency(name: &str) -> Result<Agency, CallError> {
    let body = NewAgency {
        name: name.trim().to_string(),
    };
    json(&send("POST", "/api/agencies", &body).await?).await
}

pub async fn create_professional(new: &NewProfessional) -> Result<(), CallError> {
    send("POST", "/api/professionals", new).await.map(drop)
}

/// A leaver: no more sign-ins, every session ended, live connections cut off.
pub async fn deactivate(professional_id: i64) -> Result<(), CallError> {
    call(
        "POST",
        &format!("/api/professionals/{professional_id}/deactivate"),
        None,
    )
    .await
    .map(drop)
}

/// A lost laptop: every session of this professional ends now.
pub async fn revoke_sessions(professional_id: i64) -> Result<(), CallError> {
    call(
        "POST",
        &format!("/api/professionals/{professional_id}/revoke-sessions"),
        None,
    )
    .await
    .map(drop)
}

/// Who brought each change of a case to the shared record, and when (members only).
pub async fn receipts(id: &DocumentId) -> Result<shared::api::Receipts, CallError> {
    get(&format!("/api/cases/{id}/receipts")).await
}

/// The state of the case this person last saw, as the relay keeps it for them.
pub async fn last_looked(id: &DocumentId) -> Result<shared::api::LastLooked, CallError> {
    get(&format!("/api/cases/{id}/last-looked")).await
}

pub async fn put_last_looked(
    id: &DocumentId,
    looked: &shared::api::LastLooked,
) -> Result<(), CallError> {
    send("PUT", &format!("/api/cases/{id}/last-looked"), looked)
        .await
        .map(drop)
}

// ---- Subject access requests (`shared::documents::subject_access`) ----

use shared::documents::subject_access as sar;

pub async fn subject_access_requests(id: &DocumentId) -> Result<Vec<sar::Request>, CallError> {
    get(&format!("/api/cases/{id}/subject-access")).await
}

pub async fn open_subject_access(
    id: &DocumentId,
    new: &sar::NewRequest,
) -> Result<sar::Request, CallError> {
    let response = send("POST", &format!("/api/cases/{id}/subject-access"), new).await?;
    json(&response).await
}

/// The case piece by piece, as the relay holds it (or as it was reviewed).
pub async fn subject_access_pieces(id: &DocumentId, n: i64) -> Result<sar::PiecesAt, CallError> {
    get(&format!("/api/cases/{id}/subject-access/{n}/pieces")).await
}

pub async fn save_subject_access_review(
    id: &DocumentId,
    n: i64,
    review: &sar::Review,
) -> Result<sar::Request, CallError> {
    let path = format!("/api/cases/{id}/subject-access/{n}/review");
    let response = send("PUT", &path, review).await?;
    json(&response).await
}

/// One step of a request: `reopen` or `extend`.
pub async fn subject_access_step(
    id: &DocumentId,
    n: i64,
    step: &str,
) -> Result<sar::Request, CallError> {
    let path = format!("/api/cases/{id}/subject-access/{n}/{step}");
    let response = call("POST", &path, None).await?;
    json(&response).await
}

/// Approves a review, as the approver saw it.
pub async fn approve_subject_access(
    id: &DocumentId,
    n: i64,
    seen: &sar::Approve,
) -> Result<sar::Request, CallError> {
    let path = format!("/api/cases/{id}/subject-access/{n}/approve");
    let response = send("POST", &path, seen).await?;
    json(&response).await
}

/// Sends a review for approval, of the case as the reviewer saw it.
pub async fn submit_subject_access(
    id: &DocumentId,
    n: i64,
    seen: &sar::Submit,
) -> Result<sar::Request, CallError> {
    let path = format!("/api/cases/{id}/subject-access/{n}/submit");
    let response = send("POST", &path, seen).await?;
    json(&response).await
}

/// The approved copy as a file: `pdf` or `json`.
pub async fn subject_access_copy(
    id: &DocumentId,
    n: i64,
    format: &str,
) -> Result<web_sys::Blob, CallError> {
    let path = format!("/api/cases/{id}/subject-access/{n}/copy.{format}");
    let response = call("GET", &path, None).await?;
    let promise = response.blob().map_err(|_| CallError::Offline)?;
    JsFuture::from(promise)
        .await
        .map(|b| b.unchecked_into())
        .map_err(|_| CallError::Offline)
}

/// Cases opened on this device, for their audit trails (`crate::viewed`).
pub async fn report_views(views: &[shared::api::CaseView]) -> Result<(), CallError> {
    send("POST", "/api/views", &views).await.map(drop)
}

/// Cases this person has left, whose copies this device must hand over and remove.
pub async fn departures() -> Result<Vec<shared::api::Departure>, CallError> {
    get("/api/departures").await
}

/// This device's copy of a case (Automerge bytes), so the relay takes any edits not yet
/// shared; answers how many changes were new to it.
pub async fn final_edits(
    id: &DocumentId,
    copy: &[u8],
) -> Result<shared::api::FinalEdits, CallError> {
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_credentials(RequestCredentials::SameOrigin);
    let body = js_sys::Uint8Array::from(copy);
    init.set_body(&body);
    let path = format!("/api/cases/{id}/final-edits");
    let request = Request::new_with_str_and_init(&path, &init).map_err(|_| CallError::Offline)?;
    let _ = request
        .headers()
        .set("Content-Type", "application/octet-stream");
    let response = fetch(request).await?;
    json(&response).await
}

/// This device (its storage id) has removed its copy of a case.
pub async fn copy_removed(
    id: &DocumentId,
    device: &str,
    because: shared::api::RemovedBecause,
) -> Result<(), CallError> {
    let body = shared::api::CopyRemoved {
        device: device.to_string(),
        because,
    };
    send(
        "POST",
        &format!("/api/cases/{id}/device-copy-removed"),
        &body,
    )
    .await
    .map(drop)
}

/// How the council wants devices to treat cases.
pub async fn device_policy() -> Result<shared::api::DevicePolicy, CallError> {
    get("/api/device-policy").await
}

/// How long closed cases are kept, and who the records manager is.
pub async fn records_settings() -> Result<shared::api::RecordsSettings, CallError> {
    get("/api/records/settings").await
}

pub async fn set_records_settings(body: &shared::api::RecordsSettings) -> Result<(), CallError> {
    send("PUT", "/api/records/settings", body).await.map(drop)
}

/// Closed cases whose retention period has ended (the records manager only).
pub async fn due_cases() -> Result<Vec<shared::api::DueCase>, CallError> {
    get("/api/records/due").await
}

/// The destruction log.
pub async fn destroyed_cases() -> Result<Vec<shared::api::DestroyedCase>, CallError> {
    get("/api/records/destroyed").await
}

pub async fn place_hold(case: &str, reason: &str) -> Result<(), CallError> {
    let body = shared::api::HoldRequest {
        reason: reason.to_string(),
    };
    send("PUT", &format!("/api/records/{case}/hold"), &body)
        .await
        .map(drop)
}

pub async fn lift_hold(case: &str) -> Result<(), CallError> {
    call("DELETE", &format!("/api/records/{case}/hold"), None)
        .await
        .map(drop)
}

pub async fn destroy_case(case: &str) -> Result<(), CallError> {
    call("POST", &format!("/api/records/{case}/destroy"), None)
        .await
        .map(drop)
}
