//! A case's history: who changed what and when (from the document on this device, named with
//! the relay's receipts, kept here for offline use), the case as it stood at a chosen moment,
//! and what changed since the last review, since a record was agreed, or since this person last
//! looked. The sittings and their rows come from [`shared::record::history`].

use super::sections::SECTIONS;
use super::use_repo;
use crate::api;
use crate::sync::Repo;
use automerge::{ChangeHash, ReadDoc};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;
use shared::api::{LastLooked, Receipts};
use shared::record::dates::Day;
use shared::record::edit::ItemKind;
use shared::record::history::{self, Sitting, Who};
use shared::record::meetings::{Meeting, MeetingKind};
use shared::record::validation::Section;
use shared::record::CaseRecord;
use shared::DocumentId;
use std::collections::HashMap;

/// Rows already worked out, by the two states (heads) they compare.
type KeptRows = HashMap<(Vec<ChangeHash>, Vec<ChangeHash>), Vec<history::Row>>;

/// Sittings shown at first, and added by "Show earlier changes".
const PAGE: usize = 25;
/// A sitting's typed and shared times further apart than this are both shown.
const OFFLINE_GAP_MS: i64 = 5 * 60 * 1000;

fn receipts_key(id: &DocumentId) -> String {
    format!("receipts-{id}")
}

fn looked_key(id: &DocumentId) -> String {
    format!("last-looked-{id}")
}

/// The case's receipts from the relay, kept on this device for offline use; `None` offline.
async fn fetch_receipts(repo: &Repo, id: DocumentId) -> Option<Receipts> {
    let fresh = api::receipts(&id).await.ok()?;
    if let Ok(json) = serde_json::to_string(&fresh) {
        let _ = repo.put_meta(&receipts_key(&id), &json).await;
    }
    Some(fresh)
}

/// The case's receipts, read once for the case on screen and shared by everything on it.
#[derive(Clone, Copy)]
pub struct CaseReceipts(ReadSignal<Option<Option<Receipts>>>);

impl CaseReceipts {
    /// Starts reading the case's receipts (see [`use_receipts`]).
    pub fn read(repo: &Repo, id: DocumentId) -> Self {
        Self(use_receipts(repo, id))
    }
}

fn case_receipts() -> ReadSignal<Option<Option<Receipts>>> {
    expect_context::<CaseReceipts>().0
}

/// The case's receipts: `None` while finding out, then those kept on this device (at once,
/// offline too) and the relay's when they arrive (`Some(None)`: none known here). Fetched again
/// when changes from others arrive (their receipts are new), a burst at a time.
fn use_receipts(repo: &Repo, id: DocumentId) -> ReadSignal<Option<Option<Receipts>>> {
    let (known, set) = signal(None::<Option<Receipts>>);
    {
        let repo = repo.clone();
        leptos::task::spawn_local(async move {
            let kept: Option<Receipts> = repo
                .meta(&receipts_key(&id))
                .await
                .and_then(|json| serde_json::from_str(&json).ok());
            if kept.is_some() {
                let _ = set.try_set(Some(kept.clone()));
            }
            let fresh = fetch_receipts(&repo, id).await;
            let _ = set.try_set(Some(fresh.or(kept)));
        });
    }
    let remote = repo.remote_changes();
    let started = remote.get_untracked();
    let waiting = std::rc::Rc::new(std::cell::Cell::new(false));
    let repo = repo.clone();
    Effect::new(move |_| {
        if remote.get() == started || waiting.replace(true) {
            return;
        }
        let (repo, waiting) = (repo.clone(), waiting.clone());
        leptos::task::spawn_local(async move {
            gloo_timers::future::sleep(std::time::Duration::from_millis(800)).await;
            waiting.set(false);
            if let Some(fresh) = fetch_receipts(&repo, id).await {
                let _ = set.try_set(Some(Some(fresh)));
            }
        });
    });
    known
}

/// This device's own changes: shared by the person signed in, or not shared yet.
fn is_mine(who: &Who, me: Option<i64>) -> bool {
    matches!(who, Who::YouNotShared) || matches!(who, Who::Professional(p) if Some(*p) == me)
}

/// The heads this device has, of those given (a look or an agreement from another device may
/// name changes that have not arrived here yet).
fn known(doc: &automerge::Automerge, heads: Vec<ChangeHash>) -> Vec<ChangeHash> {
    heads
        .into_iter()
        .filter(|h| doc.get_change_by_hash(h).is_some())
        .collect()
}

fn parse_heads(heads: &[String]) -> Vec<ChangeHash> {
    heads.iter().filter_map(|h| h.parse().ok()).collect()
}

