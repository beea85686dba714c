//! One case: a heading with the plan's state, the sections to move between, and what is still
//! to be recorded in the section on screen.

use super::sections::{section_view, today, SECTIONS};
use super::use_repo;
use crate::mark;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;
use shared::record::validation::{missing, missing_in_document, plan_summary, Section};
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
                mark("case-open-start");
                match id {
                    Some(id) => {
                        let opened = repo.open(id).await.map_err(|e| e.to_string());
                        mark("case-loaded");
                        opened
                    }
                    None => Ok(()),
                }
            }
        }
    });
    let holding = Memo::new({
        let repo = repo.clone();
        move |_| {
            remote.track();
            opened.track();
            id().and_then(|id| repo.holding(&id))
        }
    });
    view! {
        <p class="govuk-body app-no-print"><A href="/" attr:class="govuk-link">"All cases"</A></p>
        {move || {
            let Some(id) = id() else {
                return view! {
                    <h1 class="govuk-heading-l">"This link does not point to a case"</h1>
                    <p class="govuk-body">"Check you copied the whole link."</p>
                }.into_any();
            };
            match opened.get() {
                None => return view! { <p class="govuk-body">"Opening the case…"</p> }.into_any(),
                Some(Err(e)) => return view! {
                    <div class="govuk-error-summary" role="alert" data-testid="case-open-error">
                        <p class="govuk-body">{e}</p>
                    </div>
                    {crate::damaged::contains(&id).then(|| view! {
                        <button class="govuk-button govuk-button--secondary" data-testid="try-again"
                            on:click=move |_| {
                                // Decoding again may set it aside again; the reload starts clean.
                                crate::damaged::forget(&id);
                                if let Some(w) = web_sys::window() {
                                    let _ = w.location().reload();
                                }
                            }>
                            "Try again"
                        </button>
                    })}
                }.into_any(),
                Some(Ok(())) => {}
            }
            match holding.get() {
                Some(Holding::Have) => view! { <CaseScreen id=id/> }.into_any(),
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

/// The case, once it is on this device.
#[component]
fn CaseScreen(id: DocumentId) -> impl IntoView {
    let repo = use_repo();
    let params = use_params_map();
    // Where this person is, for the others' "Also here".
    let meeting = Memo::new(move |_| params.with(|p| p.get("meeting")));
    let slug = Memo::new(move |_| {
        if meeting.with(Option::is_some) {
            return "meeting".to_string();
        }
        params
            .with(|p| p.get("section"))
            .unwrap_or_else(|| "family".into())
    });
    super::presence::announce_presence(id, slug);
    // Opening the case goes in its audit trail: reported now, or when next online.
    if let Some(me) = repo.account().with_untracked(|a| a.me().map(|m| m.id)) {
        crate::viewed::note(me, id);
        leptos::task::spawn_local(async move {
            let _ = crate::viewed::report(me).await;
        });
    }
    super::presence::provide_people_here(id);
    let on_team = Memo::new(move |_| params.with(|p| p.get("section")).as_deref() == Some("team"));
    let on_history =
        Memo::new(move |_| params.with(|p| p.get("section")).as_deref() == Some("history"));
    let on_family_plan =
        Memo::new(move |_| params.with(|p| p.get("section")).as_deref() == Some("family-plan"));
    let on_referral =
        Memo::new(move |_| params.with(|p| p.get("section")).as_deref() == Some("referral"));
    let on_requests = Memo::new(move |_| {
        params.with(|p| p.get("section")).as_deref() == Some("information-requests")
    });
    let query = leptos_router::hooks::use_query_map();
    let looking_back =
        Memo::new(move |_| query.with(|q| q.get("as_at").is_some() || q.get("heads").is_some()));
    // What this person saw last time (then noted as seen now), for "changed since you last
    // looked"; kept on this device and with the relay, never in the case.
    let previous_look = RwSignal::new(None::<shared::api::LastLooked>);
    provide_context(previous_look);
    provide_context(super::history::CaseReceipts::read(&repo, id));
    {
        let repo = repo.clone();
        leptos::task::spawn_local(async move {
            let before = super::history::look(&repo, id).await;
            let _ = previous_look.try_set(before);
        });
    }
    let elsewhere = move || {
        on_team.get()
            || on_history.get()
            || on_family_plan.get()
            || on_referral.get()
            || on_requests.get()
    };
    let section = Memo::new(move |_| {
        let slug = params.with(|p| p.get("section")).unwrap_or_default();
        SECTIONS
            .iter()
            .find(|(_, s, _)| *s == slug)
            .map_or(Section::Family, |(sec, _, _)| *sec)
    });
    // Every list item's document object, found again after each change: lists and fields use it
    // to find themselves without reading the whole case.
    let objects = StoredValue::new(Default::default());
    let version = Memo::new({
        let repo = repo.clone();
        move |previous: Option<&u64>| {
            repo.track_changes();
            if let Some(Ok(index)) =
                repo.with_doc(&id, |doc| shared::record::edit::item_objects(doc))
            {
                objects.set_value(index);
            }
            previous.map_or(0, |v| v + 1)
        }
    });
    // Build it now, before the fields below look themselves up.
    version.with_untracked(|_| ());
    provide_context(ItemIndex(objects, version));
    // The whole case, read once per change, for the plan summary, "still to record" and meeting
    // mode. It is the slowest part of opening a big case and nothing needs it to draw the lists
    // and fields, so it is read one task after the screen is up.
    let read_whole = RwSignal::new(false);
    let record = Memo::new({
        let repo = repo.clone();
        move |_| {
            if !read_whole.get() {
                return None;
            }
            repo.track_changes();
            repo.read(&id)
        }
    });
    set_timeout(
        move || {
            let _ = read_whole.try_set(true);
        },
        std::time::Duration::ZERO,
    );
    mark("case-record-read");
    provide_context(record);
    super::owner::provide_owners(id, record);
    let cases = repo.cases();
    let name = move || {
        cases
            .with(|c| c.iter().find(|c| c.id == id).map(|c| c.child_name.clone()))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "Unnamed child".into())
    };
    let summary = move || {
        record.with(|r| {
            r.as_ref()
                .map(|r| plan_summary(r, &today()))
                .unwrap_or_default()
        })
    };
    let still_to_record = {
        let repo = repo.clone();
        move || {
            let current = section.get();
            record.with(|r| {
                r.as_ref()
                    .map(|r| {
                        // With the document's history: a meeting changed after it was agreed.
                        repo.with_doc(&id, |doc| missing_in_document(r, doc))
                            .unwrap_or_else(|| missing(r))
                            .into_iter()
                            .filter(|m| m.section == current)
                            .map(|m| m.message)
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default()
            })
        }
    };
    let link = web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .map(|o| format!("{o}/case/{id}"))
        .unwrap_or_default();
    // Runs once the screen is in the page: the end of "opening a case" (see the benchmark).
    Effect::new(move |_| mark("case-interactive"));
    mark("case-view-start");
    let print = move |_| {
        // Printing takes the case off the system: it is recorded (ids only) when online.
        leptos::task::spawn_local(async move {
            let _ = crate::api::record_export(&id, "print").await;
        });
        if let Some(w) = web_sys::window() {
            let _ = w.print();
        }
    };
    view! {
        <span class="govuk-caption-m app-case-head">"Early help case"</span>
        <h1 class="govuk-heading-l app-case-head" data-testid="case-title">{name}</h1>
        <p class="govuk-body app-case-head" data-testid="plan-summary">{summary}</p>
        <super::presence::PresenceList id=id/>
        <super::history::ChangedSince id=id/>
        <super::subject_access::DueRequests id=id/>
        <div class="govuk-inset-text app-no-print">
            "Changes save automatically on this device and are shared when you are online. "
            "To work on this case with someone else, send them this link: "
            <span class="app-case-link" data-testid="case-link">{link}</span>
        </div>
        <nav class="app-section-nav app-no-print" aria-label="Sections of the case">
            <ul class="app-section-nav__list">
                {SECTIONS.iter().map(|(sec, slug, title)| {
                    let sec = *sec;
                    view! {
                        <li class="app-section-nav__item">
                            <A href=format!("/case/{id}/{slug}") attr:class="govuk-link"
                                attr:aria-current=move || (!elsewhere() && meeting.with(Option::is_none) && section.get() == sec).then_some("page")>{*title}</A>
                        </li>
                    }
                }).collect_view()}
                {[
                    ("team", "Team", on_team),
                    ("history", "History", on_history),
                    ("family-plan", "Family's plan", on_family_plan),
                    ("referral", "Request for support", on_referral),
                    ("information-requests", "Requests for information", on_requests),
                ].into_iter().map(|(slug, title, on)| view! {
                    <li class="app-section-nav__item">
                        <A href=format!("/case/{id}/{slug}") attr:class="govuk-link" attr:data-testid=format!("{slug}-link")
                            attr:aria-current=move || on.get().then_some("page")>{title}</A>
                    </li>
                }).collect_view()}
            </ul>
        </nav>
        {move || meeting.get().map(|m| view! { <super::meeting::MeetingMode id=id meeting=m/> })}
        {move || (on_team.get() && meeting.with(Option::is_none)).then(|| view! {
            <h2 class="govuk-heading-l app-section-title">"Team around the child"</h2>
            <super::team::Team id=id/>
        })}
        {move || (on_history.get() && meeting.with(Option::is_none)).then(|| view! {
            <h2 class="govuk-heading-l app-section-title">"History"</h2>
            {move || if looking_back.get() {
                view! { <super::history::PastCase id=id/> }.into_any()
            } else {
                view! { <super::history::History id=id/> }.into_any()
            }}
        })}
        {move || (on_family_plan.get() && meeting.with(Option::is_none)).then(|| view! {
            <h2 class="govuk-heading-l app-section-title app-no-print">"Family's plan"</h2>
            <super::family_plan::FamilyPlan id=id/>
        })}
        {move || (on_referral.get() && meeting.with(Option::is_none)).then(|| view! {
            <h2 class="govuk-heading-l app-section-title app-no-print">"Request for support"</h2>
            <super::referral::Referral id=id/>
        })}
        {move || (on_requests.get() && meeting.with(Option::is_none)).then(|| view! {
            <h2 class="govuk-heading-l app-section-title">"Requests for information"</h2>
            <super::subject_access::SubjectAccess id=id/>
        })}
        {move || (!elsewhere() && meeting.with(Option::is_none)).then(|| {
            let still_to_record = still_to_record.clone();
            let sec = section.get();
            let title = SECTIONS.iter().find(|(s, _, _)| *s == sec).map(|(_, _, t)| *t).unwrap_or_default();
            view! {
                <h2 class="govuk-heading-l app-section-title">{title}</h2>
                {move || {
                    let items = still_to_record();
                    (!items.is_empty()).then(|| view! {
                        <div class="govuk-inset-text app-still-to-record app-no-print" data-testid="still-to-record">
                            <h3 class="govuk-heading-s">"Still to record"</h3>
                            <ul class="govuk-list govuk-list--bullet">
                                {items.into_iter().map(|m| view! { <li>{m}</li> }).collect_view()}
                            </ul>
                        </div>
                    })
                }}
                <div data-testid="section" data-section=format!("{sec:?}")>{section_view(id, sec)}</div>
            }
        })}
        {move || (!on_family_plan.get() && !on_referral.get() && !on_requests.get()).then(|| view! {
            <button type="button" class="govuk-button govuk-button--secondary app-no-print" on:click=print>"Print this section"</button>
        })}
    }
}

/// Every list item's document object by item id, for the case on screen, and a version that
/// changes whenever the index is rebuilt (after each change to the case).
#[derive(Clone, Copy)]
pub struct ItemIndex(
    pub StoredValue<std::collections::HashMap<String, automerge::ObjId>>,
    pub Memo<u64>,
);
