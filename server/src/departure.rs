//! Cases leaving devices, with nothing typed lost: when the person leaves the case's team, and
//! when the case closed long ago ([`shared::api::DevicePolicy`]; it stays here, and members can
//! still open it from its link, which the relay audits like any sync).
//!
//! When someone is removed from a case (by the lead, or by the family withdrawing consent),
//! [`crate::access`] notes their departure. Each of their devices, at its next contact, asks
//! for its departures, sends its copy of each such case here ([`final_edits`]: any edits not
//! yet shared are taken, checked and journalled as from any member, and audited), deletes the
//! case once the relay holds everything, and says so ([`copy_removed`]), so the relay knows
//! which devices still hold a copy. Sync itself stays closed to them.
//!
//! Someone who leaves the service (an administrator deactivates them) has left every case of
//! theirs at once: a device of theirs still signed in does the same for each, with nothing
//! else open to it ([`crate::auth::HandingOver`]), then clears itself.

use crate::api::{self, ApiError, ApiResult, Body, Path};
use crate::audit::Event;
use crate::auth::{ClientAddr, DeviceOwner, HandingOver, SignedIn};
use crate::cluster::Place;
use crate::journal::JournalError;
use crate::untrusted::Kind;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use shared::api::{CopyRemoved, Departure, DevicePolicy, FinalEdits, RemovedBecause};

/// The largest copy of a case a device may send: far above any real case.
pub const MAX_COPY_BYTES: usize = 32 * 1024 * 1024;
/// How long to wait for the merged changes to be on disk before saying so.
const DISK_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/departures", get(departures))
        .route(
            "/cases/{id}/final-edits",
            post(final_edits).layer(DefaultBodyLimit::max(MAX_COPY_BYTES)),
        )
        .route("/cases/{id}/device-copy-removed", post(copy_removed))
        .route("/device-policy", get(device_policy))
}

async fn device_policy(State(state): State<AppState>, SignedIn(_): SignedIn) -> Json<DevicePolicy> {
    Json(state.device_policy)
}

async fn departures(
    State(state): State<AppState>,
    HandingOver(me): HandingOver,
) -> ApiResult<Json<Vec<Departure>>> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT d.case_id, d.left_at,
                (SELECT COUNT(*) FROM disposals x WHERE x.case_id = d.case_id)
         FROM departures d WHERE d.professional_id = $1 ORDER BY d.left_at",
    )
    .bind(me.professional.id)
    .fetch_all(&state.db)
    .await?;
    // A member again (memory is the first to know): not a departure. A leaver's memberships
    // are kept for the record, but every case of theirs is one.
    Ok(Json(
        rows.into_iter()
            .filter(|(case, _, _)| !state.access.may_sync(case, me.professional.id))
            .map(|(case_id, left_at, destroyed)| Departure {
                case_id,
                left_at,
                destroyed: destroyed > 0,
            })
            .collect(),
    ))
}

/// How long after leaving a device may still hand over its last edits: a laptop left in a
/// drawer over the holidays still gets its chance, but not for ever.
pub const FINAL_EDITS_WINDOW_SECS: i64 = 90 * 24 * 3600;

async fn has_left(state: &AppState, case: &str, professional: i64) -> ApiResult<bool> {
    Ok(state.access.left_at(case, professional).await?.is_some())
}

async fn recently_left(state: &AppState, case: &str, professional: i64) -> ApiResult<bool> {
    Ok(state
        .access
        .left_at(case, professional)
        .await?
        .is_some_and(|at| crate::accounts::now() - at <= FINAL_EDITS_WINDOW_SECS))
}