thread_local! {
    /// Each case's earlier look, taken once per page load: moving between a case's sections
    /// redraws its screen, and must not count as looking again.
    static EARLIER: std::cell::RefCell<HashMap<DocumentId, Option<LastLooked>>> =
        Default::default();
}

/// When this person last looked at the case before this visit (the newer of this device's
/// note and the relay's); the first call in a visit also notes that they are looking now.
pub async fn look(repo: &Repo, id: DocumentId) -> Option<LastLooked> {
    if let Some(earlier) = EARLIER.with(|e| e.borrow().get(&id).cloned()) {
        return earlier;
    }
    let earlier = look_now(repo, id).await;
    EARLIER.with(|e| e.borrow_mut().entry(id).or_insert(earlier).clone())
}

async fn look_now(repo: &Repo, id: DocumentId) -> Option<LastLooked> {
    let here: Option<LastLooked> = repo
        .meta(&looked_key(&id))
        .await
        .and_then(|json| serde_json::from_str(&json).ok());
    let relay = api::last_looked(&id)
        .await
        .ok()
        .filter(|l| !l.heads.is_empty());
    let before = match (here, relay) {
        (Some(a), Some(b)) => Some(if b.looked_at > a.looked_at { b } else { a }),
        (a, b) => a.or(b),
    };
    let heads = repo.with_doc(&id, |doc| doc.get_heads())?;
    let now = LastLooked {
        heads: heads.iter().map(ToString::to_string).collect(),
        looked_at: js_sys::Date::now() as i64,
    };
    if let Ok(json) = serde_json::to_string(&now) {
        let _ = repo.put_meta(&looked_key(&id), &json).await;
    }
    let _ = api::put_last_looked(&id, &now).await;
    before
}

/// How a sitting's author reads.
fn who_label(who: &Who, receipts: &Receipts, me: Option<i64>) -> String {
    match who {
        Who::Professional(p) if Some(*p) == me => "You".into(),
        Who::Professional(p) => receipts.author(*p).map_or_else(
            || "Someone outside your team".into(),
            |a| format!("{} ({})", a.name, a.agency_name),
        ),
        Who::YouNotShared => "You (not shared yet)".into(),
        Who::NotVerified => {
            "Not verified (this device has no record from the relay of who shared it)".into()
        }
    }
}

fn organisation(who: &Who, receipts: &Receipts) -> Option<String> {
    let Who::Professional(p) = who else {
        return None;
    };
    receipts.author(*p).map(|a| a.agency_name.clone())
}

/// "3 December 2026 at 14:31", in this device's time zone.
pub fn moment(ms: i64) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    let day = format!(
        "{:04}-{:02}-{:02}",
        d.get_full_year(),
        d.get_month() + 1,
        d.get_date()
    );
    let day = Day::parse(&day).map_or(day, Day::in_words);
    format!("{day} at {:02}:{:02}", d.get_hours(), d.get_minutes())
}

fn clock(ms: i64) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    format!("{:02}:{:02}", d.get_hours(), d.get_minutes())
}

/// When a sitting happened, with both times where they differ.
fn when_label(s: &Sitting) -> String {
    match s.shared_at {
        Some(shared) if s.typed_to > 0 && shared - s.typed_to > OFFLINE_GAP_MS => format!(
            "Typed {} offline; shared {}",
            moment(s.typed_to),
            if shared - s.typed_to < 86_400_000 {
                clock(shared)
            } else {
                moment(shared)
            }
        ),
        Some(shared) => moment(shared),
        None if s.typed_to > 0 => format!("Typed {}", moment(s.typed_to)),
        None => "Time not recorded".into(),
    }
}

/// Local midnight at the start of a `YYYY-MM-DD` day, in ms.
fn day_start(date: &str) -> Option<i64> {
    Day::parse(date)?;
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(&format!(
        "{date}T00:00:00"
    )));
    let ms = d.get_time();
    (!ms.is_nan()).then_some(ms as i64)
}

/// Which changes to list.
#[derive(Clone, PartialEq)]
enum Since {
    All,
    Review,
    Agreed,
    Looked,
}

/// The meeting "since the last review" counts from: the latest review held, or before the
/// first review, the latest meeting held.
fn review_of(record: &CaseRecord) -> Option<Meeting> {
    // Meetings held, not those booked ahead.
    let today = super::uk_today();
    let latest = |review: bool| {
        record
            .meetings
            .iter()
            .filter(|m| {
                (!review || m.kind == MeetingKind::Review)
                    && Day::parse(&m.date).is_some_and(|d| d <= today)
            })
            .max_by(|a, b| a.date.cmp(&b.date))
            .cloned()
    };
    latest(true).or_else(|| latest(false))
}

