//! Cases opened on this device, kept until the relay has recorded them: opening a case is
//! written in the case's audit trail ("who has looked at this child's record"), and a case
//! opened offline is reported when the device is next online, with the time it was opened.
//!
//! Kept in localStorage (synchronous, so a view is kept even if the tab closes at once), by
//! professional, so one person's views are never reported under another's session. Ids and
//! times only.

use crate::api::{self, CallError};
use serde::{Deserialize, Serialize};
use shared::api::{CaseView, MAX_VIEWS_PER_REPORT};
use shared::DocumentId;

const KEY: &str = "tac-case-views";
/// Far more than anyone opens between two connections; beyond it the oldest go.
const MOST_KEPT: usize = 20_000;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Kept {
    /// The professional who opened it.
    p: i64,
    case: String,
    at: i64,
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

fn load() -> Vec<Kept> {
    storage()
        .and_then(|s| s.get_item(KEY).ok().flatten())
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

fn store(kept: &[Kept]) {
    if let (Some(s), Ok(text)) = (storage(), serde_json::to_string(kept)) {
        let _ = s.set_item(KEY, &text);
    }
}

/// A look at a case: moving between its sections, or coming back to it within this long in
/// the same tab, is the same look.
const ONE_LOOK_MS: f64 = 30.0 * 60.0 * 1000.0;

thread_local! {
    static LOOKED: std::cell::RefCell<std::collections::HashMap<(i64, DocumentId), f64>> =
        std::cell::RefCell::default();
}

/// Notes that `professional` opened `case` now (once per look).
pub fn note(professional: i64, case: DocumentId) {
    let now = js_sys::Date::now();
    let same_look = LOOKED.with(|l| {
        let mut l = l.borrow_mut();
        let last = l.insert((professional, case), now);
        last.is_some_and(|t| now - t < ONE_LOOK_MS)
    });
    if same_look {
        return;
    }
    let mut kept = load();
    kept.push(Kept {
        p: professional,
        case: case.to_string(),
        at: now as i64,
    });
    if kept.len() > MOST_KEPT {
        let extra = kept.len() - MOST_KEPT;
        kept.drain(..extra);
    }
    store(&kept);
}

/// Sends `professional`'s kept views to the relay, a report at a time, forgetting each once
/// recorded. Stops at the first failure (offline, signed out); what is left goes next time.
pub async fn report(professional: i64) -> Result<(), CallError> {
    // One report at a time in this tab: two at once would send the same views twice. The one
    // running reads the kept views afresh each round, so it takes what was added meanwhile.
    if REPORTING.with(|r| r.replace(true)) {
        return Ok(());
    }
    let result = report_all(professional).await;
    REPORTING.with(|r| r.set(false));
    result
}

thread_local! {
    static REPORTING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

async fn report_all(professional: i64) -> Result<(), CallError> {
    loop {
        let batch: Vec<CaseView> = load()
            .into_iter()
            .filter(|k| k.p == professional)
            .take(MAX_VIEWS_PER_REPORT)
            .map(|k| CaseView {
                case_id: k.case,
                at: k.at,
            })
            .collect();
        if batch.is_empty() {
            return Ok(());
        }
        api::report_views(&batch).await?;
        // Other tabs may have added views meanwhile: remove exactly those sent.
        let mut kept = load();
        for sent in &batch {
            if let Some(i) = kept
                .iter()
                .position(|k| k.p == professional && k.case == sent.case_id && k.at == sent.at)
            {
                kept.remove(i);
            }
        }
        store(&kept);
    }
}
