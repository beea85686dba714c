//! Meeting mode: the TAC meeting or review run live on one screen that everyone in it edits
//! together: who came, what the child and family said, progress on each action, new actions,
//! decisions and the next date; then the record is agreed by those present. Changes made after
//! agreement stay possible, and the screen says what changed.

use super::fields::RecordField;
use super::sections::{long_date, today, ItemList};
use super::use_repo;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;
use shared::record::edit::{self, List, Path};
use shared::record::family::Role;
use shared::record::meetings::{
    changed_since_agreement, ActionProgress, Meeting, MeetingField, MeetingKind, Participant,
    ProgressField,
};
use shared::record::CaseRecord;
use shared::DocumentId;
use std::collections::BTreeSet;

/// Starts a meeting now: today's date, attendees filled in with who has the case open and the
/// family's adults, then opens meeting mode.
#[component]
pub fn StartMeeting(id: DocumentId) -> impl IntoView {
    let repo = use_repo();
    let navigate = use_navigate();
    let start = move |_| {
        let me = repo.account().get_untracked().me().cloned();
        let here = repo.people_here(&id);
        let made = repo.with_doc(&id, |doc| -> Result<String, shared::record::RecordError> {
            let record = CaseRecord::from_document(doc)?;
            let kind = if record.meetings.is_empty() {
                MeetingKind::FirstTac
            } else {
                MeetingKind::Review
            };
            let meeting = Meeting::new(kind, &today());
            let mid = meeting.id.clone();
            edit::add(doc, &List::Meetings, &meeting)?;
            let mut professionals: Vec<(String, String)> = me
                .iter()
                .map(|m| (m.name.clone(), m.agency_name.clone()))
                .collect();
            for p in here {
                if !professionals
                    .iter()
                    .any(|(n, a)| *n == p.name && *a == p.agency)
                {
                    professionals.push((p.name, p.agency));
                }
            }
            for (name, agency) in professionals {
                edit::add(
                    doc,
                    &List::Attendees(mid.clone()),
                    &Participant::new(&name, &agency, ""),
                )?;
            }
            for person in record
                .family
                .people
                .iter()
                .filter(|p| p.role == Role::ParentCarer)
            {
                let role = person
                    .relationship
                    .as_ref()
                    .map(|r| r.label())
                    .unwrap_or("Parent or carer");
                edit::add(
                    doc,
                    &List::Attendees(mid.clone()),
                    &Participant::new(&person.name, "", role),
                )?;
            }
            Ok(mid)
        });
        match made {
            Some(Ok(mid)) => {
                repo.reshaped(id);
                navigate(&format!("/case/{id}/meeting/{mid}"), Default::default());
            }
            Some(Err(e)) => web_sys::console::warn_1(&e.to_string().into()),
            None => {}
        }
    };
    view! {
        <button type="button" class="govuk-button app-no-print" on:click=start>"Start a meeting now"</button>
    }
}

