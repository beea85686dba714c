//! The screens: one module per screen, shared field widgets in [`fields`].

mod admin;
mod case_view;
mod caseload;
mod document;
mod family_plan;
mod fields;
mod history;
mod meeting;
mod organisation_sign_in;
mod owner;
mod presence;
mod records;
mod referral;
mod sections;
mod sign_in;
mod status;
mod subject_access;
mod team;

use crate::later::{self, later};
use crate::sync::{Account, Repo};
use leptos::prelude::*;
use leptos_router::components::{Redirect, Route, Router, Routes, A};
use leptos_router::path;

/// The whole app: opens the device's store, then shows the screens.
#[component]
pub fn App() -> impl IntoView {
    let repo = LocalResource::new(|| async { Repo::start().await.map_err(|e| e.to_string()) });
    view! {
        {move || match repo.get() {
            None => view! {
                <Header/>
                <div class="govuk-width-container"><p class="govuk-body">"Opening your cases…"</p></div>
            }.into_any(),
            Some(Err(e)) => view! {
                <Header/>
                <div class="govuk-width-container">
                    <div class="govuk-error-summary" role="alert">
                        <h2 class="govuk-error-summary__title">"TAC Planner cannot open its storage on this device"</h2>
                        <p class="govuk-body">{e}</p>
                        <p class="govuk-body">"Private browsing can block storage. Open TAC Planner in a normal window."</p>
                    </div>
                </div>
            }.into_any(),
            Some(Ok(repo)) => {
                provide_context(repo.clone());
                view! { <Screens/> }.into_any()
            }
        }}
    }
}

#[component]
fn Screens() -> impl IntoView {
    let repo = use_repo();
    let account = repo.account();
    crate::session::follow_other_tabs(&repo);
    leptos::task::spawn_local(crate::session::finish_pending_sign_out());
    leptos::task::spawn_local(crate::session::finish_provider_sign_in(repo.clone()));
    view! {
        <Router>
            <Header/>
            // Nothing to sync until someone signs in.
            {move || (account.get() != Account::SignedOut).then(|| view! { <status::SyncStatusBar/> })}
            <div class="govuk-width-container">
                <main class="govuk-main-wrapper" id="main-content">
                    {move || match account.get() {
                        Account::SignedOut => view! { <sign_in::SignIn/> }.into_any(),
                        Account::Ended(me) => view! {
                            <div class="app-session-ended" data-testid="session-ended">
                                <h2 class="govuk-heading-m">"Your session has ended"</h2>
                                <p class="govuk-body">"Sign in again to share your changes. Everything you have typed is saved on this device."</p>
                                <sign_in::SignIn again=me.email.clone()/>
                            </div>
                            <Pages/>
                        }.into_any(),
                        Account::SignedIn(_) => view! { <Pages/> }.into_any(),
                        // Nothing to work on: the cases are on their way to their teams.
                        Account::Leaving(_, hand_over) => view! {
                            <div data-testid="leaving">
                                <h1 class="govuk-heading-l">"Your account has been closed"</h1>
                                <p class="govuk-body">{if hand_over {
                                    "This device is sending anything you had not shared to the teams, then removing your cases from it. Keep this page open until it has finished."
                                } else {
                                    "This device is removing your cases from it."
                                }}</p>
                            </div>
                        }.into_any(),
                    }}
                </main>
            </div>
        </Router>
    }
}

#[component]
fn Pages() -> impl IntoView {
    view! {
        <Routes fallback=|| view! {
            <h1 class="govuk-heading-l">"Page not found"</h1>
            <p class="govuk-body"><A href="/" attr:class="govuk-link">"Go to your cases"</A></p>
        }>
            <Route path=path!("/") view=caseload::Caseload/>
            <Route path=path!("/sign-in") view=|| view! { <Redirect path="/"/> }/>
            <Route path=path!("/admin") view=|| later::screen(admin_screen)/>
            <Route path=path!("/records") view=|| later::screen(records_screen)/>
            <Route path=path!("/case/:id") view=|| later::screen(case_screen)/>
            <Route path=path!("/case/:id/:section") view=|| later::screen(case_screen)/>
            <Route path=path!("/case/:id/meeting/:meeting") view=|| later::screen(case_screen)/>
        </Routes>
    }
}

// The caseload and sign-in come first; every other screen is in the later part.
later!(rest; fn case_screen() -> AnyView { view! { <case_view::CaseView/> }.into_any() });
later!(rest; fn admin_screen() -> AnyView { view! { <admin::Admin/> }.into_any() });
later!(rest; fn records_screen() -> AnyView { view! { <records::Records/> }.into_any() });

