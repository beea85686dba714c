//! The first screen: the cases on this device, and starting a new one.

use super::use_repo;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;

#[component]
pub fn CaseList() -> impl IntoView {
    let repo = use_repo();
    let cases = repo.cases();
    let name = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let navigate = use_navigate();
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let child = name.get_untracked();
        if child.trim().is_empty() {
            error.set(Some("Enter the child's full name".into()));
            return;
        }
        match repo.create_case(&child) {
            Ok(id) => navigate(&format!("/case/{id}"), Default::default()),
            Err(e) => error.set(Some(e.to_string())),
        }
    };
    view! {
        <h1 class="govuk-heading-l">"Cases on this device"</h1>
        {move || {
            let list = cases.get();
            if list.is_empty() {
                view! { <p class="govuk-body">"There are no cases on this device yet."</p> }.into_any()
            } else {
                view! {
                    <ul class="app-case-list" data-testid="case-list">
                        {list.into_iter().map(|c| view! {
                            <li class="app-case-list__item">
                                <A href=format!("/case/{}", c.id) attr:class="govuk-link app-case-list__title">
                                    {if c.child_name.is_empty() { "Unnamed child".to_string() } else { c.child_name }}
                                </A>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }
        }}
        <h2 class="govuk-heading-m">"Start a new case"</h2>
        <form on:submit=create novalidate>
            <div class=move || if error.get().is_some() { "govuk-form-group govuk-form-group--error" } else { "govuk-form-group" }>
                <label class="govuk-label govuk-label--s" for="new-child-name">"Child's full name"</label>
                {move || error.get().map(|e| view! {
                    <p id="new-child-name-error" class="govuk-error-message">
                        <span class="govuk-visually-hidden">"Error: "</span>{e}
                    </p>
                })}
                <input class="govuk-input govuk-input--width-20" id="new-child-name" name="child-name"
                    type="text" autocomplete="off" spellcheck="false"
                    prop:value=move || name.get()
                    on:input=move |ev| name.set(event_target_value(&ev))/>
            </div>
            <button type="submit" class="govuk-button" data-module="govuk-button">"Start case"</button>
        </form>
        <p class="govuk-body app-field-meta">
            "To open a case someone has shared with you, open the link they sent."
        </p>
    }
}
