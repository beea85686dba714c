//! Subject access requests on the relay: recording one, the reviewer's withholdings, a second
//! person's approval, and the copy (PDF and JSON) made from the relay's copy of the case.
//!
//! The relay holds this rather than the case document because who reviewed and who approved
//! must be people the relay has signed in, not whatever a device wrote. The review is of the
//! case as the relay held it when the reviewer finished (its heads are kept), and the copy is
//! made of exactly that, so nothing added later goes out unreviewed. Every step is audited
//! (ids only); a refused approval too. What goes into the copy is decided in
//! [`shared::documents::subject_access`].

use crate::accounts::{self, now_ms, Professional};
use crate::api::{self, ApiError, ApiResult, Body, Path};
use crate::audit::Event;
use crate::auth::{ClientAddr, SignedIn};
use crate::AppState;
use automerge::{Automerge, ChangeHash, ReadDoc};
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use shared::documents::subject_access::{
    self as sar, Approve, Cover, NewRequest, Piece, PiecesAt, Request, Review, Status, Submit,
};
use shared::record::dates::{uk_day, Day};
use shared::record::history::Received;
use shared::record::CaseRecord;
use std::collections::HashMap;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/cases/{id}/subject-access", get(list).post(open))
        .route("/cases/{id}/subject-access/{n}/pieces", get(pieces))
        .route("/cases/{id}/subject-access/{n}/review", put(save_review))
        .route("/cases/{id}/subject-access/{n}/submit", post(submit))
        .route("/cases/{id}/subject-access/{n}/reopen", post(reopen))
        .route("/cases/{id}/subject-access/{n}/approve", post(approve))
        .route("/cases/{id}/subject-access/{n}/extend", post(extend))
        .route("/cases/{id}/subject-access/{n}/copy.pdf", get(copy_pdf))
        .route("/cases/{id}/subject-access/{n}/copy.json", get(copy_json))
}

#[derive(sqlx::FromRow)]
struct Stored {
    id: i64,
    person_id: String,
    received_on: String,
    /// 1 or 0.
    extended: i64,
    status: String,
    review: String,
    editors: String,
    heads: Option<String>,
    opened_by: i64,
    reviewed_by: Option<i64>,
    approved_by: Option<i64>,
    released_at: Option<i64>,
}

impl Stored {
    fn request(&self) -> Request {
        let answer_by = Day::parse(&self.received_on)
            .map(|d| sar::answer_by(d, self.extended != 0).iso())
            .unwrap_or_default();
        Request {
            id: self.id,
            person_id: self.person_id.clone(),
            received_on: self.received_on.clone(),
            answer_by,
            extended: self.extended != 0,
            status: Status::parse(&self.status).unwrap_or(Status::Reviewing),
            review: serde_json::from_str(&self.review).unwrap_or_default(),
            opened_by: self.opened_by,
            reviewed_by: self.reviewed_by,
            approved_by: self.approved_by,
            released_at: self.released_at,
        }
    }

    fn status(&self) -> Option<Status> {
        Status::parse(&self.status)
    }

    /// The review as saved; an unreadable one is an error, never "nothing withheld".
    fn review(&self) -> ApiResult<Review> {
        serde_json::from_str(&self.review).map_err(|_| {
            ApiError::new(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "This request's review could not be read. Take it back and review it again.",
            )
        })
    }

    fn editors(&self) -> Vec<i64> {
        serde_json::from_str(&self.editors).unwrap_or_default()
    }

    /// The editors with `me` added, as stored.
    fn editors_with(&self, me: i64) -> String {
        let mut editors = self.editors();
        if !editors.contains(&me) {
            editors.push(me);
        }
        serde_json::to_string(&editors).unwrap_or_else(|_| "[]".into())
    }

    fn heads(&self) -> Option<Vec<ChangeHash>> {
        let heads: Vec<String> = serde_json::from_str(self.heads.as_deref()?).ok()?;
        heads.iter().map(|h| h.parse().ok()).collect()
    }
}

const COLUMNS: &str = "id, person_id, received_on, extended, status, review, editors, heads, \
                       opened_by, reviewed_by, approved_by, released_at";

/// The case id, having checked the caller is on the case (404 otherwise).
fn member_case(state: &AppState, raw: &str, me: &Professional) -> ApiResult<String> {
    let id = api::case_id(raw)?;
    api::role_on(state, &id, me)?;
    Ok(id)
}