/// A device's copy of a case (Automerge chunks, e.g. the whole saved document) from someone
/// on the team or who has just left it: whatever the relay lacks is checked like any sync
/// message (decoded in a worker, every new change the sender's own) and merged into the
/// shared record. Answers how many changes were new.
async fn final_edits(
    State(state): State<AppState>,
    HandingOver(me): HandingOver,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult<Response> {
    let case = api::case_id(&id)?;
    if crate::records::is_destroyed(&state.db, &case).await? {
        return Err(crate::records::gone());
    }
    // Another relay works on the case: it takes them, as if the device had asked it.
    let owner = match state.repos.place_of(&case).await {
        Place::Here => None,
        Place::There(owner) => Some(owner),
        // Moving between relays: the device tries again shortly.
        Place::Unsettled => return Err(not_taken_now()),
    };
    if let Some(owner) = owner {
        let forwarded = match (&state.cluster, headers.get(header::COOKIE)) {
            (Some(cluster), Some(cookie)) if !cluster.vouches(&headers) => {
                let cookie = cookie.to_str().unwrap_or_default();
                let path = format!("/api/cases/{case}/final-edits");
                cluster
                    .post(&owner, &path, cookie, client, bytes.to_vec())
                    .await
                    .ok()
            }
            _ => None,
        };
        return match forwarded {
            Some((status, body)) => Ok((
                StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
                [(header::CONTENT_TYPE, "application/json")],
                body,
            )
                .into_response()),
            None => Err(not_taken_now()),
        };
    }
    let me_id = me.professional.id;
    // On the team still (a leaver's memberships are kept only for the record).
    let member = state.access.may_sync(&case, me_id);
    if !member && !recently_left(&state, &case, me_id).await? {
        return Err(ApiError::not_found("case"));
    }
    let event = |outcome| {
        Event::new("final_edits", outcome)
            .actor(me_id)
            .case(&case)
            .client(client)
    };
    let refused = |why: &str| {
        ApiError::bad_request(&format!(
            "The copy of this case on your device could not be read ({why}). It has been kept. \
             Tell your system administrator."
        ))
    };
    if let Err(e) = state.checker.check(Kind::Chunks, &bytes).await {
        state.audit.record(event("refused_unreadable")).await;
        return Err(refused(&e.0));
    }
    let new = match state
        .journal
        .check_chunks(&state.repos, &case, me_id, &bytes)
        .await
    {
        Ok(n) => n,
        Err(JournalError::Refused(_)) => {
            state.audit.record(event("refused_not_yours")).await;
            return Err(ApiError::forbidden(
                "This copy holds changes made under someone else's name, so it was not taken.",
            ));
        }
        Err(JournalError::Unreadable(e)) => {
            state.audit.record(event("refused_unreadable")).await;
            return Err(refused(&e.0));
        }
        Err(e) => {
            tracing::error!(professional = me_id, case = %case, error = %e, "final edits could not be journalled");
            return Err(not_taken_now());
        }
    };
    let merged = crate::journal::change_case(&state.repos, &state.db, &case, move |doc| {
        doc.load_incremental(&bytes).map(|_| doc.get_heads())
    })
    .await;
    match merged {
        // Moved to another relay in the meantime: the device tries again.
        Some(Err(crate::journal::Elsewhere)) => Err(not_taken_now()),
        Some(Ok(Ok(heads))) => {
            // The device deletes its copy once told: only when the changes are on disk.
            if !state.durable.wait_for(&case, &heads, DISK_WAIT).await {
                return Err(ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The server has not saved the changes yet. They are kept on your device; \
                     try again in a minute.",
                ));
            }
            if new > 0 {
                let outcome = if member {
                    "success"
                } else {
                    "success_after_leaving"
                };
                state.audit.record(event(outcome)).await;
            }
            Ok(Json(FinalEdits {
                new,
                at: crate::accounts::now_ms(),
            })
            .into_response())
        }
        Some(Ok(Err(_))) => {
            state.audit.record(event("refused_unreadable")).await;
            Err(refused("it does not load"))
        }
        // Nothing of it ever reached the relay (made offline, say): it syncs as usual instead.
        None => Err(ApiError::new(
            StatusCode::CONFLICT,
            "The server does not hold this case yet, so your copy is kept on this device.",
        )),
    }
}

/// A device has removed its copy: its owner left the team, or (a member's) the case closed
/// long ago. Also from a leaver's device that may no longer hand over (it only clears itself):
/// recorded as such.
async fn copy_removed(
    State(state): State<AppState>,
    DeviceOwner {
        professional_id: me_id,
        may_hand_over: handing_over,
        ..
    }: DeviceOwner,
    ClientAddr(client): ClientAddr,
    Path(id): Path<String>,
    Body(body): Body<CopyRemoved>,
) -> ApiResult<StatusCode> {
    let case = api::case_id(&id)?;
    let allowed = match body.because {
        RemovedBecause::Left => has_left(&state, &case, me_id).await?,
        // A leaver's too (their memberships are kept): a report their device made before.
        RemovedBecause::Closed => state.access.role(&case, me_id).is_some(),
        RemovedBecause::Destroyed => {
            has_left(&state, &case, me_id).await?
                && crate::records::is_destroyed(&state.db, &case).await?
        }
    };
    if !allowed {
        return Err(ApiError::not_found("case"));
    }
    let device = body.device.trim();
    if device.is_empty() || device.len() > 100 {
        return Err(ApiError::bad_request("Say which device removed its copy."));
    }
    // Said by a session that may do nothing else (a dismissal, a lost laptop): on record
    // apart, since whoever holds that laptop says it.
    let outcome = match (handing_over, body.because) {
        (true, because) => because.as_str(),
        (false, RemovedBecause::Left) => "left_after_sign_out",
        (false, RemovedBecause::Closed) => "closed_after_sign_out",
        (false, RemovedBecause::Destroyed) => "destroyed_after_sign_out",
    };
    if !handing_over {
        // Whoever holds a signed-out laptop says this: a few reports per case at most, and
        // never in place of one a trusted session made.
        let said: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM device_copies_removed WHERE case_id = $1 AND professional_id = $2",
        )
        .bind(&case)
        .bind(me_id)
        .fetch_one(&state.db)
        .await?;
        if said >= MOST_DEVICES_SIGNED_OUT {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "This removal has been reported already.",
            ));
        }
    }
    // Trusted reports replace an earlier one for the device; a signed-out device's never do,
    // and are stored under their own reason, so no count of confirmations includes them.
    let conflict = if handing_over {
        "DO UPDATE SET removed_at = excluded.removed_at, because = excluded.because"
    } else {
        "DO NOTHING"
    };
    sqlx::query(&format!(
        "INSERT INTO device_copies_removed (case_id, professional_id, device, removed_at, because)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (case_id, professional_id, device) {conflict}"
    ))
    .bind(&case)
    .bind(me_id)
    .bind(device)
    .bind(crate::accounts::now())
    .bind(outcome)
    .execute(&state.db)
    .await?;
    state
        .audit
        .record(
            Event::new("device_copy_removed", outcome)
                .actor(me_id)
                .case(&case)
                .client(client),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

/// Most device rows for one person and case that a signed-out leaver's device may report.
const MOST_DEVICES_SIGNED_OUT: i64 = 10;

fn not_taken_now() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "The server could not take the changes just now. They are kept on your device; \
         try again in a minute.",
    )
}
