//! Requests for information (subject access requests): recording one with its deadline,
//! marking what to withhold, a second person's approval, and downloading the copy. The relay
//! keeps the request and makes the copy (`crate::api`, `shared::documents::subject_access`),
//! so this page needs a connection; the case itself stays as it is.

use super::document::save;
use super::owner::Team;
use super::{outcome, uk_today, use_repo};
use crate::api::{self, CallError};
use leptos::prelude::*;
use shared::documents::subject_access::{
    Approve, NewRequest, Piece, Reason, Request, Review, Status, Submit, WithheldPiece,
    WithheldWords,
};
use shared::record::dates::Day;
use shared::record::CaseRecord;
use shared::DocumentId;
use std::collections::HashMap;

fn in_words(iso: &str) -> String {
    Day::parse(iso)
        .map(Day::in_words)
        .unwrap_or_else(|| iso.to_string())
}

/// The case's open requests and when each must be answered, for the top of the case; nothing
/// when there are none or the relay cannot be reached.
#[component]
pub fn DueRequests(id: DocumentId) -> impl IntoView {
    let record = expect_context::<Memo<Option<CaseRecord>>>();
    let requests =
        LocalResource::new(move || async move { api::subject_access_requests(&id).await });
    move || {
        let open: Vec<Request> = requests
            .get()
            .and_then(Result::ok)
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.status != Status::Released)
            .collect();
        (!open.is_empty()).then(|| {
            let names = person_names(record);
            view! {
                <div class="govuk-warning-text app-no-print" data-testid="requests-due">
                    <span class="govuk-warning-text__icon" aria-hidden="true">"!"</span>
                    <strong class="govuk-warning-text__text">
                        <span class="govuk-visually-hidden">"Warning"</span>
                        {open.iter().map(|r| {
                            let who = names.get(&r.person_id).cloned().unwrap_or_else(|| "Someone".into());
                            view! {
                                <span class="app-block">
                                    {format!("{who} asked for their information. Answer by {}. ", in_words(&r.answer_by))}
                                    <a class="govuk-link" href=format!("/case/{id}/information-requests")>"Go to the request"</a>
                                </span>
                            }
                        }).collect_view()}
                    </strong>
                </div>
            }
        })
    }
}

fn person_names(record: Memo<Option<CaseRecord>>) -> HashMap<String, String> {
    record.with(|r| {
        r.as_ref()
            .map(|r| {
                r.family
                    .people
                    .iter()
                    .map(|p| (p.id.clone(), p.display_name()))
                    .collect()
            })
            .unwrap_or_default()
    })
}

