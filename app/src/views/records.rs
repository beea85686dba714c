//! Keeping and destroying records: the retention rule and the records manager (system
//! administrators), the cases whose time is up, legal holds and destruction (the records
//! manager), and the destruction log with whose devices have not yet confirmed.

use crate::api::{self, CallError};
use leptos::prelude::*;
use shared::api::{DestroyedCase, DueCase, Me, RecordsSettings, Role};
use shared::record::retention::RetentionRule;

fn day_in_words(iso: &str) -> String {
    shared::record::dates::Day::parse(iso)
        .map(|d| d.in_words())
        .unwrap_or_else(|| iso.to_string())
}

fn seconds_in_words(at: i64) -> String {
    shared::record::dates::uk_day(at * 1000).in_words()
}

#[component]
pub fn Records() -> impl IntoView {
    let me = super::use_repo().account().get_untracked().me().cloned();
    let changed = RwSignal::new(0u32);
    let message = RwSignal::new(None::<Result<String, String>>);
    let settings = LocalResource::new(move || {
        changed.get();
        api::records_settings()
    });
    view! {
        <h1 class="govuk-heading-l">"Keeping and destroying records"</h1>
        {move || message.get().map(|m| match m {
            Ok(text) => view! {
                <div class="govuk-notification-banner govuk-notification-banner--success" role="alert" data-testid="records-message">
                    <div class="govuk-notification-banner__content"><p class="govuk-body">{text}</p></div>
                </div>
            }.into_any(),
            Err(text) => view! {
                <div class="govuk-error-summary" role="alert" data-testid="records-error">
                    <p class="govuk-body">{text}</p>
                </div>
            }.into_any(),
        })}
        {move || match settings.get() {
            None => view! { <p class="govuk-body">"Loading…"</p> }.into_any(),
            Some(Err(e)) => view! { <p class="govuk-body">{e.to_string()}</p> }.into_any(),
            Some(Ok(s)) => {
                let admin = me.as_ref().is_some_and(|m: &Me| m.role == Role::SystemAdmin);
                view! {
                    <p class="govuk-body" data-testid="retention-rule">{s.rule.in_words()}". Records about adults only are kept until 6 years after the case closed."</p>
                    <p class="govuk-body">{match &s.records_manager_name {
                        Some(name) => format!("Records manager: {name}."),
                        None => "No records manager has been named yet.".to_string(),
                    }}</p>
                    {admin.then(|| view! { <RuleForm current=s.clone() message changed/> })}
                    {s.you_manage.then(|| view! { <DueList message changed/> })}
                    {(s.you_manage || admin).then(|| view! { <DestroyedList changed/> })}
                }.into_any()
            }
        }}
    }
}