async fn load(state: &AppState, case: &str, n: i64) -> ApiResult<Stored> {
    sqlx::query_as::<_, Stored>(&format!(
        "SELECT {COLUMNS} FROM subject_access_requests WHERE case_id = $1 AND id = $2"
    ))
    .bind(case)
    .bind(n)
    .fetch_optional(&state.db)
    .await?
    .ok_or_else(|| ApiError::not_found("request"))
}

async fn audit(state: &AppState, kind: &str, outcome: &'static str, me: i64, case: &str) {
    state
        .audit
        .record(Event::new(kind, outcome).actor(me).case(case))
        .await;
}

async fn list(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<Request>>> {
    let id = member_case(&state, &id, &me.professional)?;
    let rows = sqlx::query_as::<_, Stored>(&format!(
        "SELECT {COLUMNS} FROM subject_access_requests WHERE case_id = $1 ORDER BY id"
    ))
    .bind(&id)
    .fetch_all(&state.db)
    .await?;
    Ok(Json(rows.iter().map(Stored::request).collect()))
}

/// The relay's copy of a case, cloned out so the work on it runs off samod's threads.
async fn relay_doc(state: &AppState, case: &str) -> ApiResult<Automerge> {
    crate::journal::read_case(&state.repos, &state.db, case, |doc| doc.clone())
        .await
        .ok_or_else(|| {
            ApiError::bad_request(
                "The server does not hold this case yet. Wait until it has synced, then try \
                 again.",
            )
        })
}

async fn open(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    ClientAddr(client): ClientAddr,
    Path(id): Path<String>,
    Body(new): Body<NewRequest>,
) -> ApiResult<Json<Request>> {
    let id = member_case(&state, &id, &me.professional)?;
    let received = Day::parse(&new.received_on).ok_or_else(|| {
        ApiError::bad_request("Enter the date the request was received, like 26 11 2026.")
    })?;
    if received > uk_day(now_ms()) {
        return Err(ApiError::bad_request(
            "The date the request was received must be today or in the past.",
        ));
    }
    let doc = relay_doc(&state, &id).await?;
    let person = new.person_id.clone();
    let known = tokio::task::spawn_blocking(move || {
        CaseRecord::from_document(&doc)
            .ok()
            .is_some_and(|r| r.family.people.iter().any(|p| p.id == person))
    })
    .await
    .unwrap_or(false);
    if !known {
        return Err(ApiError::bad_request(
            "That person is not in the case on the server yet. Wait until the case has synced, \
             then try again.",
        ));
    }
    let n: i64 = sqlx::query_scalar(
        "INSERT INTO subject_access_requests
            (case_id, person_id, received_on, status, review, opened_by, opened_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(&id)
    .bind(&new.person_id)
    .bind(received.iso())
    .bind(Status::Reviewing.as_str())
    .bind(serde_json::to_string(&Review::default()).unwrap_or_default())
    .bind(me.professional.id)
    .bind(now_ms())
    .fetch_one(&state.db)
    .await?;
    state
        .audit
        .record(
            Event::new("subject_access_opened", "success")
                .actor(me.professional.id)
                .case(&id)
                .client(client),
        )
        .await;
    Ok(Json(load(&state, &id, n).await?.request()))
}

/// Everyone who recorded something in the case, by professional id: "Name, Organisation".
async fn names(
    state: &AppState,
    case: &str,
) -> ApiResult<(HashMap<ChangeHash, Received>, HashMap<i64, String>)> {
    let receipts = api::case_receipts(state, case).await?;
    let names = receipts
        .people
        .iter()
        .map(|a| (a.professional_id, format!("{}, {}", a.name, a.agency_name)))
        .collect();
    Ok((receipts.by_change(), names))
}

/// The case piece by piece, at the review's heads once it has been sent for approval, or as
/// the relay holds it now; with the heads used.
async fn read_pieces(
    state: &AppState,
    case: &str,
    stored: &Stored,
) -> ApiResult<(Vec<Piece>, Vec<ChangeHash>, Automerge)> {
    let doc = relay_doc(state, case).await?;
    let (receipts, names) = names(state, case).await?;
    let heads = stored.heads().unwrap_or_else(|| doc.get_heads());
    let subject = stored.person_id.clone();
    tokio::task::spawn_blocking(move || {
        let pieces = sar::pieces(&doc, &heads, &receipts, &subject, |p| {
            names.get(&p).cloned()
        });
        (pieces, heads, doc)
    })
    .await
    .map_err(|_| {
        ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong on the server. Try again in a minute.",
        )
    })
}

/// Members only; reading the case for a review is audited.
async fn pieces(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    Path((id, n)): Path<(String, i64)>,
) -> ApiResult<Json<PiecesAt>> {
    let id = member_case(&state, &id, &me.professional)?;
    let stored = load(&state, &id, n).await?;
    let (pieces, heads, _) = read_pieces(&state, &id, &stored).await?;
    audit(
        &state,
        "subject_access_read",
        "success",
        me.professional.id,
        &id,
    )
    .await;
    Ok(Json(PiecesAt {
        heads: heads.iter().map(ChangeHash::to_string).collect(),
        pieces,
    }))
}

/// A step done: audited, and the request as it stands now.
async fn done(
    state: &AppState,
    kind: &str,
    me: i64,
    case: &str,
    n: i64,
) -> ApiResult<Json<Request>> {
    audit(state, kind, "success", me, case).await;
    Ok(Json(load(state, case, n).await?.request()))
}

fn refuse(message: &str) -> ApiError {
    ApiError::new(axum::http::StatusCode::CONFLICT, message)
}

async fn save_review(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    Path((id, n)): Path<(String, i64)>,
    Body(review): Body<Review>,
) -> ApiResult<Json<Request>> {
    let id = member_case(&state, &id, &me.professional)?;
    if let Some(problem) = review.problem() {
        return Err(ApiError::bad_request(&problem));
    }
    let stored = load(&state, &id, n).await?;
    let saved = sqlx::query(
        "UPDATE subject_access_requests SET review = $1, editors = $2
         WHERE id = $3 AND status = $4 AND editors = $5",
    )
    .bind(serde_json::to_string(&review).unwrap_or_default())
    .bind(stored.editors_with(me.professional.id))
    .bind(n)
    .bind(Status::Reviewing.as_str())
    .bind(&stored.editors)
    .execute(&state.db)
    .await?
    .rows_affected();
    if saved != 1 {
        return Err(refuse(
            "This review has been sent for approval, or someone else saved it a moment ago. \
             Reload the page.",
        ));
    }
    done(
        &state,
        "subject_access_review_saved",
        me.professional.id,
        &id,
        n,
    )
    .await
}

/// The reviewer has finished: the case as they saw it (its heads) is what will be released,
/// never anything added since.
async fn submit(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    Path((id, n)): Path<(String, i64)>,
    Body(seen): Body<Submit>,
) -> ApiResult<Json<Request>> {
    let id = member_case(&state, &id, &me.professional)?;
    let stored = load(&state, &id, n).await?;
    if stored.status() != Some(Status::Reviewing) {
        return Err(refuse("This review has already been sent for approval."));
    }
    stored.review()?;
    let heads: Option<Vec<ChangeHash>> = seen.heads.iter().map(|h| h.parse().ok()).collect();
    let doc = relay_doc(&state, &id).await?;
    let held = heads.as_ref().is_some_and(|hs| {
        !hs.is_empty() && hs.len() <= 64 && hs.iter().all(|h| doc.get_change_by_hash(h).is_some())
    });
    if !held {
        return Err(ApiError::bad_request(
            "This review is of a version of the case the server does not hold. Reload the page \
             and check it again.",
        ));
    }
    let heads: Vec<String> = heads
        .unwrap_or_default()
        .iter()
        .map(|h| h.to_string())
        .collect();
    let sent = sqlx::query(
        "UPDATE subject_access_requests
         SET status = $1, heads = $2, reviewed_by = $3, reviewed_at = $4, editors = $5
         WHERE id = $6 AND status = $7 AND editors = $8",
    )
    .bind(Status::AwaitingApproval.as_str())
    .bind(serde_json::to_string(&heads).unwrap_or_default())
    .bind(me.professional.id)
    .bind(now_ms())
    .bind(stored.editors_with(me.professional.id))
    .bind(n)
    .bind(Status::Reviewing.as_str())
    .bind(&stored.editors)
    .execute(&state.db)
    .await?
    .rows_affected();
    if sent != 1 {
        return Err(refuse(
            "Someone changed this review a moment ago. Reload the page.",
        ));
    }
    done(
        &state,
        "subject_access_review_submitted",
        me.professional.id,
        &id,
        n,
    )
    .await
}

/// Back to reviewing (to change what is withheld, or to take in what the case holds now):
/// any approval is undone. Not once a copy has been made: that copy's record stays as it was.
async fn reopen(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    Path((id, n)): Path<(String, i64)>,
) -> ApiResult<Json<Request>> {
    let id = member_case(&state, &id, &me.professional)?;
    load(&state, &id, n).await?;
    let reopened = sqlx::query(
        "UPDATE subject_access_requests
         SET status = $1, heads = NULL, reviewed_by = NULL, reviewed_at = NULL,
             approved_by = NULL, approved_at = NULL
         WHERE id = $2 AND status IN ($3, $4)",
    )
    .bind(Status::Reviewing.as_str())
    .bind(n)
    .bind(Status::AwaitingApproval.as_str())
    .bind(Status::Approved.as_str())
    .execute(&state.db)
    .await?
    .rows_affected();
    if reopened != 1 {
        return Err(refuse(
            "This review cannot be taken back now. If a copy has been made, record a new \
             request to send another.",
        ));
    }
    done(
        &state,
        "subject_access_reopened",
        me.professional.id,
        &id,
        n,
    )
    .await
}

/// A second person approves release: never anyone who changed or sent the review, and only
/// the review and version of the case they saw.
async fn approve(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    Path((id, n)): Path<(String, i64)>,
    Body(seen): Body<Approve>,
) -> ApiResult<Json<Request>> {
    let id = member_case(&state, &id, &me.professional)?;
    let stored = load(&state, &id, n).await?;
    if stored.status() != Some(Status::AwaitingApproval) {
        return Err(refuse("This request is not waiting for approval."));
    }
    if stored.reviewed_by == Some(me.professional.id)
        || stored.editors().contains(&me.professional.id)
    {
        audit(
            &state,
            "subject_access_approved",
            "denied",
            me.professional.id,
            &id,
        )
        .await;
        return Err(ApiError::forbidden(
            "You reviewed this request, so someone else must approve it.",
        ));
    }
    let seen_heads = serde_json::to_string(&seen.heads).unwrap_or_default();
    if stored.review()? != seen.review || stored.heads.as_deref() != Some(seen_heads.as_str()) {
        return Err(refuse(
            "The review changed while you were looking at it. Reload the page and check it again.",
        ));
    }
    let approved = sqlx::query(
        "UPDATE subject_access_requests SET status = $1, approved_by = $2, approved_at = $3
         WHERE id = $4 AND status = $5 AND heads = $6 AND review = $7",
    )
    .bind(Status::Approved.as_str())
    .bind(me.professional.id)
    .bind(now_ms())
    .bind(n)
    .bind(Status::AwaitingApproval.as_str())
    .bind(&seen_heads)
    .bind(&stored.review)
    .execute(&state.db)
    .await?
    .rows_affected();
    if approved != 1 {
        return Err(refuse(
            "The review changed while you were looking at it. Reload the page and check it again.",
        ));
    }
    done(
        &state,
        "subject_access_approved",
        me.professional.id,
        &id,
        n,
    )
    .await
}

/// A complex request may take two more months; the person must be told within the first, so
/// it can be extended only before the first month is up, and not once answered.
async fn extend(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    Path((id, n)): Path<(String, i64)>,
) -> ApiResult<Json<Request>> {
    let id = member_case(&state, &id, &me.professional)?;
    let stored = load(&state, &id, n).await?;
    let due = Day::parse(&stored.received_on).map(|d| sar::answer_by(d, false));
    if stored.status() == Some(Status::Released) || due.is_none_or(|d| uk_day(now_ms()) > d) {
        return Err(refuse(
            "The deadline can only be extended before the first month is up, and before the \
             copy is sent.",
        ));
    }
    sqlx::query("UPDATE subject_access_requests SET extended = 1 WHERE id = $1")
        .bind(n)
        .execute(&state.db)
        .await?;
    done(
        &state,
        "subject_access_extended",
        me.professional.id,
        &id,
        n,
    )
    .await
}

/// The copy, for an approved request: made from the reviewed heads with the review applied.
async fn copy(
    state: &AppState,
    case: &str,
    n: i64,
    me: &Professional,
) -> ApiResult<(shared::documents::Document, sar::Export, (String, String))> {
    let stored = load(state, case, n).await?;
    if !matches!(stored.status(), Some(Status::Approved | Status::Released))
        || stored.heads().is_none()
    {
        audit(state, "subject_access_released", "denied", me.id, case).await;
        return Err(refuse(
            "This copy cannot be made until a second person has approved the review.",
        ));
    }
    let review = stored.review()?;
    let request = stored.request();
    let (pieces, heads, doc) = read_pieces(state, case, &stored).await?;
    let mut recipients: Vec<String> = Vec::new();
    for (pid, _) in state.access.members(case) {
        if let Some(p) = accounts::professional(&state.db, pid).await? {
            recipients.push(p.agency_name);
        }
    }
    let day = |iso: &str| Day::parse(iso).map(Day::in_words).unwrap_or_default();
    let subject = request.person_id.clone();
    let (received, answer_by) = (day(&request.received_on), day(&request.answer_by));
    let made = tokio::task::spawn_blocking(move || {
        let then = shared::record::history::state_at(&doc, &heads);
        let record = CaseRecord::from_document(&then).unwrap_or_default();
        let subject_name = record
            .family
            .people
            .iter()
            .find(|p| p.id == subject)
            .map(|p| p.display_name())
            .unwrap_or_else(|| "the person who asked".into());
        // Only what the copy itself may say: withheld sharing decisions and people stay out.
        for s in &record.consent.sharing {
            let piece = format!("consent/sharing/{}", s.id);
            let withheld = review.withholds(&piece) || review.withholds(&format!("{piece}/with"));
            if s.shared == Some(true) && !s.with.trim().is_empty() && !withheld {
                recipients.push(s.with.trim().to_string());
            }
        }
        recipients.sort();
        recipients.dedup();
        let words: Vec<&str> = review.words.iter().map(|w| w.words.trim()).collect();
        let cover = Cover {
            subject: sar::remove_words(&subject_name, &words),
            received,
            answer_by,
            made_on: uk_day(now_ms()).in_words(),
            children: record
                .children()
                .filter(|c| {
                    let piece = format!("family/people/{}", c.id);
                    !review.withholds(&piece) && !review.withholds(&format!("{piece}/name"))
                })
                .map(|c| sar::remove_words(&c.display_name(), &words))
                .collect(),
            recipients: recipients
                .iter()
                .map(|r| sar::remove_words(r, &words))
                .collect(),
            withheld: review.reasons(),
        };
        sar::build(&cover, &sar::redact(&pieces, &review))
    })
    .await
    .map_err(|_| {
        ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong on the server. Try again in a minute.",
        )
    })?;
    Ok((
        made.0,
        made.1,
        (stored.heads.unwrap_or_default(), stored.review),
    ))
}

/// Notes that the copy made of the reviewed version has gone out; refused if the request was
/// taken back meanwhile (the copy made then is not handed over).
async fn released(
    state: &AppState,
    case: &str,
    n: i64,
    (heads, review): &(String, String),
) -> ApiResult<()> {
    let done = sqlx::query(
        "UPDATE subject_access_requests
         SET status = $1, released_at = COALESCE(released_at, $2)
         WHERE case_id = $3 AND id = $4 AND status IN ($5, $6) AND heads = $7 AND review = $8",
    )
    .bind(Status::Released.as_str())
    .bind(now_ms())
    .bind(case)
    .bind(n)
    .bind(Status::Approved.as_str())
    .bind(Status::Released.as_str())
    .bind(heads)
    .bind(review)
    .execute(&state.db)
    .await?
    .rows_affected();
    if done == 1 {
        Ok(())
    } else {
        Err(refuse(
            "This review was taken back while the copy was being made. It must be approved \
             again.",
        ))
    }
}

async fn copy_pdf(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    Path((id, n)): Path<(String, i64)>,
) -> ApiResult<Response> {
    let id = member_case(&state, &id, &me.professional)?;
    let (document, _, heads) = copy(&state, &id, n, &me.professional).await?;
    let bytes = api::draw_pdf(document).await?;
    released(&state, &id, n, &heads).await?;
    audit(
        &state,
        "subject_access_released_pdf",
        "success",
        me.professional.id,
        &id,
    )
    .await;
    Ok(api::download(
        "application/pdf",
        &format!("information-request-{n}.pdf"),
        bytes,
    ))
}

async fn copy_json(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    Path((id, n)): Path<(String, i64)>,
) -> ApiResult<Response> {
    let id = member_case(&state, &id, &me.professional)?;
    let (_, export, heads) = copy(&state, &id, n, &me.professional).await?;
    let json = serde_json::to_vec_pretty(&export).unwrap_or_default();
    released(&state, &id, n, &heads).await?;
    audit(
        &state,
        "subject_access_released_json",
        "success",
        me.professional.id,
        &id,
    )
    .await;
    Ok(api::download(
        "application/json",
        &format!("information-request-{n}.json"),
        json,
    ))
}
