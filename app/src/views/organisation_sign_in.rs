//! How an organisation's people sign in (system administrators): with passwords here, or with
//! their organisation's own account (its OpenID provider); and whether everyone in it needs a
//! code from an authenticator app (administrators always do).

use crate::api::{self, CallError};
use leptos::prelude::*;
use shared::api::{Agency, AgencySignIn, ProviderSettings};

#[component]
pub fn OrganisationSignIn(
    agencies: LocalResource<Result<Vec<Agency>, CallError>>,
    message: RwSignal<Option<Result<String, String>>>,
    changed: RwSignal<u32>,
) -> impl IntoView {
    let chosen = RwSignal::new(String::new());
    let own = RwSignal::new(false);
    let issuer = RwSignal::new(String::new());
    let client_id = RwSignal::new(String::new());
    let secret = RwSignal::new(String::new());
    let domains = RwSignal::new(String::new());
    let codes_for_all = RwSignal::new(false);
    let list = move || agencies.get().and_then(|a| a.ok()).unwrap_or_default();

    // Choosing an organisation fills the form with what it has now (never the secret).
    let choose = move |id: String| {
        chosen.set(id.clone());
        let found = list().into_iter().find(|a| a.id.to_string() == id);
        let provider = found.as_ref().and_then(|a| a.provider.clone());
        own.set(provider.is_some());
        issuer.set(
            provider
                .as_ref()
                .map(|p| p.issuer.clone())
                .unwrap_or_default(),
        );
        client_id.set(
            provider
                .as_ref()
                .map(|p| p.client_id.clone())
                .unwrap_or_default(),
        );
        domains.set(
            provider
                .map(|p| p.email_domains.join(", "))
                .unwrap_or_default(),
        );
        secret.set(String::new());
        codes_for_all.set(found.is_some_and(|a| a.second_factor_required));
    };

    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Ok(agency_id) = chosen.get_untracked().parse::<i64>() else {
            message.set(Some(Err("Choose an organisation".into())));
            return;
        };
        let body = AgencySignIn {
            provider: own.get_untracked().then(|| ProviderSettings {
                issuer: issuer.get_untracked().trim().to_string(),
                client_id: client_id.get_untracked().trim().to_string(),
                client_secret: secret.get_untracked(),
                email_domains: domains
                    .get_untracked()
                    .split([',', ' ', '\n', ';'])
                    .map(str::trim)
                    .filter(|d| !d.is_empty())
                    .map(str::to_string)
                    .collect(),
            }),
            second_factor_required: codes_for_all.get_untracked(),
        };
        leptos::task::spawn_local(async move {
            let result = api::set_agency_sign_in(agency_id, &body).await;
            if result.is_ok() {
                secret.set(String::new());
            }
            message.set(Some(
                result
                    .map(|a| match a.provider {
                        Some(_) => format!(
                            "{} people now sign in with their organisation's own account.",
                            a.name
                        ),
                        None => format!("{} people sign in with a password.", a.name),
                    })
                    .map_err(|e| e.to_string()),
            ));
            changed.update(|n| *n += 1);
        });
    };

    view! {
        <h3 class="govuk-heading-s">"How people sign in"</h3>
        <table class="govuk-table" data-testid="organisation-sign-in">
            <thead><tr>
                <th scope="col" class="govuk-table__header">"Organisation"</th>
                <th scope="col" class="govuk-table__header">"Signs in with"</th>
                <th scope="col" class="govuk-table__header">"Code from an app"</th>
            </tr></thead>
            <tbody>
                {move || list().into_iter().map(|a| view! {
                    <tr class="govuk-table__row">
                        <td class="govuk-table__cell">{a.name.clone()}</td>
                        <td class="govuk-table__cell">{match &a.provider {
                            Some(p) => format!("Their own account ({})", p.email_domains.join(", ")),
                            None => "A password".to_string(),
                        }}</td>
                        <td class="govuk-table__cell">{if a.provider.is_some() {
                            "Their organisation's own sign-in checks this"
                        } else if a.second_factor_required {
                            "Everyone"
                        } else {
                            "Administrators"
                        }}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        <form on:submit=save novalidate data-testid="sign-in-settings">
            <div class="govuk-form-group">
                <label class="govuk-label govuk-label--s" for="sign-in-agency">"Change how an organisation signs in"</label>
                <select class="govuk-select" id="sign-in-agency" on:change=move |ev| choose(event_target_value(&ev))>
                    <option value="">"Choose an organisation"</option>
                    {move || list().into_iter().map(|a| view! {
                        <option value=a.id.to_string() selected=move || chosen.get() == a.id.to_string()>{a.name.clone()}</option>
                    }).collect_view()}
                </select>
            </div>
            <div class="govuk-form-group">
                <div class="govuk-checkboxes govuk-checkboxes--small">
                    <div class="govuk-checkboxes__item">
                        <input class="govuk-checkboxes__input" id="sign-in-own" type="checkbox"
                            prop:checked=move || own.get() on:change=move |ev| own.set(event_target_checked(&ev))/>
                        <label class="govuk-label govuk-checkboxes__label" for="sign-in-own">"Its people sign in with their own organisation's account (Microsoft, Google or another OpenID Connect service)"</label>
                    </div>
                </div>
            </div>
            {move || own.get().then(|| view! {
                <div class="govuk-form-group">
                    <label class="govuk-label govuk-label--s" for="sign-in-issuer">"Sign-in service address (issuer)"</label>
                    <div class="govuk-hint" id="sign-in-issuer-hint">"From the organisation's IT team. For Microsoft, it includes the tenant id: https://login.microsoftonline.com/<tenant id>/v2.0"</div>
                    <input class="govuk-input" id="sign-in-issuer" type="url" spellcheck="false" aria-describedby="sign-in-issuer-hint"
                        prop:value=move || issuer.get() on:input=move |ev| issuer.set(event_target_value(&ev))/>
                </div>
                <div class="govuk-form-group">
                    <label class="govuk-label govuk-label--s" for="sign-in-client">"Client ID"</label>
                    <input class="govuk-input govuk-input--width-30" id="sign-in-client" type="text" spellcheck="false" autocomplete="off"
                        prop:value=move || client_id.get() on:input=move |ev| client_id.set(event_target_value(&ev))/>
                </div>
                <div class="govuk-form-group">
                    <label class="govuk-label govuk-label--s" for="sign-in-secret">"Client secret"</label>
                    <div class="govuk-hint" id="sign-in-secret-hint">"Leave blank to keep the secret already saved."</div>
                    <input class="govuk-input govuk-input--width-30" id="sign-in-secret" type="password" autocomplete="off" aria-describedby="sign-in-secret-hint"
                        prop:value=move || secret.get() on:input=move |ev| secret.set(event_target_value(&ev))/>
                </div>
                <div class="govuk-form-group">
                    <label class="govuk-label govuk-label--s" for="sign-in-domains">"Its email domains"</label>
                    <div class="govuk-hint" id="sign-in-domains-hint">"For example council.gov.uk. People with these email addresses are sent to this sign-in. An account links by itself only if the service confirms the email; otherwise send the person a sign-in link."</div>
                    <input class="govuk-input" id="sign-in-domains" type="text" spellcheck="false" aria-describedby="sign-in-domains-hint"
                        prop:value=move || domains.get() on:input=move |ev| domains.set(event_target_value(&ev))/>
                </div>
            })}
            <div class="govuk-form-group">
                <div class="govuk-checkboxes govuk-checkboxes--small">
                    <div class="govuk-checkboxes__item">
                        <input class="govuk-checkboxes__input" id="sign-in-codes" type="checkbox"
                            prop:checked=move || codes_for_all.get() on:change=move |ev| codes_for_all.set(event_target_checked(&ev))/>
                        <label class="govuk-label govuk-checkboxes__label" for="sign-in-codes">"Everyone who signs in with a password needs a code from an authenticator app (administrators always do)"</label>
                    </div>
                </div>
            </div>
            <button type="submit" class="govuk-button govuk-button--secondary">"Save sign-in settings"</button>
        </form>
    }
}
