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
    let cases = use_repo().cases();
    let notices = use_repo().notices();
    let text = move || {
        let s = status.get();
        if s.not_stored {
            return "Not saved on this device. Keep this tab open: your latest changes are only here."
                .to_string();
        }
        if s.waiting.is_empty() {
            return match s.link {
                Link::Online => "All changes saved on this device and shared.".to_string(),
                _ => "All changes saved on this device.".to_string(),
            };
        }
        // Which cases have changes waiting, and since when: what a person needs to know
        // before closing the laptop.
        let names: Vec<String> = cases.with(|all| {
            s.waiting
                .iter()
                .map(|w| {
                    all.iter()
                        .find(|c| c.id == w.id)
                        .map(|c| c.child_name.trim().to_string())
                        .filter(|n| !n.is_empty())
                        .unwrap_or_else(|| "an unnamed child".into())
                })
                .collect()
        });
        let which = match names.as_slice() {
            [one] => format!("changes to {one}'s case"),
            [a, b] => format!("changes to the cases of {a} and {b}"),
            [a, b, rest @ ..] => format!(
                "changes to {} cases ({a}, {b} and {} more)",
                names.len(),
                rest.len()
            ),
            [] => String::new(),
        };
        let oldest = s.waiting.iter().map(|w| w.since).filter(|t| *t > 0).min();
        let since = oldest.map(since_words).unwrap_or_default();
        format!("Saved on this device. Not shared yet: {which}{since}.")
    };
    view! {
        <div class=move || if status.get().not_stored { "app-sync-status app-sync-status--not-saved" } else { "app-sync-status" } role="status" aria-live="polite" data-testid="sync-status"
            data-link=move || format!("{:?}", status.get().link).to_lowercase()
            data-unsent=move || status.get().unsent.to_string()>
            <strong class=move || tag().0>{move || tag().1}</strong>
            <span class="app-sync-status__text">{text}</span>
        </div>
        {move || {
            let said = notices.get();
            (!said.is_empty()).then(|| view! {
                <div class="govuk-width-container">
                    <div class="govuk-notification-banner" role="region" aria-labelledby="notices-title" data-testid="notices">
                        <div class="govuk-notification-banner__header">
                            <h2 class="govuk-notification-banner__title" id="notices-title">"Important"</h2>
                        </div>
                        <div class="govuk-notification-banner__content">
                            {said.into_iter().map(|n| view! { <p class="govuk-notification-banner__heading">{n}</p> }).collect_view()}
                            <button type="button" class="govuk-button govuk-button--secondary govuk-!-margin-bottom-0"
                                on:click=move |_| notices.set(Vec::new())>"Dismiss"</button>
                        </div>
                    </div>
                </div>
            })
        }}
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

/// " since 10:02" today, " since 3 December 2026 at 10:02" before.
fn since_words(ms: i64) -> String {
    let then = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    let now = js_sys::Date::new_0();
    let same_day = then.get_full_year() == now.get_full_year()
        && then.get_month() == now.get_month()
        && then.get_date() == now.get_date();
    if same_day {
        format!(" since {:02}:{:02}", then.get_hours(), then.get_minutes())
    } else {
        format!(" since {}", super::history::moment(ms))
    }
}
