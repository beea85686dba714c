//! A request for support to the MASH, from the step-up in progress: what it still lacks, the
//! request as it will read (to print or download as a PDF), and marking it sent, which dates
//! the step-up and records the sharing decision (`shared::documents::referral`).

use super::document::DocumentPage;
use super::owner::Team;
use super::{uk_today, use_repo};
use leptos::prelude::*;
use leptos_router::components::A;
use shared::documents::referral::{self, Referrer};
use shared::record::dates::Day;
use shared::record::CaseRecord;
use shared::DocumentId;

#[component]
pub fn Referral(id: DocumentId) -> impl IntoView {
    let repo = use_repo();
    let record = expect_context::<Memo<Option<CaseRecord>>>();
    let team = use_context::<Team>();
    let account = repo.account();
    let referrer = Memo::new(move |_| {
        account.with(|a| {
            a.me().map(|me| Referrer {
                name: me.name.clone(),
                organisation: me.agency_name.clone(),
            })
        })
    });
    let step = Memo::new(move |_| {
        record.with(|r| r.as_ref().and_then(|r| referral::current_step(r).cloned()))
    });
    // Only whether there is one: the document page below is kept while the step changes.
    let has_step = Memo::new(move |_| step.with(Option::is_some));
    let gaps = Memo::new(move |_| {
        record.with(|r| match (r, step.get()) {
            (Some(r), Some(s)) => referral::missing(r, &s),
            _ => Vec::new(),
        })
    });
    let doc = Memo::new(move |_| {
        let members = team.map(|t| t.0.get()).unwrap_or_default();
        let who = referrer.get().unwrap_or(Referrer {
            name: "Not known".into(),
            organisation: "Not known".into(),
        });
        let s = step.get()?;
        record.with(|r| Some(referral::build(r.as_ref()?, &s, &members, &who, uk_today())))
    });
    let (message, set_message) = signal(None::<Result<String, String>>);
    let send = {
        let repo = repo.clone();
        move |_| {
            let (Some(s), Some(who)) = (step.get_untracked(), referrer.get_untracked()) else {
                return;
            };
            let outcome = repo
                .with_doc(&id, |doc| referral::mark_sent(doc, &s.id, &who, uk_today()))
                .unwrap_or_else(|| {
                    Err(referral::NotSent::Incomplete(
                        "the case is not open on this device".into(),
                    ))
                });
            match outcome {
                Ok(()) => {
                    repo.reshaped(id);
                    set_message.set(Some(Ok(
                        "The request is marked as sent, and the decision to share is recorded in Consent.".into(),
                    )));
                }
                Err(referral::NotSent::Incomplete(_)) => set_message.set(Some(Err(
                    "The request cannot be marked as sent until the parts listed are filled in."
                        .into(),
                ))),
                Err(referral::NotSent::AlreadySent(_)) => {
                    set_message.set(Some(Err("This request is already marked as sent.".into())))
                }
                Err(referral::NotSent::Record(e)) => set_message.set(Some(Err(e.to_string()))),
            }
        }
    };
    view! {
        {move || match step.get() {
            None => view! {
                <p class="govuk-body" data-testid="no-step-up">
                    "There is no step-up in progress. To ask children's social care for support, add a step-up in "
                    <A href=format!("/case/{id}/step") attr:class="govuk-link">"Step up or down"</A>"."
                </p>
            }.into_any(),
            Some(s) => {
                let sent = Day::parse(&s.sent_date);
                let follow_up = Day::parse(&s.follow_up_date);
                view! {
                    {match sent {
                        Some(d) => view! {
                            <div class="govuk-inset-text app-no-print" data-testid="referral-sent">
                                {format!("Sent on {}. ", d.in_words())}
                                {match follow_up {
                                    Some(f) if f < uk_today() => format!("No answer yet, and the follow-up date ({}) has passed. Chase an answer, then record it in Step up or down.", f.in_words()),
                                    Some(f) => format!("Waiting for an answer. Follow up by {} if none has come.", f.in_words()),
                                    None => "Waiting for an answer.".to_string(),
                                }}
                            </div>
                        }.into_any(),
                        None => view! {
                            <p class="govuk-body app-no-print">
                                "This request is made from the step-up in "
                                <A href=format!("/case/{id}/step") attr:class="govuk-link">"Step up or down"</A>
                                " and the rest of the case. Check it, then mark it as sent when you send it to the MASH."
                            </p>
                        }.into_any(),
                    }}
                }.into_any()
            }
        }}
        {move || {
            let gaps = gaps.get();
            (step.with(Option::is_some) && !gaps.is_empty()).then(|| view! {
                <div class="govuk-error-summary app-no-print" data-testid="referral-missing">
                    <h2 class="govuk-error-summary__title">"Before you can mark this request as sent"</h2>
                    <div class="govuk-error-summary__body">
                        <ul class="govuk-list govuk-error-summary__list">
                            {gaps.into_iter().map(|g| view! { <li>{g}</li> }).collect_view()}
                        </ul>
                    </div>
                </div>
            })
        }}
        {move || message.get().map(|m| super::outcome(m, "referral-outcome"))}
        {move || (step.with(|s| s.as_ref().is_some_and(|s| s.sent_date.trim().is_empty()))).then(|| {
            let send = send.clone();
            view! {
                <button type="button" class="govuk-button app-no-print" data-testid="mark-referral-sent" on:click=send>
                    "Mark as sent"
                </button>
            }
        })}
        {move || has_step.get().then(|| view! {
            <DocumentPage id=id kind="referral" doc=doc print_label="Print the request"/>
        })}
    }
}