/// The black bar: the service's name, who is signed in, and signing out.
#[component]
fn Header() -> impl IntoView {
    let repo = use_context::<Repo>();
    let account = repo.as_ref().map(|r| r.account());
    let signing_out = RwSignal::new(false);
    let sign_out = {
        let repo = repo.clone();
        move |_| {
            let Some(repo) = repo.clone() else { return };
            let unsent = repo.unsent();
            if unsent > 0 {
                let question = format!(
                    "{unsent} edits on this device have not been shared yet. If you sign out now they will be lost. Sign out anyway?"
                );
                let sure = web_sys::window()
                    .and_then(|w| w.confirm_with_message(&question).ok())
                    .unwrap_or(false);
                if !sure {
                    return;
                }
            }
            signing_out.set(true);
            leptos::task::spawn_local(async move {
                if let Err(e) = crate::session::sign_out(&repo).await {
                    signing_out.set(false);
                    if let Some(w) = web_sys::window() {
                        let _ = w.alert_with_message(&e);
                    }
                }
            });
        }
    };
    let me = move || account.and_then(|a| a.get().me().cloned());
    // The records manager may be anyone: the relay says whether it is this person.
    let manages_records = LocalResource::new(move || {
        let signed_in = me().is_some();
        async move {
            signed_in
                && crate::api::records_settings()
                    .await
                    .is_ok_and(|s| s.you_manage)
        }
    });
    view! {
        <header class="govuk-header" role="banner">
            <div class="govuk-header__container govuk-width-container app-header">
                <a href="/" class="govuk-header__link govuk-header__service-name">"TAC Planner"</a>
                {move || me().map(|me| {
                    let admin = me.role.is_admin();
                    view! {
                        <nav aria-label="Your account" class="app-header__account">
                            <ul class="govuk-header__navigation-list">
                                <li class="govuk-header__navigation-item app-header__who" data-testid="signed-in-as">
                                    {format!("{}, {}", me.name, me.agency_name)}
                                </li>
                                {admin.then(|| view! {
                                    <li class="govuk-header__navigation-item">
                                        <a class="govuk-header__link" href="/admin">"Manage accounts"</a>
                                    </li>
                                })}
                                {move || (me.role == shared::api::Role::SystemAdmin || manages_records.get() == Some(true)).then(|| view! {
                                    <li class="govuk-header__navigation-item">
                                        <a class="govuk-header__link" href="/records">"Records"</a>
                                    </li>
                                })}
                                <li class="govuk-header__navigation-item">
                                    <button type="button" class="app-header__button" on:click=sign_out.clone()
                                        disabled=move || signing_out.get()>
                                        {move || if signing_out.get() { "Signing out…" } else { "Sign out" }}
                                    </button>
                                </li>
                            </ul>
                        </nav>
                    }
                })}
            </div>
        </header>
    }
}

/// What happened after someone pressed a button: a green "Success" banner or a red error
/// summary, GOV.UK style. `testid` names it for tests (`<testid>-message` / `<testid>-error`).
pub(crate) fn outcome(result: Result<String, String>, testid: &'static str) -> AnyView {
    match result {
        Ok(text) => view! {
            <div class="govuk-notification-banner govuk-notification-banner--success" role="alert"
                data-testid=format!("{testid}-message")>
                <div class="govuk-notification-banner__header">
                    <h2 class="govuk-notification-banner__title">"Success"</h2>
                </div>
                <div class="govuk-notification-banner__content">
                    <p class="govuk-notification-banner__heading">{text}</p>
                </div>
            </div>
        }
        .into_any(),
        Err(text) => view! {
            <div class="govuk-error-summary" role="alert" data-testid=format!("{testid}-error")>
                <h2 class="govuk-error-summary__title">"There is a problem"</h2>
                <div class="govuk-error-summary__body"><p class="govuk-body">{text}</p></div>
            </div>
        }
        .into_any(),
    }
}

/// Today in the UK (dates in a case are UK dates, whatever the device's time zone).
pub(crate) fn uk_today() -> shared::record::dates::Day {
    shared::record::dates::uk_day(js_sys::Date::now() as i64)
}

/// The repo, provided once the store is open.
pub(crate) fn use_repo() -> Repo {
    use_context::<Repo>().expect("the repo is provided before any screen renders")
}
