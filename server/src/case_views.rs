//! Views of a case, as devices report them: opening a case on a device is recorded in the
//! case's audit trail (who, which case, when), so "who has looked at this child's record" has
//! an answer. A device opening a case offline keeps the view and reports it when next online,
//! with the time it happened ([`crate::audit::Event::occurred_at`]).

use crate::api::{self, ApiError, ApiResult, Body};
use crate::audit::Event;
use crate::auth::{ClientAddr, HandingOver};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use shared::api::{CaseView, MAX_VIEWS_PER_REPORT};

pub fn router() -> Router<AppState> {
    Router::new().route("/views", post(report))
}

/// Records each view by id, once (a device may report a view twice if it lost the answer). A
/// view of a case the person has left is recorded too (their device showed it), marked
/// `not_a_member`; views of cases they were never on are ignored, so nobody can fill another
/// case's trail with noise.
async fn report(
    State(state): State<AppState>,
    // A leaver's device reports what was opened on it before it clears itself.
    HandingOver(me): HandingOver,
    ClientAddr(client): ClientAddr,
    Body(views): Body<Vec<CaseView>>,
) -> ApiResult<StatusCode> {
    if views.len() > MAX_VIEWS_PER_REPORT {
        return Err(ApiError::bad_request(&format!(
            "Send at most {MAX_VIEWS_PER_REPORT} views at a time."
        )));
    }
    for view in views {
        let Ok(case) = api::case_id(&view.case_id) else {
            continue;
        };
        if !state.access.is_registered(&case) || view.at < 0 {
            continue;
        }
        // The device's clock, as it said: the same view sent again matches itself.
        // On the team still (a leaver's memberships are kept only for the record).
        let outcome = if state.access.may_sync(&case, me.professional.id) {
            "success"
        } else {
            match state.access.left_at(&case, me.professional.id).await? {
                // Seen while still on the team, reported after.
                Some(left) if view.at / 1000 <= left => "success",
                Some(_) => "not_a_member",
                None => continue,
            }
        };
        let event = Event::new("case_viewed", outcome)
            .actor(me.professional.id)
            .case(&case)
            .client(client)
            .occurred_at(view.at);
        if state.audit.record_once(event).await.is_err() {
            // Not recorded: the device keeps its views and sends them again.
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "The server could not record this just now.",
            ));
        }
    }
    Ok(StatusCode::NO_CONTENT)
}
