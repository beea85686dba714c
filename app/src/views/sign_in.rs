//! Signing in: the first screen on a device nobody has signed in on, and the way back in when a
//! session ends (the person keeps working meanwhile; nothing they typed is lost).

use super::use_repo;
use crate::session;
use leptos::prelude::*;

/// The sign-in form. `again` is set when a session ended: the email is filled in and the
/// wording says why.
#[component]
pub fn SignIn(#[prop(optional)] again: Option<String>) -> impl IntoView {
    let repo = use_repo();
    let coming_back = again.is_some();
    let email = RwSignal::new(again.unwrap_or_default());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if email.get_untracked().trim().is_empty() || password.get_untracked().is_empty() {
            error.set(Some("Enter your email address and password".into()));
            return;
        }
        busy.set(true);
        let repo = repo.clone();
        leptos::task::spawn_local(async move {
            let result =
                session::sign_in(&repo, &email.get_untracked(), &password.get_untracked()).await;
            busy.set(false);
            match result {
                Ok(()) => {
                    password.set(String::new());
                    error.set(None);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let group = move || {
        if error.get().is_some() {
            "govuk-form-group govuk-form-group--error"
        } else {
            "govuk-form-group"
        }
    };
    view! {
        {move || error.get().map(|e| view! {
            <div class="govuk-error-summary" role="alert" tabindex="-1" data-testid="sign-in-error">
                <h2 class="govuk-error-summary__title">"There is a problem"</h2>
                <div class="govuk-error-summary__body">
                    <ul class="govuk-list govuk-error-summary__list"><li><a href="#email">{e}</a></li></ul>
                </div>
            </div>
        })}
        {(!coming_back).then(|| view! {
            <h1 class="govuk-heading-l">"Sign in to TAC Planner"</h1>
            <p class="govuk-body">"Use the email address and password your organisation's administrator gave you."</p>
        })}
        <form on:submit=submit novalidate data-testid="sign-in-form">
            <div class=group>
                <label class="govuk-label govuk-label--s" for="email">"Email address"</label>
                <input class="govuk-input govuk-input--width-20" id="email" name="email" type="email"
                    autocomplete="username" spellcheck="false"
                    prop:value=move || email.get() on:input=move |ev| email.set(event_target_value(&ev))/>
            </div>
            <div class=group>
                <label class="govuk-label govuk-label--s" for="password">"Password"</label>
                <input class="govuk-input govuk-input--width-20" id="password" name="password" type="password"
                    autocomplete="current-password"
                    prop:value=move || password.get() on:input=move |ev| password.set(event_target_value(&ev))/>
            </div>
            <button type="submit" class="govuk-button" disabled=move || busy.get()>
                {if coming_back { "Sign in again" } else { "Sign in" }}
            </button>
        </form>
    }
}
