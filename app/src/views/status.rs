//! The sync status bar: always visible, so nobody wonders whether their notes were saved.

use super::use_repo;
use crate::sync::Link;
use leptos::prelude::*;

#[component]
pub fn SyncStatusBar() -> impl IntoView {
    let status = use_repo().status();
    let tag = move || {
        let s = status.get();
        if s.not_stored {
            return ("govuk-tag govuk-tag--red", "Not saved");
        }
        match (s.link, s.unsent) {
            (Link::Online, 0) => ("govuk-tag govuk-tag--green", "Online"),
            (Link::Online, _) => ("govuk-tag govuk-tag--blue", "Syncing"),
            (Link::Connecting, _) => ("govuk-tag govuk-tag--grey", "Connecting"),
            (Link::Offline, _) => ("govuk-tag govuk-tag--yellow", "Offline"),
        }
    };
    let text = move || {
        let s = status.get();
        if s.not_stored {
            return "Not saved on this device. Keep this tab open: your latest changes are only here."
                .to_string();
        }
        match (s.link, s.unsent) {
            (Link::Online, 0) => "All changes saved on this device and shared.".to_string(),
            (_, 0) => "All changes saved on this device.".to_string(),
            (_, 1) => "Saved on this device. 1 edit not yet shared.".to_string(),
            (_, n) => format!("Saved on this device. {n} edits not yet shared."),
        }
    };
    view! {
        <div class=move || if status.get().not_stored { "app-sync-status app-sync-status--not-saved" } else { "app-sync-status" } role="status" aria-live="polite" data-testid="sync-status"
            data-link=move || format!("{:?}", status.get().link).to_lowercase()
            data-unsent=move || status.get().unsent.to_string()>
            <strong class=move || tag().0>{move || tag().1}</strong>
            <span class="app-sync-status__text">{text}</span>
        </div>
        {move || status.get().problem.map(|p| view! {
            <div class="govuk-width-container">
                <div class="govuk-error-summary" role="alert" data-testid="storage-problem">
                    <h2 class="govuk-error-summary__title">"There is a problem saving on this device"</h2>
                    <p class="govuk-body">{p}</p>
                </div>
            </div>
        })}
    }
}
