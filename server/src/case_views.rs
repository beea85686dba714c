//! Views of a case, as devices report them: opening a case on a device is recorded in the
//! case's audit trail (who, which case, when), so "who has looked at this child's record" has
//! an answer. A device opening a case offline keeps the view and reports it when next online,
//! with the time it happened ([`crate::audit::Event::occurred_at`]).

use crate::api::{self, ApiError, ApiResult, Body};
use crate::audit::Event;
use crate::auth::{ClientAddr, SignedIn};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use shared::api::{CaseView, MAX_VIEWS_PER_REPORT};

pub fn router() -> Router<AppState> {
    Router::new().route("/views", post(report))
}

/// Records each view by id. A view of a case the person is no longer on is recorded too (the
/// device showed it), marked `not_a_member`; ids the relay has never registered are ignored,
/// so nobody can fill another case's trail with noise.
async fn report(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    ClientAddr(client): ClientAddr,
    Body(views): Body<Vec<CaseView>>,
) -> ApiResult<StatusCode> {
    if views.len() > MAX_VIEWS_PER_REPORT {
        return Err(ApiError::bad_request(&format!(
            "Send at most {MAX_VIEWS_PER_REPORT} views at a time."
        )));
    }
    let now = crate::accounts::now();
    for view in views {
        let Ok(case) = api::case_id(&view.case_id) else {
            continue;
        };
        if !state.access.is_registered(&case) || view.at < 0 {
            continue;
        }
        // A device clock ahead of the relay's is taken as now.
        let occurred = (view.at / 1000).min(now);
        let outcome = if state.access.role(&case, me.professional.id).is_some() {
            "success"
        } else {
            "not_a_member"
        };
        state
            .audit
            .record(
                Event::new("case_viewed", outcome)
                    .actor(me.professional.id)
                    .case(&case)
                    .client(client)
                    .occurred_at(occurred),
            )
            .await;
    }
    Ok(StatusCode::NO_CONTENT)
}