/// The latest meeting whose record was agreed.
fn agreed_of(record: &CaseRecord) -> Option<Meeting> {
    record
        .meetings
        .iter()
        .filter(|m| m.is_agreed())
        .max_by(|a, b| a.date.cmp(&b.date))
        .cloned()
}

/// The state of the case a meeting stands for: what was agreed at it, if it was agreed; else
/// everything shared by the end of its day.
fn meeting_state(
    repo: &Repo,
    id: DocumentId,
    m: &Meeting,
    receipts: &HashMap<ChangeHash, history::Received>,
) -> Option<Vec<ChangeHash>> {
    if m.is_agreed() {
        return Some(parse_heads(&m.agreed_heads));
    }
    let end = day_start(&m.date)? + 86_400_000;
    repo.with_doc(&id, |doc| history::heads_at(doc.document(), receipts, end))
}

#[component]
pub fn History(id: DocumentId) -> impl IntoView {
    let owners = use_context::<super::owner::Owners>();
    let repo = use_repo();
    let account = repo.account();
    let me = move || account.with(|a| a.me().map(|m| m.id));
    let query = use_query_map();
    let previous_look = use_context::<RwSignal<Option<LastLooked>>>();
    let receipts = case_receipts();
    let person = RwSignal::new(String::new());
    let agency = RwSignal::new(String::new());
    let section = RwSignal::new(String::new());
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let since = RwSignal::new(match query.with_untracked(|q| q.get("since")).as_deref() {
        Some("review") => Since::Review,
        Some("agreed") => Since::Agreed,
        Some("looked") => Since::Looked,
        _ => Since::All,
    });
    let record = use_context::<Memo<Option<CaseRecord>>>();
    let last_review = move || record?.with(|r| review_of(r.as_ref()?));
    let last_agreed = move || record?.with(|r| agreed_of(r.as_ref()?));
    let sittings = Memo::new({
        let repo = repo.clone();
        move |_| {
            repo.track_changes();
            let kept = receipts.get().flatten().unwrap_or_default();
            let map = kept.by_change();
            let me = me();
            let mode = since.get();
            let base: Option<Vec<ChangeHash>> = match mode {
                Since::All => Some(Vec::new()),
                Since::Review => last_review().and_then(|m| meeting_state(&repo, id, &m, &map)),
                Since::Agreed => last_agreed().map(|m| parse_heads(&m.agreed_heads)),
                Since::Looked => previous_look
                    .and_then(|l| l.get())
                    .map(|l| parse_heads(&l.heads)),
            };
            let list = base.and_then(|base| {
                repo.with_doc(&id, |doc| {
                    let doc = doc.document();
                    history::outline_since(doc, &map, me, &known(doc, base))
                })
            });
            (list.unwrap_or_default(), kept)
        }
    });
    let people = move || {
        sittings.with(|(list, kept)| {
            let mut names: Vec<(String, String)> = list
                .iter()
                .filter_map(|s| match &s.who {
                    Who::Professional(p) => Some((p.to_string(), who_label(&s.who, kept, None))),
                    _ => None,
                })
                .collect();
            names.sort();
            names.dedup();
            names
        })
    };
    let agencies = move || {
        sittings.with(|(list, kept)| {
            let mut names: Vec<String> = list
                .iter()
                .filter_map(|s| organisation(&s.who, kept))
                .collect();
            names.sort();
            names.dedup();
            names
        })
    };
    // Rows cost a comparison of the document each, so only the sittings on screen get them, a
    // page at a time; rows between two states never change, so they are kept by those states.
    let limit = RwSignal::new(PAGE);
    let rows_kept: StoredValue<KeptRows> = StoredValue::new(HashMap::new());
    let rows_of = {
        let repo = repo.clone();
        move |s: &Sitting| -> Vec<history::Row> {
            let key = (s.before.clone(), s.after.clone());
            if let Some(rows) = rows_kept.with_value(|k| k.get(&key).cloned()) {
                return rows;
            }
            let rows = repo
                .with_doc(&id, |doc| {
                    history::rows_between(doc.document(), &s.before, &s.after)
                })
                .unwrap_or_default();
            rows_kept.update_value(|k| {
                k.insert(key, rows.clone());
            });
            rows
        }
    };
    let shown = move || {
        let (person, agency, section) = (person.get(), agency.get(), section.get());
        let (from, to) = (day_start(&from.get()), day_start(&to.get()));
        let agreed_base = matches!(since.get(), Since::Review | Since::Agreed);
        // Since you last looked, your own changes are not news.
        let others_only = since.get() == Since::Looked;
        let me_now = me();
        let most = limit.get();
        sittings.with(|(list, kept)| {
            let mut out = Vec::new();
            let mut more = false;
            for s in list.iter().rev().filter(|s| {
                !(others_only && is_mine(&s.who, me_now))
                    && (person.is_empty()
                        || matches!(&s.who, Who::Professional(p) if p.to_string() == person))
                    && (agency.is_empty()
                        || organisation(&s.who, kept).as_deref() == Some(agency.as_str()))
                    && from.is_none_or(|f| s.when() >= f)
                    && to.is_none_or(|t| s.when() < t + 86_400_000)
            }) {
                if out.len() == most {
                    more = true;
                    break;
                }
                let rows: Vec<String> = rows_of(s)
                    .iter()
                    .filter(|r| section.is_empty() || format!("{:?}", r.section) == section)
                    // Since an agreement, the act of agreeing is not one of the changes.
                    .filter(|r| !(agreed_base && r.item_kind == Some(ItemKind::Agreement)))
                    .map(|r| super::owner::sentence(r, owners))
                    .collect();
                if !rows.is_empty() {
                    out.push((
                        who_label(&s.who, kept, me()),
                        when_label(s),
                        rows,
                        s.after.clone(),
                    ));
                }
            }
            (out, more)
        })
    };
    let since_choice = move |value: String| {
        since.set(match value.as_str() {
            "review" => Since::Review,
            "agreed" => Since::Agreed,
            "looked" => Since::Looked,
            _ => Since::All,
        })
    };
    let as_at_date = RwSignal::new(String::new());
    let as_at_time = RwSignal::new("17:00".to_string());
    let past_link = move || {
        let ms = day_start(&as_at_date.get())?;
        let (h, m) = as_at_time.get().split_once(':').map_or((23, 59), |(h, m)| {
            (
                h.parse::<i64>().unwrap_or(23),
                m.parse::<i64>().unwrap_or(59),
            )
        });
        Some(format!(
            "/case/{id}/history?as_at={}",
            ms + (h * 60 + m) * 60_000
        ))
    };
    let meeting_links = move || {
        record
            .and_then(|r| {
                r.with(|r| {
                    r.as_ref().map(|r| {
                        r.meetings
                            .iter()
                            .filter_map(|m| {
                                let name = m.display_name().replacen("The ", "the ", 1);
                                if m.is_agreed() {
                                    return Some((
                                        format!(
                                            "/case/{id}/history?heads={}",
                                            m.agreed_heads.join(",")
                                        ),
                                        format!("When the record of {name} was agreed"),
                                    ));
                                }
                                let end = day_start(&m.date)? + 86_400_000 - 60_000;
                                Some((
                                    format!("/case/{id}/history?as_at={end}"),
                                    format!("At the end of the day of {name}"),
                                ))
                            })
                            .collect::<Vec<_>>()
                    })
                })
            })
            .unwrap_or_default()
    };
    view! {
        <div data-testid="history">
            {move || match receipts.get() {
                Some(None) => view! {
                    <div class="govuk-inset-text" data-testid="history-offline">
                        "You are offline and this device has not fetched who made each change yet, so changes are shown as not verified. Go online to see names."
                    </div>
                }.into_any(),
                _ => ().into_any(),
            }}
            <div class="govuk-form-group">
                <label class="govuk-label" for="history-since">"Changes to show"</label>
                <select class="govuk-select" id="history-since" data-testid="history-since"
                    on:change=move |ev| since_choice(event_target_value(&ev))>
                    <option value="all" selected=move || since.get() == Since::All>"All changes"</option>
                    <option value="review" selected=move || since.get() == Since::Review>
                        {move || last_review().map_or("Since the last review (none recorded yet)".to_string(),
                            |m| format!("Since {}", m.display_name().replacen("The ", "the ", 1)))}
                    </option>
                    <option value="agreed" selected=move || since.get() == Since::Agreed>"Since the last meeting record was agreed"</option>
                    <option value="looked" selected=move || since.get() == Since::Looked>"Since you last looked"</option>
                </select>
            </div>
            <details class="govuk-details">
                <summary class="govuk-details__summary"><span class="govuk-details__summary-text">"Filter changes"</span></summary>
                <div class="govuk-details__text app-history__filters">
                    <div class="govuk-form-group">
                        <label class="govuk-label" for="history-person">"Person"</label>
                        <select class="govuk-select" id="history-person" on:change=move |ev| person.set(event_target_value(&ev))>
                            <option value="">"Everyone"</option>
                            {move || people().into_iter().map(|(id, name)| view! { <option value=id>{name}</option> }).collect_view()}
                        </select>
                    </div>
                    <div class="govuk-form-group">
                        <label class="govuk-label" for="history-agency">"Organisation"</label>
                        <select class="govuk-select" id="history-agency" on:change=move |ev| agency.set(event_target_value(&ev))>
                            <option value="">"Every organisation"</option>
                            {move || agencies().into_iter().map(|a| view! { <option value=a.clone()>{a.clone()}</option> }).collect_view()}
                        </select>
                    </div>
                    <div class="govuk-form-group">
                        <label class="govuk-label" for="history-section">"Section"</label>
                        <select class="govuk-select" id="history-section" data-testid="history-section" on:change=move |ev| section.set(event_target_value(&ev))>
                            <option value="">"Every section"</option>
                            {SECTIONS.iter().map(|(sec, _, title)| view! { <option value=format!("{sec:?}")>{*title}</option> }).collect_view()}
                        </select>
                    </div>
                    <div class="govuk-form-group">
                        <label class="govuk-label" for="history-from">"From"</label>
                        <input class="govuk-input govuk-input--width-10" type="date" id="history-from" on:change=move |ev| from.set(event_target_value(&ev))/>
                    </div>
                    <div class="govuk-form-group">
                        <label class="govuk-label" for="history-to">"To"</label>
                        <input class="govuk-input govuk-input--width-10" type="date" id="history-to" on:change=move |ev| to.set(event_target_value(&ev))/>
                    </div>
                </div>
            </details>
            <details class="govuk-details">
                <summary class="govuk-details__summary"><span class="govuk-details__summary-text">"See the case as it was at an earlier time"</span></summary>
                <div class="govuk-details__text">
                    <ul class="govuk-list">
                        {move || meeting_links().into_iter().map(|(href, text)| view! {
                            <li><A href=href attr:class="govuk-link">{text}</A></li>
                        }).collect_view()}
                    </ul>
                    <div class="govuk-form-group">
                        <label class="govuk-label" for="as-at-date">"Date"</label>
                        <input class="govuk-input govuk-input--width-10" type="date" id="as-at-date" data-testid="as-at-date"
                            on:change=move |ev| as_at_date.set(event_target_value(&ev))/>
                    </div>
                    <div class="govuk-form-group">
                        <label class="govuk-label" for="as-at-time">"Time"</label>
                        <input class="govuk-input govuk-input--width-5" type="time" id="as-at-time"
                            prop:value=move || as_at_time.get() on:change=move |ev| as_at_time.set(event_target_value(&ev))/>
                    </div>
                    {move || past_link().map(|href| view! {
                        <A href=href attr:class="govuk-button govuk-button--secondary" attr:data-testid="as-at-go">"See the case as it was then"</A>
                    })}
                </div>
            </details>
            {move || {
                // Until the receipts are read (from the relay, or as kept here), nobody's
                // changes can be named: say so rather than show them as not verified.
                if receipts.with(Option::is_none) {
                    return view! { <p class="govuk-body" data-testid="history-loading">"Finding out who made each change…"</p> }.into_any();
                }
                let (list, more) = shown();
                if list.is_empty() {
                    return view! { <p class="govuk-body" data-testid="history-empty">"No changes to show."</p> }.into_any();
                }
                view! {
                    <ol class="app-history" data-testid="history-list">
                        {list.into_iter().map(|(who, when, rows, after)| {
                            let heads = after.iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
                            view! {
                                <li class="app-history__sitting" data-testid="history-sitting">
                                    <h3 class="govuk-heading-s app-history__who" data-testid="history-who">{who}</h3>
                                    <p class="govuk-body-s app-history__when">{when}</p>
                                    <ul class="govuk-list govuk-list--bullet">
                                        {rows.into_iter().map(|r| view! { <li data-testid="history-row">{r}</li> }).collect_view()}
                                    </ul>
                                    <A href=format!("/case/{id}/history?heads={heads}") attr:class="govuk-link govuk-body-s">"See the case as it was after this"</A>
                                </li>
                            }
                        }).collect_view()}
                    </ol>
                    {more.then(|| view! {
                        <button type="button" class="govuk-button govuk-button--secondary" data-testid="history-more"
                            on:click=move |_| limit.update(|n| *n += PAGE)>"Show earlier changes"</button>
                    })}
                }.into_any()
            }}
        </div>
    }
}

