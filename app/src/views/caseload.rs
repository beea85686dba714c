//! The first screen: what needs doing across my cases (from each case's caseload row, kept
//! with its summary, so no case is read to draw it), my actions across cases, and starting a
//! new case.

use super::use_repo;
use crate::later::later;
use crate::storage::CaseSummary;
use crate::sync::Repo;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;
use shared::api::CaseRole;
use shared::caseload::{ActionRow, Attention, CaseRow, REVIEW_SOON_DAYS};
use shared::record::dates::{until_uk_midnight, Day};
use shared::record::edit::{self, Path};
use shared::record::plan::{ActionField, ActionStatus};
use shared::DocumentId;

/// Today in the UK, changing at midnight while the app is open.
fn use_today() -> ReadSignal<Day> {
    let (today, set) = signal(super::uk_today());
    fn tick(set: WriteSignal<Day>) {
        let now = js_sys::Date::now() as i64;
        // A second past midnight, so the new day has begun.
        let wait = (until_uk_midnight(now) + 1000).clamp(1000, 86_400_000) as u32;
        gloo_timers::callback::Timeout::new(wait, move || {
            if set.try_set(super::uk_today()).is_none() {
                tick(set);
            }
        })
        .forget();
    }
    tick(set);
    today
}

/// Which cases to list.
#[derive(Clone, Copy, PartialEq)]
enum Show {
    Open,
    Overdue,
    ReviewSoon,
    MyActions,
    Lead,
    Closed,
}

impl Show {
    const ALL: [(Show, &'static str, &'static str); 6] = [
        (Show::Open, "open", "All open cases"),
        (Show::Overdue, "overdue", "Something overdue"),
        (Show::ReviewSoon, "review", "Review due in the next 14 days"),
        (Show::MyActions, "mine", "Cases with actions for me"),
        (Show::Lead, "lead", "Cases I am lead professional for"),
        (Show::Closed, "closed", "Closed cases"),
    ];
}

/// What needs doing, in words, and how the tag looks.
fn attention_words(a: &Attention) -> (&'static str, String) {
    match a {
        Attention::ReviewOverdue(1) => ("govuk-tag--red", "Review overdue by 1 day".into()),
        Attention::ReviewOverdue(n) => ("govuk-tag--red", format!("Review overdue by {n} days")),
        Attention::ActionsOverdue(1) => ("govuk-tag--red", "1 action overdue".into()),
        Attention::ActionsOverdue(n) => ("govuk-tag--red", format!("{n} actions overdue")),
        Attention::FollowUpPassed(_) => ("govuk-tag--red", "Chase an answer".into()),
        Attention::Waiting => ("govuk-tag--orange", "Waiting for an answer".into()),
        Attention::NoPlan => ("govuk-tag--yellow", "No plan yet".into()),
        Attention::ReviewSoon(0) => ("govuk-tag--yellow", "Review today".into()),
        Attention::ReviewSoon(1) => ("govuk-tag--yellow", "Review tomorrow".into()),
        Attention::ReviewSoon(n) => ("govuk-tag--yellow", format!("Review in {n} days")),
        Attention::Nothing => ("govuk-tag--green", "Nothing due".into()),
        Attention::Closed => ("govuk-tag--grey", "Closed".into()),
    }
}

