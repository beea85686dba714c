//! The sections of a case, each a list of fields and lists of items, in the order a
//! practitioner works through them. Items (people, actions, meetings…) have stable ids, so a
//! list redraws only what was added or removed and the field someone is typing in is untouched.

use super::case_view::ItemIndex;
use super::fields::{is_date, RecordField};
use super::use_repo;
use leptos::prelude::*;
use send_wrapper::SendWrapper;
use shared::record::assessment::{AssessmentField, Risk, RiskField, Side, SideField};
use shared::record::closure::{ClosureField, PostClosureAction, PostClosureField};
use shared::record::consent::{
    AgencyConsent, AgencyConsentField, ConsentOverride, DoNotShare, DoNotShareField, OverrideField,
    SharingDecision, SharingField,
};
use shared::record::edit::{self, ItemKind, Kind, List, Path};
use shared::record::escalation::{Escalation, EscalationField};
use shared::record::family::{FamilyField, Person, PersonField, Role};
use shared::record::labels::describe;
use shared::record::lead::{LeadField, LeadProfessional};
use shared::record::meetings::{
    ActionProgress, Agreement, AgreementField, Meeting, MeetingField, MeetingKind, Participant,
    ParticipantField, ProgressField,
};
use shared::record::plan::{Action, ActionField, Outcome, OutcomeField, Score, ScoreField};
use shared::record::step::{Direction, Step, StepField};
use shared::record::validation::Section;
use shared::record::RecordError;
use shared::DocumentId;
use std::collections::HashMap;

pub use shared::record::labels::SECTIONS;

/// Today as `YYYY-MM-DD`, in the person's time zone.
pub fn today() -> String {
    let d = js_sys::Date::new_0();
    format!(
        "{:04}-{:02}-{:02}",
        d.get_full_year(),
        d.get_month() + 1,
        d.get_date()
    )
}

/// The fields of one item.
fn item_fields(kind: ItemKind, id: &str) -> Vec<Path> {
    let id = id.to_string();
    macro_rules! all {
        ($variant:ident, $field:ty) => {
            <$field>::ALL
                .iter()
                .map(|f| Path::$variant(id.clone(), *f))
                .collect()
        };
    }
    match kind {
        ItemKind::Person => all!(Person, PersonField),
        ItemKind::AgencyConsent => all!(AgencyConsent, AgencyConsentField),
        ItemKind::DoNotShare => all!(DoNotShare, DoNotShareField),
        ItemKind::Override => all!(Override, OverrideField),
        ItemKind::Sharing => all!(Sharing, SharingField),
        ItemKind::Participant => all!(Participant, ParticipantField),
        ItemKind::Outcome => all!(Outcome, OutcomeField),
        ItemKind::Action => all!(Action, ActionField),
        ItemKind::Score => all!(Score, ScoreField),
        ItemKind::Meeting => all!(Meeting, MeetingField),
        ItemKind::Progress => all!(Progress, ProgressField),
        ItemKind::Agreement => all!(Agreement, AgreementField),
        ItemKind::Lead => all!(Lead, LeadField),
        ItemKind::Step => all!(Step, StepField),
        ItemKind::Escalation => all!(Escalation, EscalationField),
        ItemKind::PostClosureAction => all!(PostClosure, PostClosureField),
    }
}

/// Adds an empty item to a list, for the person to fill in, and returns its id.
fn add_blank(doc: &mut automerge::AutoCommit, list: &List) -> Result<String, RecordError> {
    let today = today();
    // Each item type is its own struct; all have an `id`.
    macro_rules! put {
        ($item:expr) => {{
            let item = $item;
            edit::add(doc, list, &item).map(|()| item.id.clone())
        }};
    }
    match list {
        List::People => put!(Person::new(Role::default(), "")),
        List::AgencyConsents => put!(AgencyConsent::new("")),
        List::DoNotShare => put!(DoNotShare::new("")),
        List::Overrides => put!(ConsentOverride::new("")),
        List::Sharing => put!(SharingDecision::new("")),
        List::CoAuthors | List::Present | List::Attendees(_) | List::Apologies(_) => {
            put!(Participant::new("", "", ""))
        }
        List::Outcomes => put!(Outcome::new("")),
        List::Actions(_) => put!(Action::new("")),
        List::Scores(_) => put!(Score::new("", &today, 0)),
        List::Meetings => put!(Meeting::new(MeetingKind::default(), &today)),
        List::Progress(_) => put!(ActionProgress::new("")),
        List::Agreed(_) => put!(Agreement::new("", &today)),
        List::LeadProfessionals => put!(LeadProfessional::new("", "", &today)),
        List::Steps => put!(Step::new(Direction::default(), &today)),
        List::Escalations => put!(Escalation::new("", &today)),
        List::PostClosureActions => put!(PostClosureAction::new("")),
    }
}