/// The case as it stood: at a time (`as_at`, ms) or at given heads, the whole case or one
/// section (`section`). Read-only.
#[component]
pub fn PastCase(id: DocumentId) -> impl IntoView {
    let repo = use_repo();
    let query = use_query_map();
    let receipts = case_receipts();
    let chosen = RwSignal::new(
        query
            .with_untracked(|q| q.get("section"))
            .unwrap_or_default(),
    );
    let past = Memo::new({
        let repo = repo.clone();
        move |_| {
            let map = receipts.get().flatten().unwrap_or_default().by_change();
            let (at, heads) = query.with(|q| (q.get("as_at"), q.get("heads")));
            repo.with_doc(&id, |doc| {
                let doc = doc.document();
                let (heads, label) = match (at.and_then(|a| a.parse::<i64>().ok()), heads) {
                    (Some(ms), _) => (history::heads_at(doc, &map, ms), moment(ms)),
                    (None, Some(h)) => {
                        let heads =
                            known(doc, h.split(',').filter_map(|x| x.parse().ok()).collect());
                        if heads.is_empty() {
                            return None;
                        }
                        // When it was shared, or else typed (the device's clock).
                        let when = heads
                            .iter()
                            .filter_map(|h| {
                                map.get(h).map(|r| r.at).or_else(|| {
                                    doc.get_change_by_hash(h)
                                        .map(|c| c.timestamp() * 1000)
                                        .filter(|t| *t > 0)
                                })
                            })
                            .max()
                            .map(moment)
                            .unwrap_or_default();
                        (heads, when)
                    }
                    _ => return None,
                };
                Some((history::read_out(doc, &heads), label))
            })
            .flatten()
        }
    });
    view! {
        {move || match past.get() {
            None => view! {
                <p class="govuk-body">"That earlier version of the case is not on this device."</p>
            }.into_any(),
            Some((entries, label)) => view! {
                <div class="govuk-notification-banner" role="region" aria-labelledby="past-title" data-testid="past-banner">
                    <div class="govuk-notification-banner__header">
                        <h2 class="govuk-notification-banner__title" id="past-title">"Earlier version"</h2>
                    </div>
                    <div class="govuk-notification-banner__content">
                        <p class="govuk-notification-banner__heading">{if label.is_empty() {
                            "This is an earlier version of the case. It cannot be changed.".to_string()
                        } else {
                            format!("This is the case as it was on {label}. It cannot be changed.")
                        }}</p>
                        <p class="govuk-body"><A href=format!("/case/{id}/family") attr:class="govuk-notification-banner__link">"Back to the case as it is now"</A>
                        " or "<A href=format!("/case/{id}/history") attr:class="govuk-notification-banner__link">"back to the history"</A></p>
                    </div>
                </div>
                <div class="govuk-form-group app-no-print">
                    <label class="govuk-label" for="past-section">"Show"</label>
                    <select class="govuk-select" id="past-section" data-testid="past-section"
                        on:change=move |ev| chosen.set(event_target_value(&ev))>
                        <option value="" selected=move || chosen.get().is_empty()>"The whole case"</option>
                        {SECTIONS.iter().map(|(sec, _, title)| {
                            let value = format!("{sec:?}");
                            let selected = value.clone();
                            view! { <option value=value selected=move || chosen.get() == selected>{*title}</option> }
                        }).collect_view()}
                    </select>
                </div>
                <div data-testid="past-case">{move || read_only(&entries, &chosen.get())}</div>
            }.into_any(),
        }}
    }
}

