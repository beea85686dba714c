//! Keeping a person's caret where they are typing while others edit the same text.
//!
//! Positions are UTF-16 code units (automerge's `utf16-indexing`), as the DOM counts them.
//! A caret is remembered as a pair of Automerge cursors, which name characters rather than
//! offsets, so it survives inserts and deletes elsewhere in the text.

use automerge::{AutoCommit, Cursor, CursorPosition, ObjId, ReadDoc};

/// A remembered selection (start and end), valid across concurrent edits.
#[derive(Debug, Clone, PartialEq)]
pub struct Caret {
    start: Cursor,
    end: Cursor,
}

fn cursor_at(doc: &AutoCommit, obj: &ObjId, pos: usize) -> Option<Cursor> {
    let len = doc.length(obj);
    let at = if pos >= len {
        CursorPosition::End
    } else {
        CursorPosition::Index(pos)
    };
    doc.get_cursor(obj, at, None).ok()
}

impl Caret {
    /// Remembers the selection `start..end` in a text object.
    pub fn in_text(doc: &AutoCommit, obj: &ObjId, start: usize, end: usize) -> Option<Caret> {
        Some(Caret {
            start: cursor_at(doc, obj, start)?,
            end: cursor_at(doc, obj, end)?,
        })
    }

    /// Where the remembered selection is now in that text object.
    pub fn resolve_in(&self, doc: &AutoCommit, obj: &ObjId) -> Option<(usize, usize)> {
        let start = doc.get_cursor_position(obj, &self.start, None).ok()?;
        let end = doc.get_cursor_position(obj, &self.end, None).ok()?;
        Some((start, end.max(start)))
    }
}

/// The smallest single replacement that turns `old` into `new`: `(start, end, text)` in UTF-16
/// units, so a field can be updated in place (keeping undo history) instead of reset.
pub fn splice(old: &str, new: &str) -> (usize, usize, String) {
    let a: Vec<u16> = old.encode_utf16().collect();
    let b: Vec<u16> = new.encode_utf16().collect();
    let mut prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    // Never split a surrogate pair.
    if prefix > 0 && prefix < a.len() && (0xDC00..0xE000).contains(&a[prefix]) {
        prefix -= 1;
    }
    let max_suffix = a.len().min(b.len()) - prefix;
    let mut suffix = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take(max_suffix)
        .take_while(|(x, y)| x == y)
        .count();
    if suffix > 0 && (0xDC00..0xE000).contains(&a[a.len() - suffix]) {
        suffix -= 1;
    }
    let replacement = String::from_utf16_lossy(&b[prefix..b.len() - suffix]);
    (prefix, a.len() - suffix, replacement)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::{Case, Field};
    use automerge::{ObjType, Value, ROOT};

    fn concerns(doc: &AutoCommit) -> ObjId {
        match doc.get(ROOT, Field::Concerns.key()).unwrap() {
            Some((Value::Object(ObjType::Text), id)) => id,
            other => panic!("no text object: {other:?}"),
        }
    }

    fn doc_with(text: &str) -> AutoCommit {
        let mut doc = Case::new("Sam").into_document().unwrap();
        Field::Concerns.write(&mut doc, text).unwrap();
        doc
    }

    #[test]
    fn the_caret_stays_with_the_words_around_it() {
        let mut mine = doc_with("Tired. Late.");
        let mut theirs = mine.fork();
        // I am typing after "Tired." (position 6).
        let caret = Caret::in_text(&mine, &concerns(&mine), 6, 6).unwrap();
        // Someone inserts before my caret and appends after it.
        Field::Concerns
            .write(&mut theirs, "Often tired. Late. Hungry.")
            .unwrap();
        mine.merge(&mut theirs).unwrap();
        let text = Field::Concerns.read(&Case::from_document(&mine).unwrap());
        let (s, e) = caret.resolve_in(&mine, &concerns(&mine)).unwrap();
        let before: String = text
            .encode_utf16()
            .take(s)
            .map(|u| u as u8 as char)
            .collect();
        assert_eq!(before, "Often tired.");
        assert_eq!((s, e), (12, 12));
    }

    #[test]
    fn a_caret_at_the_end_stays_at_the_end() {
        let mut mine = doc_with("Tired.");
        let caret = Caret::in_text(&mine, &concerns(&mine), 6, 6).unwrap();
        let mut theirs = mine.fork();
        Field::Concerns.write(&mut theirs, "Very tired.").unwrap();
        mine.merge(&mut theirs).unwrap();
        assert_eq!(caret.resolve_in(&mine, &concerns(&mine)), Some((11, 11)));
    }

    #[test]
    fn splice_finds_the_minimal_change_in_utf16() {
        assert_eq!(splice("abc", "abXc"), (2, 2, "X".into()));
        assert_eq!(splice("abc", "ac"), (1, 2, String::new()));
        assert_eq!(splice("same", "same"), (4, 4, String::new()));
        // "é" and emoji: offsets count UTF-16 units like the DOM.
        assert_eq!(splice("é😀a", "é😀ba"), (3, 3, "b".into()));
        let (s, e, r) = splice("a😀", "a😁");
        assert_eq!((s, e, r.as_str()), (1, 3, "😁"));
    }
}