/// The meeting, live.
#[component]
pub fn MeetingMode(id: DocumentId, meeting: String) -> impl IntoView {
    let owners = use_context::<super::owner::Owners>();
    let repo = use_repo();
    let record =
        use_context::<Memo<Option<CaseRecord>>>().expect("the case screen provides its record");
    let mid = meeting.clone();
    let this = Memo::new(move |_| {
        record.with(|r| {
            r.as_ref()
                .and_then(|r| r.meetings.iter().find(|m| m.id == mid).cloned())
        })
    });
    let m = meeting.clone();
    let title = move || {
        if record.with(Option::is_none) {
            return "Opening the meeting…".to_string();
        }
        this.with(|m| {
            m.as_ref()
                .map(|m| m.display_name())
                .unwrap_or_else(|| "This meeting is not in the case".into())
        })
    };
    // Every action in the plan, for progress.
    let actions = Memo::new(move |_| {
        record.with(|r| {
            r.as_ref()
                .map(|r| {
                    r.plan
                        .outcomes
                        .iter()
                        .flat_map(|o| o.actions.iter())
                        .map(|a| (a.id.clone(), a.what.as_str().to_string(), a.owner.clone()))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    });
    let progress_for = move |action: &str| {
        this.with(|m| {
            m.as_ref().and_then(|m| {
                m.progress
                    .iter()
                    .find(|p| p.action_id == action)
                    .map(|p| p.id.clone())
            })
        })
    };
    let record_progress = {
        let (repo, m) = (repo.clone(), m.clone());
        move |action: String| {
            let _ = repo.with_doc(&id, |doc| {
                edit::add(
                    doc,
                    &List::Progress(m.clone()),
                    &ActionProgress::new(&action),
                )
            });
            repo.reshaped(id);
        }
    };
    let field = move |f: MeetingField| view! { <RecordField id=id path=Path::Meeting(meeting.clone(), f)/> };
    view! {
        <h2 class="govuk-heading-l app-section-title" data-testid="meeting-title">{title}</h2>
        <p class="govuk-body app-no-print">
            "Everyone in the meeting can type here at the same time; changes appear on every screen as they are made. "
            <A href=format!("/case/{id}/meetings") attr:class="govuk-link">"Back to meetings and reviews"</A>
        </p>
        {field(MeetingField::Date)}
        <ItemList id=id list=List::Attendees(m.clone()) heading="Who is at the meeting" noun="attendee"/>
        <Joiners id=id meeting=m.clone() this=this/>
        <ItemList id=id list=List::Apologies(m.clone()) heading="Apologies" noun="apology"/>
        <h3 class="govuk-heading-m">"What the child and family say"</h3>
        {field(MeetingField::ChildViews)}
        {field(MeetingField::FamilyViews)}
        <h3 class="govuk-heading-m">"Progress on each action"</h3>
        {move || {
            let list = actions.get();
            if record.with(Option::is_none) {
                return ().into_any();
            }
            if list.is_empty() {
                return view! { <p class="govuk-body">"The plan has no actions yet. Add them below."</p> }.into_any();
            }
            list.into_iter().map(|(action, what, owner)| {
                let existing = progress_for(&action);
                let record_progress = record_progress.clone();
                let owner = match owners {
                    Some(o) if !owner.trim().is_empty() => o.label(&owner),
                    _ => owner,
                };
                let summary = if owner.trim().is_empty() { what.clone() } else { format!("{what} ({owner})") };
                view! {
                    <div class="app-item" data-kind="progress-for-action">
                        <p class="govuk-body govuk-!-font-weight-bold">{summary}</p>
                        {match existing {
                            Some(pid) => view! {
                                <RecordField id=id path=Path::Progress(pid.clone(), ProgressField::Status)/>
                                <RecordField id=id path=Path::Progress(pid, ProgressField::Note)/>
                            }.into_any(),
                            None => view! {
                                <button type="button" class="govuk-button govuk-button--secondary app-no-print"
                                    on:click=move |_| record_progress(action.clone())>
                                    "Record progress"<span class="govuk-visually-hidden">{format!(" on: {what}")}</span>
                                </button>
                            }.into_any(),
                        }}
                    </div>
                }.into_any()
            }).collect_view().into_any()
        }}
        <h3 class="govuk-heading-m">"New actions"</h3>
        <ItemList id=id list=List::Outcomes heading="Outcomes and their actions" noun="outcome" nested_level=true/>
        <h3 class="govuk-heading-m">"Decisions and next steps"</h3>
        {field(MeetingField::Decisions)}
        {field(MeetingField::NextDate)}
        <Agreement id=id meeting=m.clone() this=this/>
    }
}

/// People who have the meeting open but are not yet listed as attending: one press adds them.
#[component]
fn Joiners(id: DocumentId, meeting: String, this: Memo<Option<Meeting>>) -> impl IntoView {
    let repo = use_repo();
    let missing = {
        let repo = repo.clone();
        let people = super::presence::people_here(id);
        move || -> Vec<(String, String)> {
            let listed: Vec<(String, String)> = this.with(|m| {
                m.iter()
                    .flat_map(|m| m.attendees.iter())
                    .map(|a| (a.name.clone(), a.agency.clone()))
                    .collect()
            });
            let me = repo.account().get().me().cloned();
            let mut here: Vec<(String, String)> = me
                .map(|m| (m.name, m.agency_name))
                .into_iter()
                .chain(people.get().into_iter().map(|p| (p.name, p.agency)))
                .filter(|p| !listed.contains(p))
                .collect();
            here.dedup();
            here
        }
    };
    let add = {
        let (repo, missing) = (repo.clone(), missing.clone());
        move |_| {
            let people = missing();
            let _ = repo.with_doc(&id, |doc| {
                people.iter().try_for_each(|(name, agency)| {
                    edit::add(
                        doc,
                        &List::Attendees(meeting.clone()),
                        &Participant::new(name, agency, ""),
                    )
                })
            });
            repo.reshaped(id);
        }
    };
    view! {
        {move || {
            let people = missing();
            (!people.is_empty()).then(|| {
                let names: Vec<String> = people.iter().map(|(n, _)| n.clone()).collect();
                view! {
                    <div class="govuk-inset-text app-no-print" data-testid="joiners">
                        <p class="govuk-body">{format!("Here but not listed as attending: {}.", names.join(", "))}</p>
                        <button type="button" class="govuk-button govuk-button--secondary" on:click=add.clone()>
                            "Add them to who is at the meeting"
                        </button>
                    </div>
                }
            })
        }}
    }
}

/// Agreeing the record: those present tick their names; later changes are listed.
#[component]
fn Agreement(id: DocumentId, meeting: String, this: Memo<Option<Meeting>>) -> impl IntoView {
    let repo = use_repo();
    let unticked = RwSignal::new(BTreeSet::<String>::new());
    let m = meeting.clone();
    let changes = {
        let repo = repo.clone();
        move || {
            this.track();
            repo.with_doc(&id, |doc| changed_since_agreement(doc, &m))
                .and_then(Result::ok)
                .unwrap_or_default()
        }
    };
    let agree = {
        let repo = repo.clone();
        move |_| {
            let Some(current) = this.get_untracked() else {
                return;
            };
            let skip = unticked.get_untracked();
            let people: Vec<(String, String)> = current
                .attendees
                .iter()
                .filter(|a| !skip.contains(&a.id) && !a.name.trim().is_empty())
                .map(|a| (a.name.clone(), a.agency.clone()))
                .collect();
            let people: Vec<(&str, &str)> = people
                .iter()
                .map(|(n, a)| (n.as_str(), a.as_str()))
                .collect();
            if let Some(Err(e)) = repo.with_doc(&id, |doc| {
                edit::agree_meeting(doc, &meeting, &people, &today())
            }) {
                web_sys::console::warn_1(&e.to_string().into());
            }
            repo.reshaped(id);
        }
    };
    view! {
        <h3 class="govuk-heading-m">"Agree the record"</h3>
        {move || {
            let Some(current) = this.get() else { return ().into_any() };
            let agreed = current.is_agreed();
            let changed = changes();
            let latest_date = current.agreed.last().map(|a| a.date.clone()).unwrap_or_default();
            let who: Vec<String> = current.agreed.iter().filter(|a| a.date == latest_date).map(|a| {
                if a.agency.trim().is_empty() { a.name.clone() } else { format!("{} ({})", a.name, a.agency) }
            }).collect();
            view! {
                {agreed.then(|| view! {
                    <div class="govuk-inset-text app-agreed" data-testid="agreed">
                        {format!("Agreed on {} by {}.", long_date(&latest_date).unwrap_or(latest_date.clone()), who.join(", "))}
                    </div>
                })}
                {(!changed.is_empty()).then(|| view! {
                    <div class="govuk-inset-text app-still-to-record" data-testid="changed-after-agreement">
                        <h4 class="govuk-heading-s">"Changed after it was agreed"</h4>
                        <ul class="govuk-list govuk-list--bullet">
                            {changed.into_iter().map(|c| view! { <li>{c.message}</li> }).collect_view()}
                        </ul>
                    </div>
                })}
                {(!agreed || !changes().is_empty()).then(|| view! {
                    <fieldset class="govuk-fieldset app-no-print">
                        <legend class="govuk-fieldset__legend govuk-fieldset__legend--s">"Who agrees this record"</legend>
                        <div class="govuk-checkboxes">
                            {current.attendees.iter().filter(|a| !a.name.trim().is_empty()).map(|a| {
                                let aid = a.id.clone();
                                let aid2 = a.id.clone();
                                let label = if a.agency.trim().is_empty() { a.name.clone() } else { format!("{} ({})", a.name, a.agency) };
                                let input_id = format!("agree-{}", a.id);
                                view! {
                                    <div class="govuk-checkboxes__item">
                                        <input class="govuk-checkboxes__input" type="checkbox" id=input_id.clone()
                                            prop:checked=move || !unticked.get().contains(&aid)
                                            on:change=move |ev| {
                                                let on = event_target_checked(&ev);
                                                unticked.update(|s| { if on { s.remove(&aid2); } else { s.insert(aid2.clone()); } });
                                            }/>
                                        <label class="govuk-label govuk-checkboxes__label" for=input_id>{label}</label>
                                    </div>
                                }
                            }).collect_view()}
                        </div>
                    </fieldset>
                    <button type="button" class="govuk-button app-no-print" on:click=agree.clone()>
                        {if agreed { "Agree the record again" } else { "Mark the record as agreed" }}
                    </button>
                })}
            }.into_any()
        }}
    }
}
