//! One case: the child's details and what is happening for them, edited in place.

use super::fields::CaseField;
use super::use_repo;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;
use shared::case::Field;
use shared::sync::Holding;
use shared::DocumentId;

#[component]
pub fn CaseView() -> impl IntoView {
    let repo = use_repo();
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").and_then(|s| s.parse::<DocumentId>().ok()));
    let remote = repo.remote_changes();
    let opened = LocalResource::new({
        let repo = repo.clone();
        move || {
            let repo = repo.clone();
            let id = id();
            async move {
                match id {
                    Some(id) => repo.open(id).await.map_err(|e| e.to_string()),
                    None => Ok(()),
                }
            }
        }
    });
    view! {
        <p class="govuk-body app-no-print"><A href="/" attr:class="govuk-link">"All cases"</A></p>
        {move || {
            let repo = repo.clone();
            remote.track();
            let Some(id) = id() else {
                return view! {
                    <h1 class="govuk-heading-l">"This link does not point to a case"</h1>
                    <p class="govuk-body">"Check you copied the whole link."</p>
                }.into_any();
            };
            match opened.get() {
                None => return view! { <p class="govuk-body">"Opening the case…"</p> }.into_any(),
                Some(Err(e)) => return view! {
                    <div class="govuk-error-summary" role="alert"><p class="govuk-body">{e}</p></div>
                }.into_any(),
                Some(Ok(())) => {}
            }
            match repo.holding(&id) {
                Some(Holding::Have) => view! { <CaseForm id=id/> }.into_any(),
                Some(Holding::Unavailable) => view! {
                    <h1 class="govuk-heading-l">"Case not found"</h1>
                    <p class="govuk-body">"This case is not on this device and the relay does not have it. Check the link, or ask the person who shared it."</p>
                }.into_any(),
                _ => view! {
                    <h1 class="govuk-heading-l">"Fetching this case"</h1>
                    <p class="govuk-body">"This case is not on this device yet. It will open as soon as it arrives. You need to be online for that."</p>
                }.into_any(),
            }
        }}
    }
}

/// The case's fields. Rendered once per case; fields update themselves from the document.
#[component]
fn CaseForm(id: DocumentId) -> impl IntoView {
    let repo = use_repo();
    let remote = repo.remote_changes();
    let name = Memo::new({
        let repo = repo.clone();
        move |_| {
            remote.track();
            repo.read(&id).map(|c| c.child_name).unwrap_or_default()
        }
    });
    let link = web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .map(|o| format!("{o}/case/{id}"))
        .unwrap_or_default();
    view! {
        <span class="govuk-caption-m">"Early help case"</span>
        <h1 class="govuk-heading-l" data-testid="case-title">
            {move || { let n = name.get(); if n.is_empty() { "Unnamed child".to_string() } else { n } }}
        </h1>
        <div class="govuk-inset-text app-no-print">
            "Changes save automatically on this device and are shared when you are online. "
            "To work on this case with someone else, send them this link: "
            <span class="app-case-link" data-testid="case-link">{link}</span>
        </div>
        <h2 class="govuk-heading-m">"About the child"</h2>
        <CaseField id=id field=Field::ChildName label="Child's full name" width_class="govuk-input--width-20"/>
        <CaseField id=id field=Field::DateOfBirth label="Date of birth" hint="For example, 27 3 2019" width_class="govuk-input--width-10"/>
        <CaseField id=id field=Field::Setting label="School, nursery or setting" width_class="govuk-input--width-20"/>
        <CaseField id=id field=Field::LeadProfessional label="Lead professional" hint="Name and organisation" width_class="govuk-input--width-20"/>
        <h2 class="govuk-heading-m">"What is happening for the child"</h2>
        <CaseField id=id field=Field::Concerns multiline=true
            label="What is happening for the child and family"
            hint="Write what you and the family have noticed: what is going well and what is worrying you. Others working with the family can add to this at the same time."/>
    }
}