#[component]
pub fn Caseload() -> impl IntoView {
    let repo = use_repo();
    let cases = repo.cases();
    let roles = repo.roles();
    let status = repo.status();
    let account = repo.account();
    let today = use_today();
    let search = RwSignal::new(String::new());
    let show = RwSignal::new(Show::Open);
    let me = move || account.with(|a| a.me().map(|m| (m.id, m.name.clone())));
    let is_mine = move |a: &ActionRow| me().is_some_and(|(id, name)| a.is_for(id, &name));

    // The cases to list, what needs doing first at the top.
    let listed = move || {
        let today = today.get();
        let query = search.get();
        let show = show.get();
        let roles = roles.get();
        let mut list: Vec<(CaseSummary, CaseRow, Attention)> = cases.with(|all| {
            all.iter()
                .map(|c| {
                    let row = c.row.clone().unwrap_or_else(|| CaseRow {
                        child: c.child_name.clone(),
                        ..CaseRow::default()
                    });
                    let attention = row.attention(today);
                    (c.clone(), row, attention)
                })
                .filter(|(_, row, _)| query.trim().is_empty() || row.matches(&query))
                .filter(|(c, row, attention)| match show {
                    Show::Open => *attention != Attention::Closed,
                    Show::Overdue => matches!(
                        attention,
                        Attention::ReviewOverdue(_)
                            | Attention::ActionsOverdue(_)
                            | Attention::FollowUpPassed(_)
                    ),
                    Show::ReviewSoon => {
                        row.next_review(today)
                            .is_some_and(|d| (0..=REVIEW_SOON_DAYS).contains(&today.days_until(d)))
                            && *attention != Attention::Closed
                    }
                    Show::MyActions => row.actions.iter().any(|a| !a.finished && is_mine(a)),
                    Show::Lead => roles.get(&c.id) == Some(&CaseRole::Lead),
                    Show::Closed => *attention == Attention::Closed,
                })
                .collect()
        });
        list.sort_by(|a, b| {
            a.2.urgency()
                .cmp(&b.2.urgency())
                .then_with(|| a.1.name().to_lowercase().cmp(&b.1.name().to_lowercase()))
        });
        list
    };
    let waiting = move |id: &DocumentId| status.with(|s| s.waiting.iter().any(|w| w.id == *id));

    view! {
        <h1 class="govuk-heading-l">"Your cases"</h1>
        <div class="app-caseload__controls">
            <div class="govuk-form-group">
                <label class="govuk-label" for="caseload-search">"Search by the name of the child or anyone in the family"</label>
                <input class="govuk-input govuk-input--width-20" id="caseload-search" type="search" autocomplete="off" spellcheck="false"
                    prop:value=move || search.get() on:input=move |ev| search.set(event_target_value(&ev))/>
            </div>
            <div class="govuk-form-group">
                <label class="govuk-label" for="caseload-show">"Show"</label>
                <select class="govuk-select" id="caseload-show" on:change=move |ev| {
                    let v = event_target_value(&ev);
                    if let Some((s, _, _)) = Show::ALL.iter().find(|(_, key, _)| *key == v) {
                        show.set(*s);
                    }
                }>
                    {Show::ALL.iter().map(|(s, key, label)| {
                        let s = *s;
                        view! { <option value=*key selected=move || show.get() == s>{*label}</option> }
                    }).collect_view()}
                </select>
            </div>
        </div>
        {move || {
            let list = listed();
            if list.is_empty() {
                let empty = cases.with(Vec::is_empty);
                return view! {
                    <p class="govuk-body" data-testid="caseload-empty">{if empty {
                        "There are no cases on this device yet."
                    } else {
                        "No cases match."
                    }}</p>
                }.into_any();
            }
            let today = today.get();
            let roles = roles.get();
            let me_id = me().map(|(id, _)| id);
            view! {
                <ul class="app-case-list" data-testid="case-list">
                    {list.into_iter().map(|(c, row, attention)| {
                        let (tag, words) = attention_words(&attention);
                        let mut facts: Vec<String> = Vec::new();
                        let age = row.age(today);
                        if !age.is_empty() { facts.push(age); }
                        match roles.get(&c.id) {
                            Some(CaseRole::Lead) => facts.push("You are lead professional".into()),
                            Some(CaseRole::Member) => facts.push("You are in the team".into()),
                            None => {}
                        }
                        if c.row.is_some() && attention != Attention::Closed {
                            facts.push(row.summary(today));
                        }
                        facts.extend(row.waiting.iter().cloned());
                        if row.changed_at > 0 {
                            let by = match row.changed_by {
                                Some(p) if Some(p) == me_id => " by you".to_string(),
                                Some(_) if !row.changed_by_name.is_empty() => format!(" by {}", row.changed_by_name),
                                _ => String::new(),
                            };
                            facts.push(format!("Changed {}{by}", super::history::moment(row.changed_at)));
                        }
                        let unshared = waiting(&c.id);
                        view! {
                            <li class="app-case-list__item" data-testid="caseload-case">
                                <A href=format!("/case/{}", c.id) attr:class="govuk-link app-case-list__title">{row.name()}</A>
                                <strong class=format!("govuk-tag {tag}") data-testid="caseload-attention">{words}</strong>
                                {unshared.then(|| view! { <strong class="govuk-tag govuk-tag--blue">"Not shared yet"</strong> })}
                                <p class="app-case-list__meta" data-testid="caseload-facts">{facts.join(" · ")}</p>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            }.into_any()
        }}
        <MyActions today=today/>
        <NewCase/>
    }
}

/// Every unfinished action for me across my cases, due soonest first, with a way to mark
/// progress from here.
#[component]
fn MyActions(today: ReadSignal<Day>) -> impl IntoView {
    let repo = use_repo();
    let cases = repo.cases();
    let account = repo.account();
    let mine = move || {
        let Some((me, name)) = account.with(|a| a.me().map(|m| (m.id, m.name.clone()))) else {
            return Vec::new();
        };
        let mut list: Vec<(CaseSummary, ActionRow)> = cases.with(|all| {
            all.iter()
                .filter_map(|c| Some((c, c.row.as_ref()?)))
                .flat_map(|(c, row)| {
                    row.actions
                        .iter()
                        .filter(|a| !a.finished && a.is_for(me, &name))
                        .map(move |a| (c.clone(), a.clone()))
                })
                .collect()
        });
        // Due soonest first; those with no date last.
        list.sort_by_key(|(_, a)| (Day::parse(&a.due).is_none(), a.due.clone()));
        list
    };
    let set_status = move |id: DocumentId, action: String, status: String| {
        let repo = repo.clone();
        leptos::task::spawn_local(async move {
            let saved = match set_action_status(repo.clone(), id, action, status).await {
                Ok(saving) => saving.await,
                Err(e) => Err(e.to_string()),
            };
            if let Err(e) = saved {
                repo.notices()
                    .update(|n| n.push(format!("Your change to an action was not saved. {e}")));
            }
        });
    };
    view! {
        <h2 class="govuk-heading-m">"Your actions"</h2>
        {move || {
            let list = mine();
            if list.is_empty() {
                return view! { <p class="govuk-body" data-testid="my-actions-empty">"No actions are waiting for you."</p> }.into_any();
            }
            let today = today.get();
            view! {
                <table class="govuk-table" data-testid="my-actions">
                    <thead class="govuk-table__head"><tr class="govuk-table__row">
                        <th scope="col" class="govuk-table__header">"What"</th>
                        <th scope="col" class="govuk-table__header">"Child"</th>
                        <th scope="col" class="govuk-table__header">"By when"</th>
                        <th scope="col" class="govuk-table__header">"Progress"</th>
                    </tr></thead>
                    <tbody class="govuk-table__body">
                        {list.into_iter().map(|(c, a)| {
                            let due = Day::parse(&a.due);
                            let late = due.is_some_and(|d| d < today);
                            let select_id = format!("progress-{}", a.id);
                            let (case_id, action_id) = (c.id, a.id.clone());
                            let set_status = set_status.clone();
                            // Saved with the button, not as the choice moves (arrow keys step
                            // through a closed list one choice at a time).
                            let chosen = RwSignal::new(a.status.clone());
                            let what = a.what.clone();
                            view! {
                                <tr class="govuk-table__row" data-testid="my-action">
                                    <td class="govuk-table__cell">
                                        <span data-testid="my-action-what">{a.what.clone()}</span>
                                        <span class="app-caseload__outcome">{format!("Outcome: {}", a.outcome)}</span>
                                    </td>
                                    <td class="govuk-table__cell"><A href=format!("/case/{}/plan", c.id) attr:class="govuk-link">{c.row.as_ref().map(CaseRow::name).unwrap_or(c.child_name.clone())}</A></td>
                                    <td class="govuk-table__cell" data-testid="my-action-due">
                                        {due.map(Day::in_words).unwrap_or_else(|| "No date".into())}
                                        {late.then(|| view! { " " <strong class="govuk-tag govuk-tag--red">"Overdue"</strong> })}
                                    </td>
                                    <td class="govuk-table__cell">
                                        <label class="govuk-visually-hidden" for=select_id.clone()>{format!("Progress on {}", a.what)}</label>
                                        <select class="govuk-select" id=select_id on:change=move |ev| chosen.set(event_target_value(&ev))>
                                            {ActionStatus::ALL.iter().filter(|s| !matches!(s, ActionStatus::Other(_))).map(|s| {
                                                let value = s.as_str().to_string();
                                                let selected = value == a.status;
                                                view! { <option value=value selected=selected>{s.label().to_string()}</option> }
                                            }).collect_view()}
                                        </select>
                                        <button type="button" class="govuk-button govuk-button--secondary app-caseload__save"
                                            on:click=move |_| set_status(case_id, action_id.clone(), chosen.get_untracked())>
                                            "Save"<span class="govuk-visually-hidden">{format!(" progress on {what}")}</span>
                                        </button>
                                    </td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            }.into_any()
        }}
    }
}

/// Starting a new case.
#[component]
fn NewCase() -> impl IntoView {
    let repo = use_repo();
    let name = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    // Starting a case may wait for the sync engine to arrive: one case per press.
    let busy = RwSignal::new(false);
    let navigate = use_navigate();
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let child = name.get_untracked();
        if child.trim().is_empty() {
            error.set(Some("Enter the child's full name".into()));
            return;
        }
        let (repo, navigate) = (repo.clone(), navigate.clone());
        busy.set(true);
        leptos::task::spawn_local(async move {
            let started = crate::sync::create_case(repo, child).await;
            // The person may have gone elsewhere while the engine was fetched.
            if busy.try_set(false).is_some() {
                return;
            }
            match started {
                Ok(Ok(id)) => navigate(&format!("/case/{id}"), Default::default()),
                Ok(Err(e)) => error.set(Some(e.to_string())),
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    };
    view! {
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
            <button type="submit" class="govuk-button" data-module="govuk-button"
                disabled=move || busy.get()>"Start case"</button>
        </form>
        <p class="govuk-body app-field-meta">
            "To open a case someone has shared with you, open the link they sent."
        </p>
    }
}

later!(rest;
    /// Marks an action's progress from the caseload: the case is opened on this device if it
    /// is not already, then changed like any edit.
    fn set_action_status(
        repo: Repo,
        id: DocumentId,
        action: String,
        status: String,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>>>> {
        Box::pin(async move {
            repo.open(id).await.map_err(|e| e.to_string())?;
            let path = Path::Action(action, ActionField::Status);
            match repo.with_doc(&id, |doc| edit::set_text(doc, &path, &status)) {
                Some(done) => {
                    // Whatever was changed before any error is stored and shared as usual.
                    repo.edited(id);
                    done.map_err(|e| e.to_string())
                }
                // Put away from this device, and asked for again from the relay.
                None => Err("The case is not on this device yet. Try again in a moment.".into()),
            }
        })
    }
);
