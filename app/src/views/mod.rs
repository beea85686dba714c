//! The screens: one module per screen, shared field widgets in [`fields`].

mod case_list;
mod case_view;
mod fields;
mod labels;
mod sections;
mod status;

use crate::sync::Repo;
use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes, A};
use leptos_router::path;

/// The whole app: opens the device's store, then shows the screens.
#[component]
pub fn App() -> impl IntoView {
    let repo = LocalResource::new(|| async { Repo::start().await.map_err(|e| e.to_string()) });
    view! {
        <header class="govuk-header" role="banner">
            <div class="govuk-header__container govuk-width-container">
                <a href="/" class="govuk-header__link govuk-header__service-name">"TAC Planner"</a>
            </div>
        </header>
        {move || match repo.get() {
            None => view! {
                <div class="govuk-width-container"><p class="govuk-body">"Opening your cases…"</p></div>
            }.into_any(),
            Some(Err(e)) => view! {
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
    view! {
        <status::SyncStatusBar/>
        <Router>
            <div class="govuk-width-container">
                <main class="govuk-main-wrapper" id="main-content">
                    <Routes fallback=|| view! {
                        <h1 class="govuk-heading-l">"Page not found"</h1>
                        <p class="govuk-body"><A href="/" attr:class="govuk-link">"Go to your cases"</A></p>
                    }>
                        <Route path=path!("/") view=case_list::CaseList/>
                        <Route path=path!("/case/:id") view=case_view::CaseView/>
                        <Route path=path!("/case/:id/:section") view=case_view::CaseView/>
                    </Routes>
                </main>
            </div>
        </Router>
    }
}

/// The repo, provided once the store is open.
pub(crate) fn use_repo() -> Repo {
    use_context::<Repo>().expect("the repo is provided before any screen renders")
}