/// The case as it stood, section by section (or only `section`, by its name), read-only.
fn read_only(entries: &[history::Entry], section: &str) -> impl IntoView {
    SECTIONS
        .iter()
        .filter(|(s, _, _)| section.is_empty() || format!("{s:?}") == section)
        .map(|(s, _, title)| {
            let mine: Vec<&history::Entry> = entries.iter().filter(|e| e.section == *s).collect();
            view! {
                <h2 class="govuk-heading-m app-past__section">{*title}</h2>
                {if mine.is_empty() {
                    view! { <p class="govuk-body app-past__none">"Nothing recorded."</p> }.into_any()
                } else {
                    past_entries(&mine).into_any()
                }}
            }
        })
        .collect_view()
}

/// Items as headings, each followed by its own fields as a summary list, indented by depth.
fn past_entries(entries: &[&history::Entry]) -> impl IntoView {
    let owners = use_context::<super::owner::Owners>();
    // (how deep the block's fields are, the item's name, the fields)
    let mut blocks: Vec<(usize, Option<String>, Vec<&history::Entry>)> = Vec::new();
    for e in entries {
        match &e.value {
            None => blocks.push((e.depth + 1, Some(e.label.clone()), Vec::new())),
            Some(_) => match blocks.last_mut() {
                Some((depth, _, fields)) if *depth == e.depth => fields.push(e),
                _ => blocks.push((e.depth, None, vec![e])),
            },
        }
    }
    blocks
        .into_iter()
        .map(|(depth, heading, fields)| {
            let depth = depth.saturating_sub(1);
            let class = format!("app-past__block app-past__depth-{}", depth.min(3));
            view! {
                <div class=class>
                    {heading.map(|h| view! { <h3 class="govuk-heading-s" data-testid="past-item">{h}</h3> })}
                    {(!fields.is_empty()).then(|| view! {
                        <dl class="govuk-summary-list govuk-summary-list--no-border">
                            {fields.into_iter().map(|f| view! {
                                <div class="govuk-summary-list__row" data-testid="past-field" data-field=f.key>
                                    <dt class="govuk-summary-list__key">{f.label.clone()}</dt>
                                    <dd class="govuk-summary-list__value app-past__text">{super::owner::value(f, owners)}</dd>
                                </div>
                            }).collect_view()}
                        </dl>
                    })}
                </div>
            }
        })
        .collect_view()
}

