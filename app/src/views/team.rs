//! The team around the child: who can open this case, inviting someone from another
//! organisation (only with the family's consent, or a recorded safeguarding override), and, for
//! administrators, who did what with the case.

use super::use_repo;
use crate::api::{self, CallError};
use leptos::prelude::*;
use shared::api::{CaseRole, Member, Professional};
use shared::DocumentId;

#[component]
pub fn Team(id: DocumentId) -> impl IntoView {
    let repo = use_repo();
    let account = repo.account();
    let me = move || account.get().me().cloned();
    let changed = RwSignal::new(0u32);
    let members = LocalResource::new(move || {
        changed.track();
        async move { api::members(&id).await }
    });
    let directory = LocalResource::new(|| async { api::directory().await });
    let message = RwSignal::new(None::<Result<String, String>>);
    let chosen = RwSignal::new(String::new());

    let is_lead = move || {
        let me = me()?;
        members.get().and_then(|m| m.ok()).map(|m| {
            m.iter()
                .any(|x| x.professional_id == me.id && x.role == CaseRole::Lead)
        })
    };
    let invite = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Ok(who) = chosen.get_untracked().parse::<i64>() else {
            message.set(Some(Err("Choose who to invite".into())));
            return;
        };
        let name = directory
            .get_untracked()
            .and_then(|d| d.ok())
            .and_then(|d| d.into_iter().find(|p| p.id == who))
            .map(|p| p.name)
            .unwrap_or_default();
        leptos::task::spawn_local(async move {
            match api::invite(&id, who).await {
                Ok(()) => {
                    message.set(Some(Ok(format!("{name} can now open this case."))));
                    chosen.set(String::new());
                    changed.update(|n| *n += 1);
                }
                Err(e) => message.set(Some(Err(e.to_string()))),
            }
        });
    };
    let remove = move |member: Member| {
        leptos::task::spawn_local(async move {
            match api::remove_member(&id, member.professional_id).await {
                Ok(()) => {
                    message.set(Some(Ok(format!(
                        "{} can no longer open this case.",
                        member.name
                    ))));
                    changed.update(|n| *n += 1);
                }
                Err(e) => message.set(Some(Err(e.to_string()))),
            }
        });
    };

    view! {
        <p class="govuk-body">"Only the people listed here can open this case. Invite someone from another organisation once the family has agreed to share with it (record that in Consent), or a safeguarding decision to share without consent has been recorded."</p>
        {move || message.get().map(|m| super::outcome(m, "team"))}
        <h2 class="govuk-heading-m">"Who is in the team"</h2>
        {move || match members.get() {
            None => view! { <p class="govuk-body">"Loading…"</p> }.into_any(),
            Some(Err(CallError::Offline)) => view! {
                <p class="govuk-body">"You need to be online to see or change who is in the team. You can keep working on the case."</p>
            }.into_any(),
            Some(Err(e)) => view! { <p class="govuk-body">{e.to_string()}</p> }.into_any(),
            Some(Ok(list)) => {
                let lead = is_lead().unwrap_or(false);
                let my_id = me().map(|m| m.id);
                view! {
                    <table class="govuk-table" data-testid="members">
                        <thead><tr>
                            <th scope="col" class="govuk-table__header">"Name"</th>
                            <th scope="col" class="govuk-table__header">"Organisation"</th>
                            <th scope="col" class="govuk-table__header">"Role"</th>
                            <th scope="col" class="govuk-table__header"><span class="govuk-visually-hidden">"Actions"</span></th>
                        </tr></thead>
                        <tbody>
                            {list.into_iter().map(|m| {
                                let can_remove = lead && Some(m.professional_id) != my_id;
                                let label = format!("Remove {}", m.name);
                                let member = m.clone();
                                view! {
                                    <tr class="govuk-table__row">
                                        <td class="govuk-table__cell">{m.name.clone()}</td>
                                        <td class="govuk-table__cell">{m.agency_name.clone()}</td>
                                        <td class="govuk-table__cell">{match m.role { CaseRole::Lead => "Lead professional", CaseRole::Member => "Member" }}</td>
                                        <td class="govuk-table__cell">
                                            {can_remove.then(|| view! {
                                                <button type="button" class="govuk-button govuk-button--warning app-small-button"
                                                    on:click=move |_| remove(member.clone())>{label}</button>
                                            })}
                                        </td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }
        }}
        {move || is_lead().unwrap_or(false).then(|| {
            let members_now: Vec<i64> = members.get().and_then(|m| m.ok()).unwrap_or_default()
                .into_iter().map(|m| m.professional_id).collect();
            let options: Vec<Professional> = directory.get().and_then(|d| d.ok()).unwrap_or_default()
                .into_iter().filter(|p| p.active && !members_now.contains(&p.id)).collect();
            view! {
                <h2 class="govuk-heading-m">"Invite someone"</h2>
                <form on:submit=invite novalidate>
                    <div class="govuk-form-group">
                        <label class="govuk-label govuk-label--s" for="invite-who">"Who to invite"</label>
                        <div class="govuk-hint" id="invite-who-hint">"Their organisation must have the family's consent, or a recorded safeguarding override."</div>
                        <select class="govuk-select" id="invite-who" aria-describedby="invite-who-hint"
                            on:change=move |ev| chosen.set(event_target_value(&ev))>
                            <option value="" selected=move || chosen.get().is_empty()>"Choose a person"</option>
                            {options.into_iter().map(|p| view! {
                                <option value=p.id.to_string()>{format!("{}, {}", p.name, p.agency_name)}</option>
                            }).collect_view()}
                        </select>
                    </div>
                    <button type="submit" class="govuk-button">"Invite"</button>
                </form>
            }
        })}
        {move || me().filter(|m| m.role.is_admin()).map(|_| view! { <Audit id=id/> })}
    }
}

/// Who did what with this case: for administrators, with a CSV download.
#[component]
fn Audit(id: DocumentId) -> impl IntoView {
    let rows = LocalResource::new(move || async move { api::audit(&id).await });
    view! {
        <h2 class="govuk-heading-m">"Audit trail"</h2>
        <p class="govuk-body">
            <a class="govuk-link" href=format!("/api/cases/{id}/audit.csv") download="">"Download the audit trail (CSV)"</a>
        </p>
        {move || match rows.get() {
            None => view! { <p class="govuk-body">"Loading…"</p> }.into_any(),
            Some(Err(e)) => view! { <p class="govuk-body">{e.to_string()}</p> }.into_any(),
            Some(Ok(rows)) if rows.is_empty() => view! { <p class="govuk-body">"Nothing recorded yet."</p> }.into_any(),
            Some(Ok(rows)) => {
                let columns: Vec<String> = rows[0].keys().cloned().collect();
                view! {
                    <div class="app-table-scroll">
                        <table class="govuk-table app-audit" data-testid="audit">
                            <thead><tr>
                                {columns.iter().map(|c| view! { <th scope="col" class="govuk-table__header">{c.replace('_', " ")}</th> }).collect_view()}
                            </tr></thead>
                            <tbody>
                                {rows.into_iter().rev().take(200).map(|row| {
                                    let cells = columns.iter().map(|c| {
                                        let v = match row.get(c) {
                                            Some(serde_json::Value::String(s)) => s.clone(),
                                            Some(serde_json::Value::Null) | None => String::new(),
                                            Some(v) => v.to_string(),
                                        };
                                        view! { <td class="govuk-table__cell">{v}</td> }
                                    }).collect_view();
                                    view! { <tr class="govuk-table__row">{cells}</tr> }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }
        }}
    }
}