#[component]
fn RuleForm(
    current: RecordsSettings,
    message: RwSignal<Option<Result<String, String>>>,
    changed: RwSignal<u32>,
) -> impl IntoView {
    let (kind, years) = match current.rule {
        RetentionRule::AfterBirth { years } => ("after_birth", years),
        RetentionRule::AfterAdulthoodAndQuiet { years } => ("after_adulthood", years),
    };
    let kind = RwSignal::new(kind.to_string());
    let years = RwSignal::new(years.to_string());
    let manager = RwSignal::new(
        current
            .records_manager_id
            .map(|i| i.to_string())
            .unwrap_or_default(),
    );
    let people = LocalResource::new(api::directory);
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Ok(n) = years.get_untracked().trim().parse::<u32>() else {
            message.set(Some(Err("Enter a number of years, like 25".into())));
            return;
        };
        let rule = if kind.get_untracked() == "after_adulthood" {
            RetentionRule::AfterAdulthoodAndQuiet { years: n }
        } else {
            RetentionRule::AfterBirth { years: n }
        };
        let body = RecordsSettings {
            rule,
            records_manager_id: manager.get_untracked().parse().ok(),
            records_manager_name: None,
            you_manage: false,
        };
        leptos::task::spawn_local(async move {
            let result = api::set_records_settings(&body).await;
            message.set(Some(
                result
                    .map(|_| "How long records are kept has been saved.".to_string())
                    .map_err(|e| e.to_string()),
            ));
            changed.update(|n| *n += 1);
        });
    };
    view! {
        <form class="app-form" on:submit=save data-testid="retention-form">
            <h2 class="govuk-heading-m">"How long records are kept"</h2>
            <div class="govuk-form-group">
                <label class="govuk-label" for="retention-kind">"Keep records about children"</label>
                <select class="govuk-select" id="retention-kind" prop:value=move || kind.get()
                    on:change=move |ev| kind.set(event_target_value(&ev))>
                    <option value="after_birth">"until a number of years after the youngest child's birth"</option>
                    <option value="after_adulthood">"until a number of years after the youngest child turns 18 or the case last changed, whichever is later"</option>
                </select>
            </div>
            <div class="govuk-form-group">
                <label class="govuk-label" for="retention-years">"Number of years"</label>
                <input class="govuk-input govuk-input--width-3" id="retention-years" inputmode="numeric"
                    prop:value=move || years.get() on:input=move |ev| years.set(event_target_value(&ev))/>
            </div>
            <div class="govuk-form-group">
                <label class="govuk-label" for="records-manager">"Records manager"</label>
                <div class="govuk-hint">"The one person who approves destroying records and places legal holds."</div>
                // Set again once the people have loaded: a value with no option yet shows nothing.
                <select class="govuk-select" id="records-manager" prop:value=move || { people.track(); manager.get() }
                    on:change=move |ev| manager.set(event_target_value(&ev))>
                    <option value="">"No one yet"</option>
                    {move || people.get().and_then(|p| p.ok()).unwrap_or_default().into_iter()
                        .filter(|p| p.active)
                        .map(|p| view! { <option value=p.id.to_string()>{format!("{}, {}", p.name, p.agency_name)}</option> })
                        .collect_view()}
                </select>
            </div>
            <button class="govuk-button" type="submit">"Save"</button>
        </form>
    }
}

#[component]
fn DueList(
    message: RwSignal<Option<Result<String, String>>>,
    changed: RwSignal<u32>,
) -> impl IntoView {
    let due = LocalResource::new(move || {
        changed.get();
        api::due_cases()
    });
    let act = move |what: &'static str, case: String, reason: String| {
        leptos::task::spawn_local(async move {
            let result: Result<String, CallError> = match what {
                "hold" => api::place_hold(&case, &reason)
                    .await
                    .map(|_| "The legal hold has been placed. The case will not be destroyed while it stands.".into()),
                "lift" => api::lift_hold(&case)
                    .await
                    .map(|_| "The legal hold has been lifted.".into()),
                _ => api::destroy_case(&case).await.map(|_| {
                    "The case has been destroyed. It is being removed from everyone's devices.".into()
                }),
            };
            message.set(Some(result.map_err(|e| e.to_string())));
            changed.update(|n| *n += 1);
        });
    };
    view! {
        <h2 class="govuk-heading-m">"Cases due to be destroyed"</h2>
        {move || match due.get() {
            None => view! { <p class="govuk-body">"Loading…"</p> }.into_any(),
            Some(Err(e)) => view! { <p class="govuk-body">{e.to_string()}</p> }.into_any(),
            Some(Ok(list)) if list.is_empty() => view! {
                <p class="govuk-body" data-testid="nothing-due">"No case is due to be destroyed."</p>
            }.into_any(),
            Some(Ok(list)) => view! {
                <ul class="govuk-list app-due-list" data-testid="due-list">
                    {list.into_iter().map(|c: DueCase| {
                        let reason = RwSignal::new(String::new());
                        let sure = RwSignal::new(false);
                        let case = c.case_id.clone();
                        let (c1, c2, c3) = (case.clone(), case.clone(), case.clone());
                        let name = if c.child_name.trim().is_empty() { "A child".to_string() } else { c.child_name.clone() };
                        view! {
                            <li class="app-due" data-testid="due-case">
                                <h3 class="govuk-heading-s">{name}</h3>
                                <p class="govuk-body">{format!("Due to be destroyed since {}.", day_in_words(&c.due))}</p>
                                {c.never_closed.clone().map(|last| view! {
                                    <p class="govuk-body" data-testid="never-closed">
                                        <strong>"This case was never closed. "</strong>
                                        {format!("It last changed on {}, and its time is counted from then. Check with its team before you destroy it.", day_in_words(&last))}
                                    </p>
                                })}
                                {match c.hold.clone() {
                                    Some(h) => view! {
                                        <p class="govuk-body" data-testid="legal-hold">
                                            {format!("Legal hold since {}, placed by {}: {}", seconds_in_words(h.placed_at), h.placed_by, h.reason)}
                                        </p>
                                        <button type="button" class="govuk-button govuk-button--secondary"
                                            on:click=move |_| act("lift", c1.clone(), String::new())>"Lift the legal hold"</button>
                                    }.into_any(),
                                    None => view! {
                                        <div class="govuk-form-group">
                                            <div class="govuk-checkboxes__item">
                                                <input class="govuk-checkboxes__input" type="checkbox" id=format!("sure-{case}")
                                                    on:change=move |ev| sure.set(event_target_checked(&ev))/>
                                                <label class="govuk-label govuk-checkboxes__label" for=format!("sure-{case}")>
                                                    "I approve destroying this record. This cannot be undone."
                                                </label>
                                            </div>
                                        </div>
                                        <button type="button" class="govuk-button govuk-button--warning" disabled=move || !sure.get()
                                            on:click=move |_| act("destroy", c2.clone(), String::new())>"Destroy this case"</button>
                                        <div class="govuk-form-group">
                                            <label class="govuk-label" for=format!("hold-{case}")>"Or keep it under a legal hold, because"</label>
                                            <input class="govuk-input" id=format!("hold-{case}") prop:value=move || reason.get()
                                                on:input=move |ev| reason.set(event_target_value(&ev))/>
                                        </div>
                                        <button type="button" class="govuk-button govuk-button--secondary"
                                            on:click=move |_| act("hold", c3.clone(), reason.get_untracked())>"Place a legal hold"</button>
                                    }.into_any(),
                                }}
                            </li>
                        }
                    }).collect_view()}
                </ul>
            }.into_any(),
        }}
    }
}