/// The fields shown on an item's card while it is closed: enough to recognise it and, for the
/// plan, to read it (who does what by when), which is also what the family's printed copy needs.
fn summary_keys(kind: ItemKind) -> &'static [&'static str] {
    match kind {
        ItemKind::Person => &["name", "role", "relationship", "date_of_birth"],
        ItemKind::AgencyConsent => &["agency", "date", "withdrawn_date"],
        ItemKind::DoNotShare => &["with"],
        ItemKind::Override => &["agency", "lawful_basis", "decided_by", "decided_date"],
        ItemKind::Sharing => &["date", "with", "shared"],
        ItemKind::Participant | ItemKind::Agreement => &["name", "agency", "role", "date"],
        ItemKind::Outcome => &["title"],
        ItemKind::Action => &["what", "owner", "agency", "due", "status"],
        ItemKind::Score => &["date", "score"],
        ItemKind::Meeting => &["kind", "date", "decisions", "next_date"],
        ItemKind::Progress => &["status", "note"],
        ItemKind::Lead => &["name", "agency", "from", "to"],
        ItemKind::Step => &["direction", "date", "status", "receiving_team"],
        ItemKind::Escalation => &[
            "stage",
            "category",
            "against_agency",
            "raised_date",
            "resolved_date",
        ],
        ItemKind::PostClosureAction => &["what", "owner", "due"],
    }
}

