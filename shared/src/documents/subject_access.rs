//! A subject access request (UK GDPR Article 15): what a case holds about a person, reviewed
//! for what must be withheld, and made into a copy for them (PDF and JSON) with a cover note.
//!
//! The record is read out piece by piece ([`pieces`]): every field with a value and every
//! item, each with who recorded it (from the relay's receipts, never the bytes alone). A
//! reviewer withholds pieces, or words wherever they appear, each with a reason the law
//! allows ([`Reason`]). [`redact`] then *removes* what is withheld before anything is made:
//! the words never reach the document, so nothing can be uncovered later (in Lambeth v AM a
//! parent lifted an electronic redaction and found who had referred him). An item whose name
//! would repeat a withheld field is named only by its kind ("Action").
//!
//! No I/O and no clock: the relay passes the document, the receipts, the names and the dates.

use super::{Block, Document, Fact, Section};
use crate::record::dates::Day;
use crate::record::history::{self, Received, Who};
use crate::record::labels::section_title;
use automerge::{Automerge, ChangeHash};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// Why something may be withheld from a subject access copy (the Data Protection Act 2018
/// exemptions councils use most for early help records).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// It is about someone else who has not agreed (Schedule 2, Part 3).
    RightsOfOthers,
    /// Social work data whose release would be likely to cause serious harm (Schedule 3,
    /// Part 3).
    SeriousHarm,
    /// Health data not yet checked by a health professional (Schedule 3, Part 2).
    HealthData,
    /// Release would be likely to prejudice preventing or detecting crime (Schedule 2, Part 1).
    Crime,
    /// It would identify someone who gave information in confidence.
    ConfidentialSource,
}

impl Reason {
    pub const ALL: [Reason; 5] = [
        Reason::RightsOfOthers,
        Reason::SeriousHarm,
        Reason::HealthData,
        Reason::Crime,
        Reason::ConfidentialSource,
    ];

    /// The reviewer's choice, short.
    pub fn label(self) -> &'static str {
        match self {
            Reason::RightsOfOthers => "About someone else",
            Reason::SeriousHarm => "Likely to cause serious harm",
            Reason::HealthData => "Health information waiting for a health professional's opinion",
            Reason::Crime => "Would harm preventing or detecting crime",
            Reason::ConfidentialSource => "Would identify a confidential source",
        }
    }

    /// How the cover note explains it to the person.
    pub fn explained(self) -> &'static str {
        match self {
            Reason::RightsOfOthers => {
                "Information about other people, which we cannot give without their agreement."
            }
            Reason::SeriousHarm => {
                "Information that would be likely to cause serious harm to someone's physical \
                 or mental health if we gave it."
            }
            Reason::HealthData => {
                "Health information that a health professional must give their opinion on \
                 before we can give it to you."
            }
            Reason::Crime => "Information that would harm the prevention or detection of crime.",
            Reason::ConfidentialSource => {
                "Information that would identify someone who told us something in confidence."
            }
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::RightsOfOthers => "rights_of_others",
            Reason::SeriousHarm => "serious_harm",
            Reason::HealthData => "health_data",
            Reason::Crime => "crime",
            Reason::ConfidentialSource => "confidential_source",
        }
    }

    pub fn parse(s: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// One piece of the record, as the reviewer sees it and the copy shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Piece {
    /// Where it lives in the record ([`history::Entry::piece`]).
    pub piece: String,
    /// The items it is inside: withholding one withholds everything in it.
    pub within: Vec<String>,
    pub section: String,
    /// How many items deep it is.
    pub depth: usize,
    /// An item's name, or a field's label.
    pub label: String,
    /// For an item, its name without anything written in it.
    pub plain_label: Option<String>,
    /// A field's value; `None` for an item.
    pub value: Option<String>,
    /// Who recorded it last, as people name them ("Jane Smith, Riverside School").
    pub recorded_by: Option<String>,
    /// When (Unix ms, when it reached the shared record).
    pub recorded_at: Option<i64>,
    /// What the reviewer is offered as withheld to begin with.
    pub suggested: Option<Reason>,
}

/// A piece withheld, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WithheldPiece {
    pub piece: String,
    pub reason: Reason,
}

/// Words withheld wherever they appear (a name, an address), and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WithheldWords {
    pub words: String,
    pub reason: Reason,
}

/// What the reviewer decided to withhold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    pub pieces: Vec<WithheldPiece>,
    pub words: Vec<WithheldWords>,
}