/// "Changed since you last looked", naming who, on every case.
#[component]
pub fn ChangedSince(id: DocumentId) -> impl IntoView {
    let repo = use_repo();
    let account = repo.account();
    let previous = use_context::<RwSignal<Option<LastLooked>>>();
    let receipts = case_receipts();
    // Only others' changes count, so only changes from elsewhere can alter this (never the
    // person's own typing), and only others' sittings are compared.
    let remote = repo.remote_changes();
    let summary = Memo::new({
        let repo = repo.clone();
        move |_| {
            remote.track();
            let look = previous?.get()?;
            let kept = receipts.get().flatten().unwrap_or_default();
            let me = account.with(|a| a.me().map(|m| m.id));
            let map = kept.by_change();
            let (count, names) = repo.with_doc(&id, |doc| {
                let doc = doc.document();
                let base = known(doc, parse_heads(&look.heads));
                let mut names: Vec<String> = Vec::new();
                let mut count = 0;
                for s in history::outline_since(doc, &map, me, &base) {
                    if is_mine(&s.who, me) {
                        continue;
                    }
                    count += history::rows_between(doc, &s.before, &s.after).len();
                    let name = match s.who {
                        // Someone else's, not yet confirmed by the relay (offline, or before
                        // its receipts arrive).
                        Who::NotVerified => "Someone".to_string(),
                        _ => who_label(&s.who, &kept, me),
                    };
                    if !names.contains(&name) {
                        names.push(name);
                    }
                }
                (count, names)
            })?;
            (count > 0).then(|| (names.join(", "), count))
        }
    });
    view! {
        {move || summary.get().map(|(names, count)| view! {
            <div class="govuk-notification-banner app-no-print" role="region" aria-labelledby="changed-since-title" data-testid="changed-since">
                <div class="govuk-notification-banner__header">
                    <h2 class="govuk-notification-banner__title" id="changed-since-title">"Changed since you last looked"</h2>
                </div>
                <div class="govuk-notification-banner__content">
                    <p class="govuk-body" data-testid="changed-since-who">
                        {format!("{names} made {count} {} since you last opened this case.", if count == 1 { "change" } else { "changes" })}
                    </p>
                    <A href=format!("/case/{id}/history?since=looked") attr:class="govuk-notification-banner__link">"See what changed"</A>
                </div>
            </div>
        })}
    }
}