/// The rows of a closed card, as HTML: each summary field's label and value, escaped.
fn summary_html(kind: ItemKind, item: &str, value_of: impl Fn(&Path) -> Option<String>) -> String {
    use html_escape::encode_text;
    let mut html = String::new();
    for path in item_fields(kind, item)
        .into_iter()
        .filter(|p| summary_keys(kind).contains(&p.key()))
    {
        let value = shown(&path, value_of(&path).unwrap_or_default());
        html.push_str(
            r#"<div class="govuk-summary-list__row"><dt class="govuk-summary-list__key">"#,
        );
        html.push_str(&encode_text(&describe(&path).0));
        html.push_str(r#"</dt><dd class="govuk-summary-list__value">"#);
        html.push_str(&encode_text(&value));
        html.push_str("</dd></div>");
    }
    html
}

/// A field's value as a person reads it: choices by their label, long text shortened.
fn shown(path: &Path, raw: String) -> String {
    if raw.trim().is_empty() {
        return "Not recorded".into();
    }
    match path.kind() {
        Kind::Bool => match raw.as_str() {
            "yes" => "Yes".into(),
            _ => "No".into(),
        },
        Kind::Choice => path
            .choices()
            .into_iter()
            .find(|(v, _)| *v == raw)
            .map_or(raw, |(_, label)| label),
        Kind::Text if raw.chars().count() > 200 => {
            let short: String = raw.chars().take(200).collect();
            format!("{}…", short.trim_end())
        }
        _ if is_date(path.key()) => long_date(&raw).unwrap_or(raw),
        _ => raw,
    }
}

/// `2026-12-01` → "1 December 2026", as GOV.UK writes dates (`None` if not a real date).
pub(super) fn long_date(iso: &str) -> Option<String> {
    shared::record::dates::Day::parse(iso).map(shared::record::dates::Day::in_words)
}

/// Outcomes are few and hold the actions, so they start open; other items start as cards.
fn opens_by_default(kind: ItemKind) -> bool {
    kind == ItemKind::Outcome
}

/// The lists nested inside one item (an outcome's actions, a meeting's attendees…).
fn nested(kind: ItemKind, item: &str) -> Vec<(List, &'static str, &'static str)> {
    let i = item.to_string();
    match kind {
        ItemKind::Outcome => vec![
            (List::Actions(i.clone()), "Actions", "action"),
            (List::Scores(i), "Scores at reviews", "score"),
        ],
        ItemKind::Meeting => vec![
            (List::Attendees(i.clone()), "Who attended", "attendee"),
            (List::Apologies(i.clone()), "Apologies", "apology"),
            (
                List::Progress(i.clone()),
                "Progress on actions",
                "progress note",
            ),
            (List::Agreed(i), "Who agreed this record", "agreement"),
        ],
        _ => Vec::new(),
    }
}

/// A list of items, each a card that shows its main fields and opens to change them, with an
/// "Add" button and a "Remove" button per item.
///
/// Fields mount only when a card is opened: a plan with fifty actions shows fifty cards at once
/// rather than four hundred live form controls, so the case opens fast.
#[component]
pub fn ItemList(
    id: DocumentId,
    list: List,
    heading: &'static str,
    noun: &'static str,
    #[prop(optional)] nested_level: bool,
) -> AnyView {
    let repo = use_repo();
    let index = use_context::<ItemIndex>();
    let owners = use_context::<super::owner::Owners>();
    let kind = list.kind();
    let list = SendWrapper::new(list);
    // The ids straight from the document, after the screen's index is rebuilt for a change.
    let ids = Memo::new({
        let (repo, list) = (repo.clone(), list.clone());
        move |_| {
            match index {
                Some(index) => index.1.track(),
                None => repo.track_changes(),
            }
            repo.with_doc(&id, |doc| edit::item_ids(doc, &list))
                .and_then(Result::ok)
                .unwrap_or_default()
        }
    });
    // Whether each card is open, kept here so "Open all" can reach every card, and so a card
    // someone just added opens for them to fill in.
    let open: StoredValue<HashMap<String, RwSignal<bool>>> = StoredValue::new(HashMap::new());
    // One signal per card, made by whichever asks first (the count below, the card, or "Add"),
    // and owned by the list: one made inside the count's closure would die when it reran.
    let owner = StoredValue::new(Owner::current().expect("lists render inside a reactive owner"));
    let open_signal = move |item: &str| {
        open.with_value(|m| m.get(item).copied())
            .unwrap_or_else(|| {
                let s = owner.with_value(|o| o.with(|| RwSignal::new(opens_by_default(kind))));
                open.update_value(|m| {
                    m.insert(item.to_string(), s);
                });
                s
            })
    };
    let add = {
        let (repo, list) = (repo.clone(), list.clone());
        move |_| {
            match repo.with_doc(&id, |doc| add_blank(doc, &list)) {
                Some(Ok(item)) => open_signal(&item).set(true),
                Some(Err(e)) => web_sys::console::warn_1(&e.to_string().into()),
                None => {}
            }
            repo.reshaped(id);
        }
    };
    let open_all = move |_| {
        open.with_value(|m| m.values().for_each(|s| s.set(true)));
    };
    let heading_view = if nested_level {
        view! { <h4 class="govuk-heading-s">{heading}</h4> }.into_any()
    } else {
        view! { <h2 class="govuk-heading-m">{heading}</h2> }.into_any()
    };
    let closed_count = move || ids.with(|ids| ids.iter().filter(|i| !open_signal(i).get()).count());
    view! {
        {heading_view}
        {move || (closed_count() > 1).then(|| view! {
            <button type="button" class="govuk-button govuk-button--secondary app-no-print app-open-all"
                data-open-all="" on:click=open_all>
                {format!("Open all {}", plural(noun))}
            </button>
        })}
        <For each=move || ids.get().into_iter().enumerate() key=|(_, item)| item.clone() let:entry>
            {
                let (n, item) = entry;
                let repo = repo.clone();
                let is_open = open_signal(&item);
                on_cleanup({
                    let item = item.clone();
                    move || open.update_value(|m| {
                        m.remove(&item);
                    })
                });
                let remove = {
                    let (repo, item) = (repo.clone(), item.clone());
                    move |_| {
                        let _ = repo.with_doc(&id, |doc| edit::remove(doc, kind, &item));
                        repo.reshaped(id);
                    }
                };
                let title = format!("{} {}", capitalise(noun), n + 1);
                let details = format!("details-{item}");
                // The card's summary as one piece of HTML, rebuilt only when what it shows
                // changes: fifty cards of five rows each were a few thousand DOM calls to open a
                // plan, and were redrawn on every keystroke anywhere in the case.
                let summary = {
                    let (repo, item) = (repo.clone(), item.clone());
                    Memo::new(move |_| {
                        match index {
                            Some(index) => index.1.track(),
                            None => repo.track_changes(),
                        }
                        let obj = index.and_then(|i| i.0.with_value(|m| m.get(&item).cloned()));
                        summary_html(kind, &item, |path| {
                            let raw = obj.as_ref().and_then(|o| {
                                repo.with_doc(&id, |doc| edit::get_in(doc, o, path).ok()).flatten()
                            });
                            // An owner chosen from the team or family reads as their name.
                            match (path, owners) {
                                (Path::Action(_, ActionField::Owner), Some(owners)) => {
                                    raw.filter(|r| !r.trim().is_empty()).map(|r| owners.label(&r))
                                }
                                _ => raw,
                            }
                        })
                    })
                };
                let body = {
                    let item = item.clone();
                    move || {
                        let (item, remove) = (item.clone(), remove.clone());
                        is_open.get().then(move || view! {
                            {item_fields(kind, &item).into_iter().map(|path| field_view(id, path)).collect_view()}
                            {nested(kind, &item).into_iter().map(|(list, heading, noun)| view! {
                                <div class="app-nested"><ItemList id=id list=list heading=heading noun=noun nested_level=true/></div>
                            }).collect_view()}
                            <button type="button" class="govuk-button govuk-button--warning app-no-print" on:click=remove>
                                {format!("Remove this {noun}")}
                            </button>
                        })
                    }
                };
                view! {
                    <div class="app-item" data-item=item.clone() data-kind=format!("{kind:?}").to_lowercase()>
                        <div class="app-item__header">
                            <h3 class="govuk-heading-s app-item__title">{title.clone()}</h3>
                            <button type="button" class="govuk-button govuk-button--secondary app-no-print app-item__toggle"
                                aria-expanded=move || if is_open.get() { "true" } else { "false" }
                                aria-controls=details.clone()
                                on:click=move |_| is_open.update(|o| *o = !*o)>
                                {move || if is_open.get() { "Close" } else { "Change" }}
                                <span class="govuk-visually-hidden">{format!(" {}", title.to_lowercase())}</span>
                            </button>
                        </div>
                        {move || (!is_open.get()).then(|| view! {
                            <dl class="govuk-summary-list app-item__summary" inner_html=summary></dl>
                        })}
                        {(kind == ItemKind::Meeting).then(|| view! {
                            <p class="govuk-body app-no-print">
                                <leptos_router::components::A href=format!("/case/{id}/meeting/{item}") attr:class="govuk-link">
                                    "Open in meeting mode"<span class="govuk-visually-hidden">{format!(" ({})", title.to_lowercase())}</span>
                                </leptos_router::components::A>
                            </p>
                        })}
                        <div id=details>{body}</div>
                    </div>
                }
            }
        </For>
        <button type="button" class="govuk-button govuk-button--secondary app-no-print" on:click=add>
            {format!("Add {} {noun}", article(noun))}
        </button>
    }
    .into_any()
}

fn plural(noun: &str) -> String {
    match noun {
        "person" => "people".into(),
        "entry" => "entries".into(),
        "apology" => "apologies".into(),
        n => format!("{n}s"),
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn article(noun: &str) -> &'static str {
    if noun.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

fn fields(id: DocumentId, paths: Vec<Path>) -> impl IntoView {
    paths
        .into_iter()
        .map(|path| field_view(id, path))
        .collect_view()
}

/// The control for one field: the document's own kind of field, except where a person picks
/// something the case already holds.
fn field_view(id: DocumentId, path: Path) -> AnyView {
    match path {
        Path::Step(_, StepField::HandoverMeetingId) => {
            view! { <HandoverMeeting id=id path=path/> }.into_any()
        }
        Path::Action(_, ActionField::Owner) => {
            view! { <super::owner::OwnerField id=id path=path/> }.into_any()
        }
        path => view! { <RecordField id=id path=path/> }.into_any(),
    }
}

/// A step's handover meeting, chosen from the case's meetings by type and date (the document
/// keeps the meeting's id, which means nothing to a person).
#[component]
fn HandoverMeeting(id: DocumentId, path: Path) -> impl IntoView {
    let repo = use_repo();
    let record = use_context::<Memo<Option<shared::record::CaseRecord>>>()
        .expect("the case screen provides its record");
    let dom = super::fields::dom_id(&path);
    let path = SendWrapper::new(path);
    let step = path.item_id().map(str::to_string);
    // A memo, so typing elsewhere in the case does not rebuild the list under an open dropdown.
    let options = Memo::new(move |_| {
        record.with(|r| {
            let Some(r) = r else { return Vec::new() };
            let chosen = r
                .steps
                .iter()
                .find(|s| Some(&s.id) == step.as_ref())
                .map(|s| s.handover_meeting_id.clone())
                .unwrap_or_default();
            let mut options = vec![(
                String::new(),
                "Not booked yet".to_string(),
                chosen.is_empty(),
            )];
            options.extend(r.meetings.iter().map(|m| {
                let date = long_date(&m.date).unwrap_or_else(|| "no date yet".into());
                let label = format!("{} on {date}", m.kind.label());
                (m.id.clone(), label, m.id == chosen)
            }));
            if !options.iter().any(|(_, _, selected)| *selected) {
                options.push((chosen, "A meeting that was removed".into(), true));
            }
            options
        })
    });
    let on_change = {
        let path = path.clone();
        move |ev: leptos::ev::Event| {
            let value = event_target_value(&ev);
            if let Some(Err(e)) = repo.with_doc(&id, |doc| edit::set_text(doc, &path, &value)) {
                web_sys::console::warn_1(&e.to_string().into());
            }
            repo.edited(id);
        }
    };
    view! {
        <div class="govuk-form-group">
            <label class="govuk-label govuk-label--s" for=dom.clone()>"Handover meeting"</label>
            <div class="govuk-hint" id=format!("{dom}-hint")>"Add the meeting under Meetings and reviews first, then choose it here."</div>
            <select class="govuk-select" id=dom.clone() aria-describedby=format!("{dom}-hint") on:change=on_change>
                {move || options.get().into_iter().map(|(value, label, selected)| view! {
                    <option value=value selected=selected>{label}</option>
                }).collect_view()}
            </select>
        </div>
    }
}

/// The content of one section.
pub fn section_view(id: DocumentId, section: Section) -> AnyView {
    match section {
        Section::Family => view! {
            {fields(id, FamilyField::ALL.iter().map(|f| Path::Family(*f)).collect())}
            <ItemList id=id list=List::People heading="People in the child's life" noun="person"/>
        }
        .into_any(),
        Section::Consent => view! {
            <ItemList id=id list=List::AgencyConsents heading="Consent to share with each organisation" noun="consent"/>
            <ItemList id=id list=List::Overrides heading="Sharing without consent (safeguarding)" noun="override"/>
            <ItemList id=id list=List::DoNotShare heading="Do not share with" noun="entry"/>
            <ItemList id=id list=List::Sharing heading="Decisions about sharing information" noun="decision"/>
        }
        .into_any(),
        Section::Assessment => view! {
            {fields(id, [AssessmentField::Started, AssessmentField::Completed, AssessmentField::Author, AssessmentField::Version, AssessmentField::Reason].map(Path::Assessment).to_vec())}
            <ItemList id=id list=List::CoAuthors heading="Who else wrote the assessment" noun="co-author"/>
            <ItemList id=id list=List::Present heading="Who was there" noun="person"/>
            <h2 class="govuk-heading-m">"The child, the parents and the family"</h2>
            {fields(id, Side::ALL.iter().flat_map(|s| SideField::ALL.iter().map(move |f| Path::Side(*s, *f))).collect())}
            {fields(id, vec![Path::Assessment(AssessmentField::ChildVoice), Path::Assessment(AssessmentField::ParentsViews)])}
            <h2 class="govuk-heading-m">"Risks to ask about"</h2>
            {fields(id, Risk::ALL.iter().flat_map(|r| RiskField::ALL.iter().map(move |f| Path::Risk(*r, *f))).collect())}
            <h2 class="govuk-heading-m">"Summary"</h2>
            {fields(id, vec![Path::WorriedAbout, Path::Assessment(AssessmentField::WorkingWell), Path::Assessment(AssessmentField::NeedsToHappen), Path::Assessment(AssessmentField::Scale)])}
        }
        .into_any(),
        Section::Plan => view! {
            <super::history::SectionChanges id=id section=Section::Plan/>
            <ItemList id=id list=List::Outcomes heading="Outcomes" noun="outcome"/>
        }
        .into_any(),
        Section::Meetings => view! {
            <super::meeting::StartMeeting id=id/>
            <super::history::SectionChanges id=id section=Section::Meetings/>
            <ItemList id=id list=List::Meetings heading="Meetings and reviews" noun="meeting"/>
        }
        .into_any(),
        Section::LeadProfessional => view! {
            <ItemList id=id list=List::LeadProfessionals heading="Lead professionals" noun="lead professional"/>
        }
        .into_any(),
        Section::StepUpDown => view! {
            <ItemList id=id list=List::Steps heading="Step up to social care, or step down to early help" noun="step"/>
        }
        .into_any(),
        Section::Escalation => view! {
            <ItemList id=id list=List::Escalations heading="Disagreements between organisations" noun="escalation"/>
        }
        .into_any(),
        Section::Closure => view! {
            {fields(id, ClosureField::ALL.iter().map(|f| Path::Closure(*f)).collect())}
            <ItemList id=id list=List::PostClosureActions heading="What happens after closure" noun="action"/>
        }
        .into_any(),
    }
}