/// Limits on a review someone sends: far above any real one, and a bound on the work of
/// finding words.
pub const MAX_WITHHELD_PIECES: usize = 20_000;
pub const MAX_WITHHELD_WORDS: usize = 100;
pub const MAX_WORDS_CHARS: usize = 100;

/// What replaces withheld words in a copy.
pub const WITHHELD: &str = "[withheld]";

impl Review {
    /// Why a review cannot be saved, in words for the reviewer; `None` if it can.
    pub fn problem(&self) -> Option<String> {
        if self.pieces.len() > MAX_WITHHELD_PIECES {
            return Some("Too many pieces are marked. Reload the page and try again.".into());
        }
        if self.words.len() > MAX_WITHHELD_WORDS {
            return Some(format!(
                "Withhold at most {MAX_WITHHELD_WORDS} words or phrases. Withhold whole pieces \
                 instead."
            ));
        }
        for w in &self.words {
            let n = w.words.trim().chars().count();
            if n < 2 {
                return Some("Words to withhold must be at least 2 letters long.".into());
            }
            if n > MAX_WORDS_CHARS {
                return Some(format!(
                    "Words to withhold must be at most {MAX_WORDS_CHARS} letters long. \
                     Withhold the whole piece instead."
                ));
            }
        }
        None
    }

    /// Whether the piece, or the item it is, is withheld as a whole.
    pub fn withholds(&self, piece: &str) -> bool {
        self.pieces.iter().any(|w| w.piece == piece)
    }

    /// The reasons used, each once, in [`Reason::ALL`]'s order.
    pub fn reasons(&self) -> Vec<Reason> {
        let used: HashSet<Reason> = self
            .pieces
            .iter()
            .map(|p| p.reason)
            .chain(self.words.iter().map(|w| w.reason))
            .collect();
        Reason::ALL
            .into_iter()
            .filter(|r| used.contains(r))
            .collect()
    }
}

/// The case as it stood at `heads`, piece by piece, each with who recorded it (names from
/// `name`, for professionals with a receipt). Everyone in the family but `subject` (a person's
/// id) is offered as withheld: their details are someone else's. Professionals acting in
/// their role are not.
pub fn pieces(
    doc: &Automerge,
    heads: &[ChangeHash],
    receipts: &HashMap<ChangeHash, Received>,
    subject: &str,
    name: impl Fn(i64) -> Option<String>,
) -> Vec<Piece> {
    let recorded = recorded(doc, heads, receipts);
    let subject_piece = format!("family/people/{subject}");
    history::read_out(doc, heads)
        .into_iter()
        .map(|e| {
            // A field never changed since its item was added was recorded with the item.
            let last = recorded
                .get(&e.piece)
                .or_else(|| e.within.iter().rev().find_map(|item| recorded.get(item)));
            let (by, at) = match last {
                Some((Who::Professional(p), at)) => (
                    Some(name(*p).unwrap_or_else(|| "Someone no longer on TAC Planner".into())),
                    Some(*at),
                ),
                Some((_, at)) => (Some("Not verified".into()), Some(*at)),
                None => (None, None),
            };
            let someone_else = e.piece.starts_with("family/people/")
                && e.within.is_empty()
                && e.value.is_none()
                && e.piece != subject_piece;
            Piece {
                section: section_title(e.section).to_string(),
                depth: e.depth,
                label: e.label,
                plain_label: e.plain_label,
                value: e.value,
                recorded_by: by,
                recorded_at: at,
                suggested: someone_else.then_some(Reason::RightsOfOthers),
                piece: e.piece,
                within: e.within,
            }
        })
        .collect()
}

/// Who last changed each piece up to `heads`, and when (shared, or typed if never shared).
fn recorded(
    doc: &Automerge,
    heads: &[ChangeHash],
    receipts: &HashMap<ChangeHash, Received>,
) -> HashMap<String, (Who, i64)> {
    let mut out = HashMap::new();
    // A copy at `heads` only when the document has moved on since (it saves and loads it all).
    let mut then = (doc.get_heads() != heads).then(|| history::state_at(doc, heads));
    let doc = match &mut then {
        Some(then) => then.document(),
        None => doc,
    };
    for sitting in history::sittings(doc, receipts, None) {
        let when = sitting.when();
        for row in sitting.rows {
            out.insert(row.piece, (sitting.who.clone(), when));
        }
    }
    out
}