#[component]
fn DestroyedList(changed: RwSignal<u32>) -> impl IntoView {
    let log = LocalResource::new(move || {
        changed.get();
        api::destroyed_cases()
    });
    view! {
        <h2 class="govuk-heading-m">"Destroyed cases"</h2>
        {move || match log.get() {
            None => view! { <p class="govuk-body">"Loading…"</p> }.into_any(),
            Some(Err(e)) => view! { <p class="govuk-body">{e.to_string()}</p> }.into_any(),
            Some(Ok(list)) if list.is_empty() => view! { <p class="govuk-body">"No case has been destroyed."</p> }.into_any(),
            Some(Ok(list)) => view! {
                <ul class="govuk-list" data-testid="destroyed-list">
                    {list.into_iter().map(|d: DestroyedCase| view! {
                        <li>
                            <p class="govuk-body">
                                {format!("Case {} destroyed on {} by {} (due since {}). {}.",
                                    d.case_id.chars().take(8).collect::<String>(),
                                    seconds_in_words(d.destroyed_at),
                                    d.approved_by,
                                    day_in_words(&d.due),
                                    d.rule)}
                            </p>
                            <p class="govuk-body" data-testid="waiting-for">
                                {if d.waiting_for.is_empty() && d.never_opened.is_empty() {
                                    format!("Everyone's devices have removed it ({} confirmed).", d.devices_confirmed)
                                } else if d.waiting_for.is_empty() {
                                    format!("Devices that had it have removed it ({} confirmed).", d.devices_confirmed)
                                } else {
                                    format!("Still to remove it from their devices: {}.", d.waiting_for.join(", "))
                                }}
                            </p>
                            {(!d.never_opened.is_empty()).then(|| view! {
                                <p class="govuk-body" data-testid="never-opened">
                                    {format!("No record of it being opened on a device by: {}. Check with them if unsure.", d.never_opened.join(", "))}
                                </p>
                            })}
                        </li>
                    }).collect_view()}
                </ul>
            }.into_any(),
        }}
    }
}
