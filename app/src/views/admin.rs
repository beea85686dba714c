//! Managing accounts: organisations, and the people who may sign in. System administrators
//! manage every organisation; an organisation's administrator manages its own people.

use super::use_repo;
use crate::api;
use leptos::prelude::*;
use shared::api::{NewProfessional, Professional, Role};

#[component]
pub fn Admin() -> impl IntoView {
    let account = use_repo().account();
    let me = move || account.get().me().cloned();
    let changed = RwSignal::new(0u32);
    let agencies = LocalResource::new(move || {
        changed.track();
        async { api::agencies().await }
    });
    let people = LocalResource::new(move || {
        changed.track();
        async { api::directory().await }
    });
    let message = RwSignal::new(None::<Result<String, String>>);
    let report = move |result: Result<String, api::CallError>| {
        message.set(Some(result.map_err(|e| e.to_string())));
        changed.update(|n| *n += 1);
    };

    let agency_name = RwSignal::new(String::new());
    let add_agency = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let name = agency_name.get_untracked();
        leptos::task::spawn_local(async move {
            let result = api::create_agency(&name).await;
            if result.is_ok() {
                agency_name.set(String::new());
            }
            report(result.map(|a| format!("{} added.", a.name)));
        });
    };

    let (name, email, agency, role, password) = (
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new("practitioner".to_string()),
        RwSignal::new(String::new()),
    );
    let add_person = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(me) = me() else { return };
        let agency_id = if me.role == Role::SystemAdmin {
            agency.get_untracked().parse().unwrap_or(0)
        } else {
            me.agency_id
        };
        let new = NewProfessional {
            name: name.get_untracked().trim().to_string(),
            email: email.get_untracked().trim().to_string(),
            agency_id,
            role: match role.get_untracked().as_str() {
                "agency_admin" => Role::AgencyAdmin,
                "system_admin" => Role::SystemAdmin,
                _ => Role::Practitioner,
            },
            password: password.get_untracked(),
        };
        if new.name.is_empty()
            || new.email.is_empty()
            || new.agency_id == 0
            || new.password.is_empty()
        {
            message.set(Some(Err(
                "Enter a name, email address, organisation and first password".into(),
            )));
            return;
        }
        leptos::task::spawn_local(async move {
            let result = api::create_professional(&new).await;
            if result.is_ok() {
                for s in [name, email, password] {
                    s.set(String::new());
                }
            }
            report(result.map(|()| format!("{} can now sign in. Give them their first password in person or by phone, never by email.", new.name)));
        });
    };

    let has_provider = move |agency_id: i64| {
        agencies
            .get()
            .and_then(|a| a.ok())
            .unwrap_or_default()
            .iter()
            .any(|a| a.id == agency_id && a.provider.is_some())
    };
    let person_row = move |p: Professional| {
        let (id1, id2, id3, id4) = (p.id, p.id, p.id, p.id);
        let (n1, n2, n3, n4) = (
            p.name.clone(),
            p.name.clone(),
            p.name.clone(),
            p.name.clone(),
        );
        let agency_id = p.agency_id;
        view! {
            <tr class="govuk-table__row">
                <td class="govuk-table__cell">{p.name.clone()}</td>
                <td class="govuk-table__cell">{p.agency_name.clone()}</td>
                <td class="govuk-table__cell">{p.role.label()}</td>
                <td class="govuk-table__cell">{if p.active { "Can sign in" } else { "Access removed" }}</td>
                <td class="govuk-table__cell">
                    // Offered after access is removed too: a leaver's devices may still hand
                    // over their cases until signed out everywhere (a dismissal, a lost laptop).
                    {(Some(p.id) != me().map(|m| m.id)).then(|| { let left = !p.active; view! {
                        <button type="button" class="govuk-button govuk-button--secondary app-small-button"
                            on:click=move |_| { let (id, n) = (id1, n1.clone()); leptos::task::spawn_local(async move {
                                report(api::revoke_sessions(id).await.map(|()| if left {
                                    format!("{n} has been signed out on every device. Their devices will not send the team anything more: the next time one is opened, it removes their cases.")
                                } else {
                                    format!("{n} has been signed out on every device.")
                                }));
                            }); }>
                            "Sign out everywhere"<span class="govuk-visually-hidden">{format!(" ({})", p.name)}</span>
                        </button>
                    }})}
                    {(p.active && Some(p.id) != me().map(|m| m.id)).then(|| view! {
                        " "
                        <button type="button" class="govuk-button govuk-button--warning app-small-button"
                            on:click=move |_| { let (id, n) = (id2, n2.clone()); leptos::task::spawn_local(async move {
                                report(api::deactivate(id).await.map(|()| format!("{n} can no longer sign in or open any case. The next time a device of theirs is opened, it removes their cases. One signed in during the last 90 days first sends the team anything not yet shared. If they should not send anything more (a dismissal, or a lost laptop), choose Sign out everywhere.")));
                            }); }>
                            "Remove access"<span class="govuk-visually-hidden">{format!(" ({})", p.name)}</span>
                        </button>
                        " "
                        {move || { let (n3, n4) = (n3.clone(), n4.clone()); if has_provider(agency_id) {
                            view! {
                                <button type="button" class="govuk-button govuk-button--secondary app-small-button"
                                    on:click=move |_| { let (id, n) = (id3, n3.clone()); leptos::task::spawn_local(async move {
                                        report(api::sign_in_link(id).await.map(|l| format!("Send {n} this link, for example by email. It links their organisation's account to TAC Planner the first time they sign in, works once, and stops working after 7 days: {}", l.link)));
                                    }); }>
                                    "Create sign-in link"
                                </button>
                            }.into_any()
                        } else {
                            view! {
                                <button type="button" class="govuk-button govuk-button--secondary app-small-button"
                                    on:click=move |_| { let (id, n) = (id4, n4.clone()); leptos::task::spawn_local(async move {
                                        report(api::reset_second_factor(id).await.map(|()| format!("{n} will set up their authenticator app again the next time they sign in.")));
                                    }); }>
                                    "Reset authenticator app"
                                </button>
                            }.into_any()
                        }}}
                    })}
                </td>
            </tr>
        }
    };

    view! {
        {move || match me() {
            Some(me) if me.role.is_admin() => {
                let system = me.role == Role::SystemAdmin;
                view! {
                    <h1 class="govuk-heading-l">"Manage accounts"</h1>
                    {move || message.get().map(|m| super::outcome(m, "admin"))}
                    <h2 class="govuk-heading-m">"People"</h2>
                    {move || match people.get() {
                        None => view! { <p class="govuk-body">"Loading…"</p> }.into_any(),
                        Some(Err(e)) => view! { <p class="govuk-body">{e.to_string()}</p> }.into_any(),
                        Some(Ok(list)) => view! {
                            <div class="app-table-scroll">
                                <table class="govuk-table" data-testid="people">
                                    <thead><tr>
                                        <th scope="col" class="govuk-table__header">"Name"</th>
                                        <th scope="col" class="govuk-table__header">"Organisation"</th>
                                        <th scope="col" class="govuk-table__header">"Role"</th>
                                        <th scope="col" class="govuk-table__header">"Access"</th>
                                        <th scope="col" class="govuk-table__header"><span class="govuk-visually-hidden">"Actions"</span></th>
                                    </tr></thead>
                                    <tbody>{list.into_iter().map(person_row).collect_view()}</tbody>
                                </table>
                            </div>
                        }.into_any(),
                    }}
                    <h2 class="govuk-heading-m">"Add a person"</h2>
                    <form on:submit=add_person novalidate>
                        <div class="govuk-form-group">
                            <label class="govuk-label govuk-label--s" for="person-name">"Full name"</label>
                            <input class="govuk-input govuk-input--width-20" id="person-name" type="text" autocomplete="off"
                                prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                        </div>
                        <div class="govuk-form-group">
                            <label class="govuk-label govuk-label--s" for="person-email">"Work email address"</label>
                            <input class="govuk-input govuk-input--width-20" id="person-email" type="email" autocomplete="off" spellcheck="false"
                                prop:value=move || email.get() on:input=move |ev| email.set(event_target_value(&ev))/>
                        </div>
                        {system.then(|| view! {
                            <div class="govuk-form-group">
                                <label class="govuk-label govuk-label--s" for="person-agency">"Organisation"</label>
                                <select class="govuk-select" id="person-agency" on:change=move |ev| agency.set(event_target_value(&ev))>
                                    <option value="">"Choose an organisation"</option>
                                    {move || agencies.get().and_then(|a| a.ok()).unwrap_or_default().into_iter().map(|a| view! {
                                        <option value=a.id.to_string() selected=move || agency.get() == a.id.to_string()>{a.name.clone()}</option>
                                    }).collect_view()}
                                </select>
                            </div>
                        })}
                        <div class="govuk-form-group">
                            <label class="govuk-label govuk-label--s" for="person-role">"What they can do"</label>
                            <select class="govuk-select" id="person-role" on:change=move |ev| role.set(event_target_value(&ev))>
                                <option value="practitioner" selected=true>{Role::Practitioner.label()}</option>
                                <option value="agency_admin">{Role::AgencyAdmin.label()}</option>
                                {system.then(|| view! { <option value="system_admin">{Role::SystemAdmin.label()}</option> })}
                            </select>
                        </div>
                        <div class="govuk-form-group">
                            <label class="govuk-label govuk-label--s" for="person-password">"First password"</label>
                            <div class="govuk-hint" id="person-password-hint">"At least 10 characters."</div>
                            <input class="govuk-input govuk-input--width-20" id="person-password" type="password" autocomplete="new-password"
                                aria-describedby="person-password-hint"
                                prop:value=move || password.get() on:input=move |ev| password.set(event_target_value(&ev))/>
                        </div>
                        <button type="submit" class="govuk-button">"Add person"</button>
                    </form>
                    {system.then(|| view! {
                        <h2 class="govuk-heading-m">"Organisations"</h2>
                        <ul class="govuk-list govuk-list--bullet" data-testid="agencies">
                            {move || agencies.get().and_then(|a| a.ok()).unwrap_or_default().into_iter()
                                .map(|a| view! { <li>{a.name}</li> }).collect_view()}
                        </ul>
                        <super::organisation_sign_in::OrganisationSignIn agencies=agencies message=message changed=changed/>
                        <form on:submit=add_agency novalidate>
                            <div class="govuk-form-group">
                                <label class="govuk-label govuk-label--s" for="agency-name">"Add an organisation"</label>
                                <div class="govuk-hint" id="agency-name-hint">"Use the name the family's consent will name, for example 'Oak Primary School'."</div>
                                <input class="govuk-input govuk-input--width-20" id="agency-name" type="text" autocomplete="off"
                                    aria-describedby="agency-name-hint"
                                    prop:value=move || agency_name.get() on:input=move |ev| agency_name.set(event_target_value(&ev))/>
                            </div>
                            <button type="submit" class="govuk-button govuk-button--secondary">"Add organisation"</button>
                        </form>
                    })}
                }.into_any()
            }
            _ => view! {
                <h1 class="govuk-heading-l">"You do not have access to this page"</h1>
                <p class="govuk-body">"Ask your organisation's administrator if you need to manage accounts."</p>
            }.into_any(),
        }}
    }
}