/// The pieces left once the review is applied: withheld pieces and everything inside them
/// gone, items named only by their kind where their name would repeat a withheld field, and
/// withheld words replaced by [`WITHHELD`] in everything that remains.
pub fn redact(pieces: &[Piece], review: &Review) -> Vec<Piece> {
    let withheld: HashSet<&str> = review.pieces.iter().map(|w| w.piece.as_str()).collect();
    // Items with a field of their own withheld: their name may be made from it.
    let plain_named: HashSet<&str> = pieces
        .iter()
        .filter(|p| withheld.contains(p.piece.as_str()))
        .filter_map(|p| p.within.last().map(String::as_str))
        .collect();
    let words: Vec<&str> = review.words.iter().map(|w| w.words.trim()).collect();
    pieces
        .iter()
        .filter(|p| {
            !withheld.contains(p.piece.as_str())
                && !p.within.iter().any(|w| withheld.contains(w.as_str()))
        })
        .map(|p| {
            let mut p = p.clone();
            if plain_named.contains(p.piece.as_str()) || cut_inside(&p.label, &words) {
                if let Some(plain) = &p.plain_label {
                    p.label = plain.clone();
                }
            }
            p.label = remove_words(&p.label, &words);
            p.value = p.value.map(|v| remove_words(&v, &words));
            p.recorded_by = p.recorded_by.map(|v| remove_words(&v, &words));
            p.suggested = None;
            p
        })
        .collect()
}

/// `text` with every occurrence of each of `words` (any case, as whole words) replaced by
/// [`WITHHELD`].
pub fn remove_words(text: &str, words: &[&str]) -> String {
    // Longest first, so "Dave Jones" goes whole before "Dave" could leave "Jones" behind.
    let mut words: Vec<&str> = words
        .iter()
        .map(|w| w.trim())
        .filter(|w| !w.is_empty())
        .collect();
    words.sort_by_key(|w| std::cmp::Reverse(w.chars().count()));
    let mut text = text.to_string();
    for w in words {
        text = remove_one(&text, w);
    }
    text
}