/// Sittings looked through for a section's changes before sending the person to the history.
const SECTION_SITTINGS: usize = 50;

/// On the plan and the meetings: what changed in this section since the last review and since
/// the last meeting record was agreed, field by field, old and new, with who made each. Worked
/// out when opened (it compares the document once per sitting), then kept up with others'
/// changes.
#[component]
pub fn SectionChanges(id: DocumentId, section: Section) -> impl IntoView {
    let record = use_context::<Memo<Option<CaseRecord>>>();
    // Only what names a meeting and its state, so typing elsewhere keeps the panels as they
    // are (an open one stays open).
    let points = Memo::new(move |_| -> Vec<(Since, Meeting)> {
        let point = |m: Meeting| Meeting {
            id: m.id,
            kind: m.kind,
            date: m.date,
            agreed_heads: m.agreed_heads,
            ..Meeting::default()
        };
        record
            .and_then(|r| {
                r.with(|r| {
                    let r = r.as_ref()?;
                    let review = review_of(r);
                    let agreed =
                        agreed_of(r).filter(|a| review.as_ref().is_none_or(|m| m.id != a.id));
                    Some(
                        review
                            .map(|m| (Since::Review, point(m)))
                            .into_iter()
                            .chain(agreed.map(|m| (Since::Agreed, point(m))))
                            .collect(),
                    )
                })
            })
            .unwrap_or_default()
    });
    let what = match section {
        Section::Plan => "the plan",
        Section::Meetings => "the meeting records",
        _ => "this section",
    };
    view! {
        <div class="app-no-print" data-testid="section-changes">
            {move || points.get().into_iter().map(|(since, meeting)| {
                let name = meeting.display_name().replacen("The ", "the ", 1);
                let title = match since {
                    Since::Agreed => format!("Changes to {what} since the record of {name} was agreed"),
                    _ => format!("Changes to {what} since {name}"),
                };
                let slug = if since == Since::Agreed { "agreed" } else { "review" };
                view! { <ChangesSinceMeeting id=id section=section meeting=meeting title=title slug=slug/> }
            }).collect_view()}
        </div>
    }
}

