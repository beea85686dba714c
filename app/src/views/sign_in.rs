//! Signing in: the first screen on a device nobody has signed in on, and the way back in when a
//! session ends (the person keeps working meanwhile; nothing they typed is lost).
//!
//! The work email comes first. People whose organisation has its own sign-in go there (their
//! edits are kept on the device while they are away); everyone else types a password here,
//! and then, for administrators and where their organisation asks, a code from an app.

use super::use_repo;
use crate::api::{self, CallError, PasswordAnswer};
use crate::session;
use leptos::prelude::*;
use shared::api::{Me, SecondFactorNeeded, SignInMethod};

#[derive(Clone, PartialEq)]
enum Step {
    Email,
    Password,
    Code(SecondFactorNeeded),
    /// Shown once, after an authenticator app was set up; then on into the app.
    RecoveryCodes(Me, Vec<String>),
}

/// The sign-in form. `again` is set when a session ended: the email is filled in and the
/// wording says why.
#[component]
pub fn SignIn(#[prop(optional)] again: Option<String>) -> impl IntoView {
    let repo = use_repo();
    let coming_back = again.is_some();
    let email = RwSignal::new(again.unwrap_or_default());
    let password = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    let step = RwSignal::new(Step::Email);
    let error = RwSignal::new(session::provider_refusal().map(str::to_string));
    let account_closed = session::account_closed_notice();
    let busy = RwSignal::new(false);

    let enter = {
        let repo = repo.clone();
        move |me: Me| {
            let repo = repo.clone();
            leptos::task::spawn_local(async move {
                if let Err(e) = session::signed_in_as(&repo, me).await {
                    error.set(Some(e));
                }
            });
        }
    };

    let submit = {
        let repo = repo.clone();
        let enter = enter.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let current = step.get_untracked();
            let (address, secret, typed) = (
                email.get_untracked(),
                password.get_untracked(),
                code.get_untracked(),
            );
            let missing = match &current {
                Step::Email if address.trim().is_empty() => Some("Enter your work email address"),
                Step::Password if secret.is_empty() => Some("Enter your password"),
                Step::Code(_) if typed.trim().is_empty() => {
                    Some("Enter the 6-digit code from your authenticator app")
                }
                _ => None,
            };
            if let Some(m) = missing {
                error.set(Some(m.into()));
                return;
            }
            busy.set(true);
            let repo = repo.clone();
            let enter = enter.clone();
            leptos::task::spawn_local(async move {
                let outcome: Result<(), String> = match current {
                    Step::Email => match api::sign_in_method(&address).await {
                        Ok(SignInMethod::Password) => {
                            step.set(Step::Password);
                            focus("password");
                            Ok(())
                        }
                        Ok(SignInMethod::Provider { url }) => {
                            // Edits typed so far are on the device before the page goes.
                            repo.store_before_leaving().await;
                            if let Some(w) = web_sys::window() {
                                let _ = w.location().assign(&url);
                            }
                            // Stay busy: the page is going.
                            return;
                        }
                        Err(e) => Err(e.to_string()),
                    },
                    Step::Password => match api::sign_in(&address, &secret).await {
                        Ok(PasswordAnswer::SignedIn(me)) => {
                            password.set(String::new());
                            enter(me);
                            Ok(())
                        }
                        Ok(PasswordAnswer::CodeNeeded(needed)) => {
                            password.set(String::new());
                            step.set(Step::Code(needed));
                            focus("code");
                            Ok(())
                        }
                        Err(e) => Err(e.to_string()),
                    },
                    Step::Code(needed) => match api::enter_code(&needed.pending, &typed).await {
                        Ok(accepted) => {
                            code.set(String::new());
                            if accepted.recovery_codes.is_empty() {
                                enter(accepted.me);
                            } else {
                                step.set(Step::RecoveryCodes(accepted.me, accepted.recovery_codes));
                            }
                            Ok(())
                        }
                        // The right password has waited too long (or too many wrong codes).
                        Err(CallError::Refused(410, message)) => {
                            code.set(String::new());
                            step.set(Step::Email);
                            Err(message)
                        }
                        Err(e) => Err(e.to_string()),
                    },
                    Step::RecoveryCodes(me, _) => {
                        enter(me);
                        Ok(())
                    }
                };
                busy.set(false);
                error.set(outcome.err());
            });
        }
    };

    let group = move || {
        if error.get().is_some() {
            "govuk-form-group govuk-form-group--error"
        } else {
            "govuk-form-group"
        }
    };
    let first_field = move || match step.get() {
        Step::Email => "#email",
        Step::Password => "#password",
        _ => "#code",
    };
    let password_instead = move |ev: leptos::ev::MouseEvent| {
        ev.prevent_default();
        if email.get_untracked().trim().is_empty() {
            error.set(Some("Enter your work email address".into()));
            return;
        }
        error.set(None);
        step.set(Step::Password);
        focus("password");
    };
    let back_to_email = move |ev: leptos::ev::MouseEvent| {
        ev.prevent_default();
        error.set(None);
        step.set(Step::Email);
    };
    let form_body = move || {
        match step.get() {
        Step::Email => view! {
            {(!coming_back).then(|| view! {
                <h1 class="govuk-heading-l">"Sign in to TAC Planner"</h1>
            })}
            <div class=group>
                <label class="govuk-label govuk-label--s" for="email">"Work email address"</label>
                <div class="govuk-hint">"If your organisation has its own sign-in, we will send you there."</div>
                <input class="govuk-input govuk-input--width-20" id="email" name="email" type="email"
                    autocomplete="username" spellcheck="false"
                    prop:value=move || email.get() on:input=move |ev| email.set(event_target_value(&ev))/>
            </div>
            <button type="submit" class="govuk-button" disabled=move || busy.get()>"Continue"</button>
            <details class="govuk-details">
                <summary class="govuk-details__summary">
                    <span class="govuk-details__summary-text">"Your organisation's sign-in is not working?"</span>
                </summary>
                <div class="govuk-details__text">
                    <p class="govuk-body">"Contact your organisation's IT service desk. System administrators can still "
                        <a href="#password" class="govuk-link" on:click=password_instead>"sign in with a password"</a>
                        " and a code from their app."</p>
                </div>
            </details>
        }
        .into_any(),
        Step::Password => view! {
            {(!coming_back).then(|| view! {
                <h1 class="govuk-heading-l">"Sign in to TAC Planner"</h1>
            })}
            <p class="govuk-body">
                <span data-testid="signing-in-as">{move || email.get()}</span>" "
                <a href="#email" class="govuk-link" on:click=back_to_email>"Change"</a>
            </p>
            <div class=group>
                <label class="govuk-label govuk-label--s" for="password">"Password"</label>
                <input class="govuk-input govuk-input--width-20" id="password" name="password" type="password"
                    autocomplete="current-password"
                    prop:value=move || password.get() on:input=move |ev| password.set(event_target_value(&ev))/>
            </div>
            <button type="submit" class="govuk-button" disabled=move || busy.get()>
                {if coming_back { "Sign in again" } else { "Sign in" }}
            </button>
        }
        .into_any(),
        Step::Code(needed) => {
            let setting_up = needed.set_up.clone();
            view! {
                {match setting_up {
                    Some(set_up) => view! {
                        <h1 class="govuk-heading-l">"Set up your authenticator app"</h1>
                        <p class="govuk-body">"To keep children's records safe, you need a code from an app on your phone as well as your password."</p>
                        <ol class="govuk-list govuk-list--number">
                            <li>"Open an authenticator app on your phone, such as Microsoft Authenticator or Google Authenticator."</li>
                            <li>"Add an account and scan this QR code with the app:"
                                <div class="app-setup-qr" data-testid="authenticator-qr" role="img"
                                    aria-label="QR code holding your setup key" inner_html=set_up.qr_svg.clone()></div>
                                "If you cannot scan it, choose to enter a setup key instead, and enter: "
                                <strong class="app-setup-key" data-testid="authenticator-key">{group_key(&set_up.secret)}</strong>
                            </li>
                            <li>"Type the 6-digit code the app shows below."</li>
                        </ol>
                        <p class="govuk-body">
                            <a class="govuk-link" href=set_up.uri.clone()>"On the phone with your authenticator app? Open the key in the app"</a>
                        </p>
                    }
                    .into_any(),
                    None => view! {
                        <h1 class="govuk-heading-l">"Enter the code from your authenticator app"</h1>
                        <p class="govuk-body">"If you do not have your phone with you, enter one of your recovery codes instead."</p>
                    }
                    .into_any(),
                }}
                <div class=group>
                    <label class="govuk-label govuk-label--s" for="code">"Code"</label>
                    <input class="govuk-input govuk-input--width-10" id="code" name="code" type="text"
                        autocomplete="one-time-code" spellcheck="false" autocapitalize="characters"
                        prop:value=move || code.get() on:input=move |ev| code.set(event_target_value(&ev))/>
                </div>
                <button type="submit" class="govuk-button" disabled=move || busy.get()>"Continue"</button>
            }
            .into_any()
        }
        Step::RecoveryCodes(_, codes) => view! {
            <h1 class="govuk-heading-l">"Save your recovery codes"</h1>
            <p class="govuk-body">"If you lose your phone, each of these codes lets you sign in once. Print them or write them down, and keep them somewhere safe and private. You will not see them again."</p>
            <ul class="govuk-list app-recovery-codes" data-testid="recovery-codes">
                {codes.into_iter().map(|c| view! { <li><code>{c}</code></li> }).collect_view()}
            </ul>
            <button type="submit" class="govuk-button" disabled=move || busy.get()>"Continue to TAC Planner"</button>
        }
        .into_any(),
    }
    };
    view! {
        {account_closed.map(|said| view! {
            <div class="govuk-notification-banner" role="region" aria-labelledby="closed-title" data-testid="account-closed">
                <div class="govuk-notification-banner__header">
                    <h2 class="govuk-notification-banner__title" id="closed-title">"Important"</h2>
                </div>
                <div class="govuk-notification-banner__content">
                    <p class="govuk-notification-banner__heading">{said}</p>
                </div>
            </div>
        })}
        {move || error.get().map(|e| view! {
            <div class="govuk-error-summary" role="alert" tabindex="-1" data-testid="sign-in-error">
                <h2 class="govuk-error-summary__title">"There is a problem"</h2>
                <div class="govuk-error-summary__body">
                    <ul class="govuk-list govuk-error-summary__list"><li><a href=first_field>{e}</a></li></ul>
                </div>
            </div>
        })}
        <form on:submit=submit novalidate data-testid="sign-in-form">{form_body}</form>
    }
}

/// `ABCD EFGH ...`: easier to copy into an app by hand.
fn group_key(secret: &str) -> String {
    secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Moves the cursor to the next field once it is drawn.
fn focus(id: &'static str) {
    leptos::task::spawn_local(async move {
        gloo_timers::future::sleep(std::time::Duration::ZERO).await;
        if let Some(el) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id(id))
            .and_then(|e| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(e).ok())
        {
            let _ = el.focus();
        }
    });
}