fn remove_one(text: &str, words: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let want: Vec<char> = words.chars().flat_map(char::to_lowercase).collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let starts_word = i == 0 || !chars[i - 1].is_alphanumeric();
        if starts_word {
            if let Some(len) = match_at(&chars[i..], &want) {
                let ends_word = chars.get(i + len).is_none_or(|c| !c.is_alphanumeric());
                if ends_word {
                    out.push_str(WITHHELD);
                    i += len;
                    continue;
                }
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// How many of `chars` match `want` (already lower case) from the start, if they all do.
/// Any run of spaces or line breaks matches any other ("Dave  Jones" is "Dave Jones").
fn match_at(chars: &[char], want: &[char]) -> Option<usize> {
    let mut taken = 0;
    let mut at = 0;
    while at < want.len() {
        if want[at].is_whitespace() {
            if !chars.get(taken)?.is_whitespace() {
                return None;
            }
            while chars.get(taken).is_some_and(|c| c.is_whitespace()) {
                taken += 1;
            }
            while want.get(at).is_some_and(|c| c.is_whitespace()) {
                at += 1;
            }
            continue;
        }
        let c = chars.get(taken)?;
        for l in c.to_lowercase() {
            if want.get(at) != Some(&l) {
                return None;
            }
            at += 1;
        }
        taken += 1;
    }
    Some(taken)
}

/// Whether a label shortened with "…" ends in the start of one of `words`: the rest was cut
/// off before it could be found, so the label must not be shown as it is.
fn cut_inside(label: &str, words: &[&str]) -> bool {
    let Some(before) = label.trim_end_matches('\u{201d}').strip_suffix('\u{2026}') else {
        return false;
    };
    let before: Vec<char> = before.chars().flat_map(char::to_lowercase).collect();
    words.iter().any(|w| {
        let w: Vec<char> = w.trim().chars().flat_map(char::to_lowercase).collect();
        (1..w.len()).any(|k| before.ends_with(&w[..k]))
    })
}

/// What the cover note says about the request and the case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cover {
    /// The person the copy is about, as the case names them.
    pub subject: String,
    pub received: String,
    pub answer_by: String,
    /// The day the copy was made.
    pub made_on: String,
    /// The children the case is about.
    pub children: Vec<String>,
    /// Organisations the person's information has been shared with.
    pub recipients: Vec<String>,
    /// What was withheld, and why (reasons only: where would say too much).
    pub withheld: Vec<Reason>,
}

/// The copy as JSON: the cover note and the record, entry by entry, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Export {
    pub cover: Cover,
    pub cover_note: Vec<Section>,
    pub record: Vec<ExportEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportEntry {
    pub section: String,
    /// The item it belongs to, if any.
    pub item: Option<String>,
    /// A field's label (or the item's name, for the item itself).
    pub label: String,
    pub value: Option<String>,
    pub recorded_by: Option<String>,
    pub recorded_on: Option<String>,
}

/// The cover note: what was asked and searched, who has the information, how long it is
/// kept, what was withheld, and the person's rights.
pub fn cover_note(cover: &Cover) -> Vec<Section> {
    let para = |t: &str| Block::Paragraph { text: t.into() };
    let about = if cover.children.is_empty() {
        "the early help case".to_string()
    } else {
        format!("the early help case for {}", cover.children.join(" and "))
    };
    let mut sections = vec![
        Section {
            heading: "About this copy".into(),
            blocks: vec![
                Block::Item {
                    heading: String::new(),
                    facts: vec![
                        Fact::new("Information about", cover.subject.clone()),
                        Fact::new("Request received", cover.received.clone()),
                        Fact::new("We must answer by", cover.answer_by.clone()),
                        Fact::new("Copy made", cover.made_on.clone()),
                    ],
                },
                para(&format!(
                    "You asked for a copy of the information we hold about you. This copy is \
                     everything recorded about you in {about} in TAC Planner, the system the \
                     professionals helping your family share, as it stood when we checked it. \
                     It is set out as it happened, oldest first, with who recorded each part."
                )),
                para(
                    "We searched the whole case: the family's details, consent, the assessment, \
                     the plan, meetings and reviews, the lead professional, any request for \
                     support, any disagreement between services, and the case closing. Each \
                     service working with your family also keeps its own records: ask them for \
                     those.",
                ),
            ],
        },
        Section {
            heading: "Why we hold it, and where it came from".into(),
            blocks: vec![
                para(
                    "We use this information to give your family early help: to understand what \
                     is going well and what worries people, to agree a plan with you, to check \
                     how it is going, and to keep children safe.",
                ),
                para(
                    "It includes names, contact details and dates of birth; what was said and \
                     seen; health, education and family circumstances; and decisions about \
                     sharing information.",
                ),
                para(
                    "It came from you and your family, and from the professionals working with \
                     you (for example school, health visiting, police or the council), who \
                     recorded it in the case.",
                ),
            ],
        },
        Section {
            heading: "Who has this information".into(),
            blocks: vec![
                para("Information in the case is shared with the services helping your family:"),
                Block::Bullets {
                    items: if cover.recipients.is_empty() {
                        vec!["No other services are recorded.".into()]
                    } else {
                        cover.recipients.clone()
                    },
                },
            ],
        },
        Section {
            heading: "How long we keep it".into(),
            blocks: vec![para(
                "We keep early help records for a fixed time after the case closes, set by our \
                 retention schedule, and then delete them. For records about a child this is \
                 usually until the child is 25. Ask us for the schedule if you want the exact \
                 date.",
            )],
        },
    ];
    let withheld = if cover.withheld.is_empty() {
        vec![para("We have not withheld anything from this copy.")]
    } else {
        vec![
            para(
                "We have left some information out of this copy. The law allows this for \
                 these reasons:",
            ),
            Block::Bullets {
                items: cover
                    .withheld
                    .iter()
                    .map(|r| r.explained().to_string())
                    .collect(),
            },
            para(&format!(
                "Where we left words out of a sentence, it shows {WITHHELD}. You can ask us \
                 to look at this again."
            )),
        ]
    };
    sections.push(Section {
        heading: "What we have left out".into(),
        blocks: withheld,
    });
    sections.push(Section {
        heading: "Your rights".into(),
        blocks: vec![Block::Bullets {
            items: vec![
                "You can ask us to correct anything that is wrong.".into(),
                "You can ask us to delete information, to limit how we use it, or object to \
                 us using it. We cannot always do this, for example where we need it to keep \
                 a child safe."
                    .into(),
                "You can complain to us, and then to the Information Commissioner's Office: \
                     ico.org.uk/make-a-complaint or 0303 123 1113."
                    .into(),
            ],
        }],
    });
    sections
}

/// A group of the record told together: a section's own fields, or one item and what is in
/// it; dated by the first time any of it was recorded.
struct Part<'a> {
    heading: String,
    pieces: Vec<&'a Piece>,
    first: Option<i64>,
}

/// The record, grouped and in the order it was first recorded ("their story"). Parts never
/// recorded through the relay keep the record's order, at the start.
fn parts(pieces: &[Piece]) -> Vec<Part<'_>> {
    let mut parts: Vec<Part<'_>> = Vec::new();
    for p in pieces {
        let starts = match parts.last() {
            None => true,
            Some(last) => {
                let first = last.pieces[0];
                let same_section = first.section == p.section;
                let own_fields = first.value.is_some() && first.depth == 0;
                if !same_section {
                    true
                } else if p.depth == 0 && p.value.is_none() {
                    // A new top-level item.
                    true
                } else {
                    // A section's own fields only continue with more of its own fields.
                    own_fields && !(p.depth == 0 && p.value.is_some())
                }
            }
        };
        if starts {
            parts.push(Part {
                heading: p.section.clone(),
                pieces: Vec::new(),
                first: None,
            });
        }
        let part = parts.last_mut().expect("a part was started");
        part.pieces.push(p);
        part.first = match (part.first, p.recorded_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    // Stable: parts recorded at the same moment keep the record's order.
    parts.sort_by_key(|p| p.first.unwrap_or(i64::MIN));
    parts
}

fn when(ms: i64) -> String {
    crate::record::dates::uk_day(ms).in_words()
}

fn recorded_line(p: &Piece) -> Option<String> {
    match (&p.recorded_by, p.recorded_at) {
        (Some(by), Some(at)) => Some(format!("{by}, {}", when(at))),
        (Some(by), None) => Some(by.clone()),
        (None, Some(at)) => Some(when(at)),
        (None, None) => None,
    }
}

/// The copy, from pieces already [`redact`]ed: as a document to draw, and as JSON.
pub fn build(cover: &Cover, redacted: &[Piece]) -> (Document, Export) {
    let cover_sections = cover_note(cover);
    let mut sections = cover_sections.clone();
    let mut record = Vec::new();
    for part in parts(redacted) {
        let mut blocks = Vec::new();
        let mut item: Option<(String, Vec<Fact>)> = None;
        let flush = |item: &mut Option<(String, Vec<Fact>)>, blocks: &mut Vec<Block>| {
            if let Some((heading, facts)) = item.take() {
                blocks.push(Block::Item { heading, facts });
            }
        };
        let mut current_item: Option<String> = None;
        // Who recorded what is said once per item, and again only where a field differs.
        let mut said: Option<String> = None;
        for p in &part.pieces {
            let recorded = recorded_line(p);
            if p.value.is_none() {
                flush(&mut item, &mut blocks);
                let mut facts = Vec::new();
                if let Some(r) = &recorded {
                    facts.push(Fact::new("Recorded by", r.clone()));
                }
                item = Some((p.label.clone(), facts));
                current_item = Some(p.label.clone());
                said = recorded;
            } else {
                let value = p.value.clone().unwrap_or_default();
                let shown = match &recorded {
                    Some(r) if said.as_ref() != Some(r) => format!("{value}\n(Recorded by {r})"),
                    _ => value,
                };
                if said.is_none() {
                    said = recorded.clone();
                }
                match &mut item {
                    Some((_, facts)) => facts.push(Fact::new(&p.label, shown)),
                    None => item = Some((String::new(), vec![Fact::new(&p.label, shown)])),
                }
            }
            record.push(ExportEntry {
                section: p.section.clone(),
                item: if p.value.is_some() {
                    current_item.clone()
                } else {
                    None
                },
                label: p.label.clone(),
                value: p.value.clone(),
                recorded_by: p.recorded_by.clone(),
                recorded_on: p.recorded_at.map(when),
            });
        }
        flush(&mut item, &mut blocks);
        // Parts of one section told one after another share its heading.
        let told = sections.len() > cover_sections.len();
        match sections.last_mut() {
            Some(last) if told && last.heading == part.heading => last.blocks.extend(blocks),
            _ => sections.push(Section {
                heading: part.heading,
                blocks,
            }),
        }
    }
    if redacted.is_empty() {
        sections.push(Section {
            heading: "Your record".into(),
            blocks: vec![Block::Paragraph {
                text: "There is nothing we can give you from this case.".into(),
            }],
        });
    }
    let document = Document {
        title: format!("Information we hold about {}", cover.subject),
        subtitle: format!(
            "A copy made on {} in answer to your request of {}",
            cover.made_on, cover.received
        ),
        sections,
    };
    let export = Export {
        cover: cover.clone(),
        cover_note: cover_sections,
        record,
    };
    (document, export)
}

/// Where a request has got to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Someone is marking what to withhold.
    Reviewing,
    /// The review is done; a second person must approve it.
    AwaitingApproval,
    /// Approved: the copy can be made.
    Approved,
    /// The copy has been made at least once.
    Released,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Reviewing => "reviewing",
            Status::AwaitingApproval => "awaiting_approval",
            Status::Approved => "approved",
            Status::Released => "released",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        [
            Status::Reviewing,
            Status::AwaitingApproval,
            Status::Approved,
            Status::Released,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }

    /// For people: "Being reviewed".
    pub fn label(self) -> &'static str {
        match self {
            Status::Reviewing => "Being reviewed",
            Status::AwaitingApproval => "Waiting for approval",
            Status::Approved => "Approved to send",
            Status::Released => "Copy made",
        }
    }
}