/// One "changes since" panel of [`SectionChanges`].
#[component]
fn ChangesSinceMeeting(
    id: DocumentId,
    section: Section,
    meeting: Meeting,
    title: String,
    slug: &'static str,
) -> impl IntoView {
    let owners = use_context::<super::owner::Owners>();
    let repo = use_repo();
    let account = repo.account();
    let receipts = case_receipts();
    let remote = repo.remote_changes();
    let open = RwSignal::new(false);
    let found = Memo::new({
        let repo = repo.clone();
        move |_| {
            if !open.get() {
                return None;
            }
            remote.track();
            let kept = receipts.get().flatten().unwrap_or_default();
            let map = kept.by_change();
            let me = account.with(|a| a.me().map(|m| m.id));
            let base = meeting_state(&repo, id, &meeting, &map)?;
            repo.with_doc(&id, |doc| {
                let doc = doc.document();
                let outline = history::outline_since(doc, &map, me, &known(doc, base));
                let more = outline.len() > SECTION_SITTINGS;
                let list: Vec<(String, String, Vec<history::Row>)> = outline
                    .iter()
                    .rev()
                    .take(SECTION_SITTINGS)
                    .filter_map(|s| {
                        let rows: Vec<history::Row> =
                            history::rows_between(doc, &s.before, &s.after)
                                .into_iter()
                                .filter(|r| r.section == section)
                                // The act of agreeing a record is not a change to it.
                                .filter(|r| r.item_kind != Some(ItemKind::Agreement))
                                .collect();
                        (!rows.is_empty())
                            .then(|| (who_label(&s.who, &kept, me), when_label(s), rows))
                    })
                    .collect();
                (list, more)
            })
            // Worded after the document is let go: naming owners reads other signals.
            .map(|(list, more)| {
                let list: Vec<(String, String, Vec<String>)> = list
                    .into_iter()
                    .map(|(who, when, rows)| {
                        let rows = rows
                            .iter()
                            .map(|r| super::owner::sentence(r, owners))
                            .collect();
                        (who, when, rows)
                    })
                    .collect();
                (list, more)
            })
        }
    });
    view! {
        <details class="govuk-details" data-testid=format!("changes-since-{slug}")>
            <summary class="govuk-details__summary" on:click=move |_| open.update(|o| *o = !*o)>
                <span class="govuk-details__summary-text">{title}</span>
            </summary>
            <div class="govuk-details__text">
                {move || match found.get() {
                    None => view! { <p class="govuk-body">"Working out what changed…"</p> }.into_any(),
                    Some((list, _)) if list.is_empty() => view! {
                        <p class="govuk-body" data-testid="section-changes-none">"Nothing has changed here since then."</p>
                    }.into_any(),
                    Some((list, more)) => view! {
                        <ol class="app-history">
                            {list.into_iter().map(|(who, when, rows)| view! {
                                <li class="app-history__sitting" data-testid="section-change-sitting">
                                    <h3 class="govuk-heading-s app-history__who" data-testid="history-who">{who}</h3>
                                    <p class="govuk-body-s app-history__when">{when}</p>
                                    <ul class="govuk-list govuk-list--bullet">
                                        {rows.into_iter().map(|r| view! { <li data-testid="history-row">{r}</li> }).collect_view()}
                                    </ul>
                                </li>
                            }).collect_view()}
                        </ol>
                        {more.then(|| view! {
                            <p class="govuk-body">"Only the latest changes are shown here. "
                                <A href=format!("/case/{id}/history?since={slug}") attr:class="govuk-link">"See every change in the history"</A></p>
                        })}
                    }.into_any(),
                }}
            </div>
        </details>
    }
}
