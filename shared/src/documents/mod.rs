//! Documents that leave the system, as plain structured text: what they say, decided once
//! here, and drawn by whoever shows them (the app as a printable page, the relay as a PDF).
//!
//! - [`family_plan`]: the family's own copy of their plan, in plain words.
//! - [`referral`]: a request for support to the MASH, its completeness rules, and sending it.
//! - [`subject_access`]: a person's copy of what the case holds about them, with redaction.
//! - [`plain`]: abbreviations spelled out where a family reads them.

pub mod family_plan;
pub mod plain;
pub mod referral;
pub mod subject_access;

use serde::{Deserialize, Serialize};

/// A document: a title, a line under it, and sections in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    pub title: String,
    pub subtitle: String,
    pub sections: Vec<Section>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    pub heading: String,
    pub blocks: Vec<Block>,
}

/// A label and what it says, e.g. "By when" and "3 March 2027".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fact {
    pub label: String,
    pub value: String,
}

impl Fact {
    pub fn new(label: &str, value: impl Into<String>) -> Fact {
        Fact {
            label: label.into(),
            value: value.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Block {
    /// A paragraph (line breaks kept).
    Paragraph { text: String },
    /// A heading inside a section.
    Subheading { text: String },
    /// A list of points.
    Bullets { items: Vec<String> },
    /// One thing described by facts, e.g. a person helping, or an action.
    Item { heading: String, facts: Vec<Fact> },
}

/// Limits on a document someone sends to be drawn (the relay's PDF): far above any real plan.
pub const MAX_TEXT_BYTES: usize = 512 * 1024;
pub const MAX_BLOCKS: usize = 5_000;

impl Document {
    /// Every piece of text in the document, in reading order.
    pub fn texts(&self) -> Vec<&str> {
        let mut out = vec![self.title.as_str(), self.subtitle.as_str()];
        for s in &self.sections {
            out.push(&s.heading);
            for b in &s.blocks {
                match b {
                    Block::Paragraph { text } | Block::Subheading { text } => out.push(text),
                    Block::Bullets { items } => out.extend(items.iter().map(String::as_str)),
                    Block::Item { heading, facts } => {
                        out.push(heading);
                        for f in facts {
                            out.push(&f.label);
                            out.push(&f.value);
                        }
                    }
                }
            }
        }
        out
    }

    /// Whether the document is small enough to draw.
    pub fn within_limits(&self) -> bool {
        // Every piece counts: a block, each point of a list, each fact.
        let blocks: usize = self
            .sections
            .iter()
            .flat_map(|s| &s.blocks)
            .map(|b| match b {
                Block::Bullets { items } => items.len() + 1,
                Block::Item { facts, .. } => facts.len() + 1,
                _ => 1,
            })
            .sum::<usize>()
            + self.sections.len();
        let bytes: usize = self.texts().iter().map(|t| t.len()).sum();
        blocks <= MAX_BLOCKS && bytes <= MAX_TEXT_BYTES
    }

    /// All the text, one piece per line: for tests, and to compare with a PDF read back.
    pub fn plain_text(&self) -> String {
        self.texts().join("\n")
    }

    /// Applies `f` to every piece of text a reader sees (not the labels' structure).
    fn map_texts(&mut self, mut f: impl FnMut(&str) -> String) {
        for s in &mut self.sections {
            for b in &mut s.blocks {
                match b {
                    Block::Paragraph { text } | Block::Subheading { text } => *text = f(text),
                    Block::Bullets { items } => {
                        for i in items {
                            *i = f(i);
                        }
                    }
                    Block::Item { heading, facts } => {
                        *heading = f(heading);
                        for fact in facts {
                            fact.value = f(&fact.value);
                        }
                    }
                }
            }
        }
    }
}