/// A subject access request on a case, as the relay keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub id: i64,
    /// The person in the case the request is about (their id in the case).
    pub person_id: String,
    /// `YYYY-MM-DD`.
    pub received_on: String,
    /// `YYYY-MM-DD`: [`answer_by`].
    pub answer_by: String,
    pub extended: bool,
    pub status: Status,
    pub review: Review,
    pub opened_by: i64,
    pub reviewed_by: Option<i64>,
    pub approved_by: Option<i64>,
    /// Unix ms of the first copy made.
    pub released_at: Option<i64>,
}

/// The case piece by piece, and the heads (the case's version) they were read at: a review
/// is sent for approval with these, so the copy holds exactly what the reviewer saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PiecesAt {
    pub heads: Vec<String>,
    pub pieces: Vec<Piece>,
}

/// Sending a review for approval: the heads of the pieces reviewed ([`PiecesAt::heads`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submit {
    pub heads: Vec<String>,
}

/// Approving a review: what the approver saw (the case's version and the review), so a review
/// changed meanwhile is not approved unseen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approve {
    pub heads: Vec<String>,
    pub review: Review,
}

/// Recording a new request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewRequest {
    pub person_id: String,
    /// `YYYY-MM-DD`.
    pub received_on: String,
}

/// When a request received on `received` must be answered: a calendar month later, or three
/// with an extension for a complex request; moved to the next weekday if it falls on a
/// weekend (bank holidays are not known here).
pub fn answer_by(received: Day, extended: bool) -> Day {
    let mut due = received.add_months(if extended { 3 } else { 1 });
    while due.is_weekend() {
        due = Day::from_days(due.days() + 1);
    }
    due
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_removed_as_whole_words_in_any_case() {
        let words = ["Dave Jones", "Al"];
        assert_eq!(
            remove_words(
                "Mum said DAVE JONES shouted. Dave Jones's van; Alan and Al.",
                &words
            ),
            "Mum said [withheld] shouted. [withheld]'s van; Alan and [withheld]."
        );
        assert_eq!(remove_words("Dave Jonesy", &words), "Dave Jonesy");
        // The longer phrase first, whatever order they were given in; any spacing.
        assert_eq!(
            remove_words(
                "Dave  Jones and\nDave Jones and Dave",
                &["Dave", "Dave Jones"]
            ),
            "[withheld] and\n[withheld] and [withheld]"
        );
    }

    #[test]
    fn a_label_cut_short_inside_withheld_words_is_not_shown() {
        let label = "Action \u{201c}Keep Sam away from Dave Jo\u{2026}\u{201d}";
        assert!(cut_inside(label, &["Dave Jones"]));
        assert!(!cut_inside(label, &["Sam Smith"]));
        assert!(!cut_inside("Action \u{201c}Visit\u{201d}", &["Dave Jones"]));
    }

    #[test]
    fn a_request_is_answered_a_month_later_on_a_weekday() {
        let d = |s| Day::parse(s).unwrap();
        // 26 December 2026 is a Saturday: the Monday after.
        assert_eq!(answer_by(d("2026-11-26"), false), d("2026-12-28"));
        // 28 February 2027 (the end of the shorter month) is a Sunday.
        assert_eq!(answer_by(d("2027-01-31"), false), d("2027-03-01"));
        assert_eq!(answer_by(d("2026-11-26"), true), d("2027-02-26"));
    }
}