#[component]
pub fn SubjectAccess(id: DocumentId) -> impl IntoView {
    let record = expect_context::<Memo<Option<CaseRecord>>>();
    let changed = RwSignal::new(0u32);
    let requests = LocalResource::new(move || {
        changed.track();
        async move { api::subject_access_requests(&id).await }
    });
    let message = RwSignal::new(None::<Result<String, String>>);
    let chosen = RwSignal::new(None::<i64>);
    let person = RwSignal::new(String::new());
    let received = RwSignal::new(uk_today().iso());
    let people = Memo::new(move |_| {
        record.with(|r| {
            r.as_ref()
                .map(|r| {
                    r.family
                        .people
                        .iter()
                        .map(|p| {
                            (
                                p.id.clone(),
                                format!("{} ({})", p.display_name(), p.role.label()),
                            )
                        })
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    });
    let open = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let who = person.get_untracked();
        if who.is_empty() {
            message.set(Some(Err("Choose who the request is about".into())));
            return;
        }
        let new = NewRequest {
            person_id: who,
            received_on: received.get_untracked(),
        };
        leptos::task::spawn_local(async move {
            match api::open_subject_access(&id, &new).await {
                Ok(r) => {
                    message.set(Some(Ok(format!(
                        "The request is recorded. Answer by {}.",
                        in_words(&r.answer_by)
                    ))));
                    chosen.set(Some(r.id));
                    changed.update(|n| *n += 1);
                }
                Err(e) => message.set(Some(Err(e.to_string()))),
            }
        });
    };
    view! {
        <p class="govuk-body">
            "When someone asks for a copy of the information this case holds about them (a subject access request), "
            "record it here. You must answer within one calendar month of getting the request."
        </p>
        <p class="govuk-body">
            "Check the whole case and mark anything that must be withheld. A second person then approves the copy. "
            "Withheld words are taken out before the copy is made, so they cannot be uncovered."
        </p>
        {move || message.get().map(|m| outcome(m, "sar"))}
        {move || match requests.get() {
            None => view! { <p class="govuk-body">"Loading requests…"</p> }.into_any(),
            Some(Err(CallError::Offline)) => view! {
                <div class="govuk-inset-text" data-testid="sar-offline">
                    "You need to be online to deal with a request for information."
                </div>
            }.into_any(),
            Some(Err(e)) => outcome(Err(e.to_string()), "sar-list"),
            Some(Ok(list)) if list.is_empty() => view! {
                <p class="govuk-body" data-testid="sar-none">"No one has asked for their information from this case."</p>
            }.into_any(),
            Some(Ok(list)) => {
                let names = person_names(record);
                view! {
                    <table class="govuk-table" data-testid="sar-list">
                        <caption class="govuk-table__caption govuk-table__caption--m">"Requests"</caption>
                        <thead class="govuk-table__head"><tr class="govuk-table__row">
                            <th scope="col" class="govuk-table__header">"About"</th>
                            <th scope="col" class="govuk-table__header">"Received"</th>
                            <th scope="col" class="govuk-table__header">"Answer by"</th>
                            <th scope="col" class="govuk-table__header">"Status"</th>
                            <th scope="col" class="govuk-table__header"><span class="govuk-visually-hidden">"Action"</span></th>
                        </tr></thead>
                        <tbody class="govuk-table__body">
                            {list.into_iter().map(|r| {
                                let who = names.get(&r.person_id).cloned().unwrap_or_else(|| "Someone no longer in the case".into());
                                let n = r.id;
                                view! {
                                    <tr class="govuk-table__row">
                                        <td class="govuk-table__cell">{who}</td>
                                        <td class="govuk-table__cell">{in_words(&r.received_on)}</td>
                                        <td class="govuk-table__cell" data-testid="sar-answer-by">
                                            {in_words(&r.answer_by)}{r.extended.then_some(" (extended)")}
                                        </td>
                                        <td class="govuk-table__cell"><strong class="govuk-tag" data-testid="sar-status">{r.status.label()}</strong></td>
                                        <td class="govuk-table__cell">
                                            <button type="button" class="govuk-button govuk-button--secondary govuk-!-margin-bottom-0"
                                                data-testid="sar-open" on:click=move |_| { message.set(None); chosen.set(Some(n)) }>"Open"</button>
                                        </td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }
        }}
        {move || {
            let n = chosen.get()?;
            let request = requests.get()?.ok()?.into_iter().find(|r| r.id == n)?;
            Some(view! { <Reviewing id=id request=request changed=changed message=message/> })
        }}
        <form class="app-no-print" on:submit=open>
            <h3 class="govuk-heading-m">"Record a new request"</h3>
            <div class="govuk-form-group">
                <label class="govuk-label" for="sar-person">"Who is the request about?"</label>
                <select class="govuk-select" id="sar-person" data-testid="sar-person"
                    on:change=move |ev| person.set(event_target_value(&ev))>
                    <option value="">"Choose a person"</option>
                    {move || people.get().into_iter().map(|(pid, name)| {
                        let selected = person.get_untracked() == pid;
                        view! { <option value=pid selected=selected>{name}</option> }
                    }).collect_view()}
                </select>
            </div>
            <div class="govuk-form-group">
                <label class="govuk-label" for="sar-received">"When was the request received?"</label>
                <div class="govuk-hint">"The month to answer starts on this day."</div>
                <input class="govuk-input govuk-input--width-10" type="date" id="sar-received" data-testid="sar-received"
                    prop:value=move || received.get() on:change=move |ev| received.set(event_target_value(&ev))/>
            </div>
            <button type="submit" class="govuk-button" data-testid="sar-record">"Record the request"</button>
        </form>
    }
}

/// One request: the review while it is being reviewed, then approval, then the copy.
#[component]
fn Reviewing(
    id: DocumentId,
    request: Request,
    changed: RwSignal<u32>,
    message: RwSignal<Option<Result<String, String>>>,
) -> impl IntoView {
    let repo = use_repo();
    let account = repo.account();
    let me = move || account.with(|a| a.me().map(|m| m.id));
    let team = use_context::<Team>();
    let name_of = move |pid: Option<i64>| -> String {
        let Some(pid) = pid else {
            return String::new();
        };
        team.and_then(|t| {
            t.0.with(|m| {
                m.iter()
                    .find(|x| x.professional_id == pid)
                    .map(|x| x.name.clone())
            })
        })
        .unwrap_or_else(|| "someone who has left the team".into())
    };
    let n = request.id;
    let status = request.status;
    let pieces =
        LocalResource::new(move || async move { api::subject_access_pieces(&id, n).await });
    // What is marked: as saved, or (for a review not yet started) what is offered.
    let marks = RwSignal::new(
        request
            .review
            .pieces
            .iter()
            .map(|w| (w.piece.clone(), w.reason))
            .collect::<HashMap<String, Reason>>(),
    );
    let started = !request.review.pieces.is_empty() || !request.review.words.is_empty();
    Effect::new(move |_| {
        if started || status != Status::Reviewing {
            return;
        }
        if let Some(Ok(at)) = pieces.get() {
            marks.update(|m| {
                for p in at.pieces.iter() {
                    if let Some(reason) = p.suggested {
                        m.entry(p.piece.clone()).or_insert(reason);
                    }
                }
            });
        }
    });
    let words = RwSignal::new(request.review.words.clone());
    let new_words = RwSignal::new(String::new());
    let new_reason = RwSignal::new(Reason::RightsOfOthers);
    let busy = RwSignal::new(false);
    let review = move || Review {
        pieces: marks.with(|m| {
            let mut out: Vec<WithheldPiece> = m
                .iter()
                .map(|(piece, reason)| WithheldPiece {
                    piece: piece.clone(),
                    reason: *reason,
                })
                .collect();
            out.sort_by(|a, b| a.piece.cmp(&b.piece));
            out
        }),
        words: words.get_untracked(),
    };
    let shown_review = StoredValue::new(request.review.clone());
    // The version of the case the pieces on screen were read at.
    let shown_heads = move || {
        pieces
            .get_untracked()
            .and_then(Result::ok)
            .map(|at| at.heads)
            .unwrap_or_default()
    };
    let act = move |step: &'static str, done: &'static str| {
        busy.set(true);
        let approved_review = shown_review.get_value();
        leptos::task::spawn_local(async move {
            let saved = if matches!(step, "save" | "submit") {
                api::save_subject_access_review(&id, n, &review())
                    .await
                    .map(drop)
            } else {
                Ok(())
            };
            let result = match (saved, step) {
                (Err(e), _) => Err(e),
                (Ok(()), "save") => Ok(()),
                (Ok(()), "submit") => {
                    // The version of the case the reviewer saw, and nothing added since.
                    let heads = shown_heads();
                    api::submit_subject_access(&id, n, &Submit { heads })
                        .await
                        .map(drop)
                }
                (Ok(()), "approve") => {
                    // Exactly what the approver was shown.
                    let heads = shown_heads();
                    let seen = Approve {
                        heads,
                        review: approved_review.clone(),
                    };
                    api::approve_subject_access(&id, n, &seen).await.map(drop)
                }
                (Ok(()), step) => api::subject_access_step(&id, n, step).await.map(drop),
            };
            let _ = message.try_set(Some(
                result.map(|()| done.to_string()).map_err(|e| e.to_string()),
            ));
            let _ = busy.try_set(false);
            changed.update(|c| *c += 1);
        });
    };
    let download = move |format: &'static str| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = match api::subject_access_copy(&id, n, format).await {
                Ok(blob) => save(&blob, &format!("information-request-{n}.{format}"))
                    .map(|()| {
                        "The copy has been downloaded. Send it to the person securely.".to_string()
                    })
                    .map_err(|()| "The copy could not be saved. Try again.".to_string()),
                Err(e) => Err(e.to_string()),
            };
            let _ = message.try_set(Some(result));
            let _ = busy.try_set(false);
            changed.update(|c| *c += 1);
        });
    };
    let reviewed_by_me = request.reviewed_by.is_some() && request.reviewed_by == me();
    let subject = person_names(expect_context::<Memo<Option<CaseRecord>>>())
        .remove(&request.person_id)
        .unwrap_or_else(|| "someone no longer in the case".into());
    view! {
        <section class="app-sar" data-testid="sar-request" data-status=status.as_str()>
            <h3 class="govuk-heading-m">{format!("Request about {subject}, received on {}", in_words(&request.received_on))}</h3>
            <dl class="govuk-summary-list">
                <div class="govuk-summary-list__row">
                    <dt class="govuk-summary-list__key">"Answer by"</dt>
                    <dd class="govuk-summary-list__value">
                        {in_words(&request.answer_by)}
                        {request.extended.then_some(" (extended by 2 months)")}
                    </dd>
                </div>
                <div class="govuk-summary-list__row">
                    <dt class="govuk-summary-list__key">"Status"</dt>
                    <dd class="govuk-summary-list__value">{status.label()}</dd>
                </div>
                {request.reviewed_by.map(|r| view! {
                    <div class="govuk-summary-list__row">
                        <dt class="govuk-summary-list__key">"Reviewed by"</dt>
                        <dd class="govuk-summary-list__value">{name_of(Some(r))}</dd>
                    </div>
                })}
                {request.approved_by.map(|r| view! {
                    <div class="govuk-summary-list__row">
                        <dt class="govuk-summary-list__key">"Approved by"</dt>
                        <dd class="govuk-summary-list__value">{name_of(Some(r))}</dd>
                    </div>
                })}
            </dl>
            {(!request.extended).then(|| view! {
                <details class="govuk-details">
                    <summary class="govuk-details__summary"><span class="govuk-details__summary-text">"The request is complex or one of many"</span></summary>
                    <div class="govuk-details__text">
                        <p class="govuk-body">"You can take up to 2 more months. Tell the person within the first month, and say why."</p>
                        <button type="button" class="govuk-button govuk-button--secondary" data-testid="sar-extend"
                            on:click=move |_| act("extend", "The deadline is extended by 2 months.")>"Extend the deadline"</button>
                    </div>
                </details>
            })}
            {match status {
                Status::Reviewing => view! {
                    <h4 class="govuk-heading-s">"Mark what to withhold"</h4>
                    <p class="govuk-body">
                        "Everything below goes in the copy unless you withhold it. Information about other people is marked to begin with. "
                        "Professionals acting in their role are not withheld."
                    </p>
                    {move || match pieces.get() {
                        None => view! { <p class="govuk-body">"Reading the case…"</p> }.into_any(),
                        Some(Err(e)) => outcome(Err(e.to_string()), "sar-pieces"),
                        Some(Ok(at)) => piece_list(at.pieces, marks, true).into_any(),
                    }}
                    <h4 class="govuk-heading-s">"Withhold words wherever they appear"</h4>
                    <p class="govuk-body">"For example, the name of someone who gave information in confidence. Each time the words appear they are replaced with [withheld]."</p>
                    <ul class="govuk-list" data-testid="sar-words">
                        {move || words.get().into_iter().enumerate().map(|(i, w)| view! {
                            <li>
                                {format!("\u{201c}{}\u{201d}: {}. ", w.words, w.reason.label())}
                                <button type="button" class="govuk-button govuk-button--warning govuk-!-margin-bottom-0"
                                    on:click=move |_| words.update(|ws| { if i < ws.len() { ws.remove(i); } })>
                                    "Remove"<span class="govuk-visually-hidden">{format!(" \u{201c}{}\u{201d}", w.words)}</span>
                                </button>
                            </li>
                        }).collect_view()}
                    </ul>
                    <div class="govuk-form-group">
                        <label class="govuk-label" for="sar-new-words">"Words to withhold"</label>
                        <input class="govuk-input govuk-input--width-20" id="sar-new-words" data-testid="sar-new-words"
                            prop:value=move || new_words.get() on:input=move |ev| new_words.set(event_target_value(&ev))/>
                    </div>
                    {reason_select("sar-new-reason", move || new_reason.get(), move |r| new_reason.set(r))}
                    <button type="button" class="govuk-button govuk-button--secondary" data-testid="sar-add-words"
                        on:click=move |_| {
                            let w = new_words.get_untracked().trim().to_string();
                            if w.chars().count() < 2 {
                                message.set(Some(Err("Enter at least 2 letters to withhold".into())));
                                return;
                            }
                            words.update(|ws| ws.push(WithheldWords { words: w, reason: new_reason.get_untracked() }));
                            new_words.set(String::new());
                        }>"Add words"</button>
                    <div class="govuk-button-group">
                        <button type="button" class="govuk-button govuk-button--secondary" data-testid="sar-save" disabled=move || busy.get()
                            on:click=move |_| act("save", "Your review is saved.")>"Save"</button>
                        <button type="button" class="govuk-button" data-testid="sar-submit" disabled=move || busy.get()
                            on:click=move |_| act("submit", "Your review is sent for approval. Someone else must now approve it.")>"Send for approval"</button>
                    </div>
                }.into_any(),
                Status::AwaitingApproval => view! {
                    <p class="govuk-body">{summary(&request.review)}</p>
                    {if reviewed_by_me {
                        view! {
                            <div class="govuk-inset-text" data-testid="sar-not-yours">
                                "You reviewed this request, so someone else must approve it. Ask a colleague on the team to open this page."
                            </div>
                        }.into_any()
                    } else {
                        view! {
                            <p class="govuk-body">"Check what is withheld, then approve the copy to be sent."</p>
                            <details class="govuk-details">
                                <summary class="govuk-details__summary"><span class="govuk-details__summary-text">"What is withheld"</span></summary>
                                <div class="govuk-details__text">
                                    {withheld_list(&request.review)}
                                    {move || match pieces.get() {
                                        None => view! { <p class="govuk-body">"Reading the case…"</p> }.into_any(),
                                        Some(Err(e)) => outcome(Err(e.to_string()), "sar-pieces"),
                                        Some(Ok(at)) => piece_list(at.pieces, marks, false).into_any(),
                                    }}
                                </div>
                            </details>
                            <button type="button" class="govuk-button" data-testid="sar-approve" disabled=move || busy.get()
                                on:click=move |_| act("approve", "The copy is approved. You can now download it.")>"Approve the copy"</button>
                        }.into_any()
                    }}
                    <button type="button" class="govuk-button govuk-button--secondary" data-testid="sar-reopen"
                        on:click=move |_| act("reopen", "The review is open for changes again.")>"Change the review"</button>
                }.into_any(),
                Status::Approved | Status::Released => view! {
                    <p class="govuk-body">{summary(&request.review)}</p>
                    <div class="govuk-button-group">
                        <button type="button" class="govuk-button" data-testid="sar-download-pdf" disabled=move || busy.get()
                            on:click=move |_| download("pdf")>"Download the copy (PDF)"</button>
                        <button type="button" class="govuk-button govuk-button--secondary" data-testid="sar-download-json" disabled=move || busy.get()
                            on:click=move |_| download("json")>"Download the copy (JSON)"</button>
                    </div>
                    <button type="button" class="govuk-button govuk-button--secondary" data-testid="sar-reopen"
                        on:click=move |_| act("reopen", "The review is open for changes again. It must be approved again.")>"Change the review"</button>
                }.into_any(),
            }}
        </section>
    }
}

fn summary(review: &Review) -> String {
    let count =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let (p, w) = (review.pieces.len(), review.words.len());
    match (p, w) {
        (0, 0) => "Nothing is withheld.".into(),
        (p, 0) => format!("{} withheld.", count(p, "piece is", "pieces are")),
        (0, w) => format!("{} withheld.", count(w, "phrase is", "phrases are")),
        (p, w) => format!(
            "{} and {} are withheld.",
            count(p, "piece", "pieces"),
            count(w, "phrase", "phrases")
        ),
    }
}

fn withheld_list(review: &Review) -> impl IntoView {
    view! {
        <ul class="govuk-list govuk-list--bullet">
            {review.words.iter().map(|w| view! {
                <li>{format!("Words \u{201c}{}\u{201d} wherever they appear: {}", w.words, w.reason.label())}</li>
            }).collect_view()}
        </ul>
        <p class="govuk-body">"Withheld pieces of the case are struck through below, each with its reason."</p>
    }
}

fn reason_select(
    id: &'static str,
    current: impl Fn() -> Reason + Send + Sync + Copy + 'static,
    set: impl Fn(Reason) + Send + Sync + Copy + 'static,
) -> impl IntoView {
    view! {
        <div class="govuk-form-group">
            <label class="govuk-label" for=id>"Reason"</label>
            <select class="govuk-select" id=id data-testid=id
                on:change=move |ev| if let Some(r) = Reason::parse(&event_target_value(&ev)) { set(r) }>
                {Reason::ALL.into_iter().map(|r| view! {
                    <option value=r.as_str() selected=move || current() == r>{r.label()}</option>
                }).collect_view()}
            </select>
        </div>
    }
}

/// Every piece with a box to withhold it and, when ticked, the reason; what is inside a
/// withheld item goes with it.
fn piece_list(
    list: Vec<Piece>,
    marks: RwSignal<HashMap<String, Reason>>,
    editable: bool,
) -> impl IntoView {
    let mut previous = String::new();
    view! {
        <ul class="govuk-list app-sar-pieces" data-testid="sar-pieces">
            {list.into_iter().enumerate().map(|(i, p)| {
                // Each section's title before its first piece.
                let heading = (p.section != previous).then(|| p.section.clone());
                previous = p.section.clone();
                let piece = p.piece.clone();
                let within = p.within.clone();
                let marked = {
                    let piece = piece.clone();
                    Memo::new(move |_| marks.with(|m| m.get(&piece).copied()))
                };
                let inside_withheld = Memo::new(move |_| marks.with(|m| within.iter().any(|w| m.contains_key(w))));
                let box_id = format!("sar-piece-{i}");
                let toggle = {
                    let piece = piece.clone();
                    move |ev| {
                        let on = event_target_checked(&ev);
                        marks.update(|m| {
                            if on {
                                m.insert(piece.clone(), Reason::RightsOfOthers);
                            } else {
                                m.remove(&piece);
                            }
                        });
                    }
                };
                let set_reason = {
                    let piece = piece.clone();
                    move |ev| {
                        if let Some(r) = Reason::parse(&event_target_value(&ev)) {
                            marks.update(|m| { m.insert(piece.clone(), r); });
                        }
                    }
                };
                view! {
                    {heading.map(|h| view! { <li><h5 class="govuk-heading-s govuk-!-margin-top-4">{h}</h5></li> })}
                    <li class="app-sar-piece" style=format!("margin-left: {}em", p.depth * 2)
                        data-testid="sar-piece" data-piece=piece.clone()
                        class:app-sar-piece--withheld=move || marked.get().is_some() || inside_withheld.get()>
                        <div class="govuk-checkboxes govuk-checkboxes--small">
                            <div class="govuk-checkboxes__item">
                                <input class="govuk-checkboxes__input" type="checkbox" id=box_id.clone()
                                    prop:checked=move || marked.get().is_some() disabled=move || !editable || inside_withheld.get() on:change=toggle/>
                                <label class="govuk-label govuk-checkboxes__label" for=box_id>
                                    <strong>{p.label.clone()}</strong>
                                    {p.value.clone().map(|v| view! { <span class="app-document__text">{format!(": {v}")}</span> })}
                                </label>
                                {p.recorded_by.clone().map(|by| view! { <div class="govuk-hint govuk-checkboxes__hint">{format!("Recorded by {by}")}</div> })}
                            </div>
                        </div>
                        {move || marked.get().map(|reason| view! {
                            <select class="govuk-select app-sar-reason" aria-label="Reason for withholding" disabled=!editable on:change=set_reason.clone()>
                                {Reason::ALL.into_iter().map(|r| view! {
                                    <option value=r.as_str() selected=r == reason>{r.label()}</option>
                                }).collect_view()}
                            </select>
                        })}
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}
