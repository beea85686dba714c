//! Who wrote a change, as far as anyone can vouch for it.
//!
//! An Automerge change carries an actor id and, since automerge 0.12, an optional *author*:
//! both are whatever the writing device says. So the app sets the author to the signed-in
//! professional's opaque id ([`author_of`], `p<id>`, never a name or email, which would stay in
//! the history for ever) once per session before any edit, and the relay checks every change a
//! connection brings that it does not hold yet ([`judge`]): the author must be the sender, and
//! the actor must not belong to someone else. What it accepts it writes in a receipt journal
//! (change, professional, when it reached the shared record), and that journal, not the bytes,
//! is what the history trusts. Changes from before the journal have no receipt and read as "not
//! verified", never as anyone's.

use crate::untrusted::Rejected;
use automerge::{ActorId, Author, Change, ChangeHash};

/// The author bytes for a professional: `p` and their id, as in their peer ids.
pub fn author_of(professional: i64) -> Author<'static> {
    Author::from(format!("p{professional}").into_bytes())
}

/// The professional an author names, if it is one of ours.
pub fn professional_of(author: &Author<'_>) -> Option<i64> {
    let text = std::str::from_utf8(author.as_bytes()).ok()?;
    professional_id(text.strip_prefix('p')?)
}

/// The professional a peer id (`p<id>-<anything>`) belongs to; the relay binds peer ids to
/// sessions, so a signed-in client's peer id says whose edits it makes.
pub fn professional_of_peer(peer_id: &str) -> Option<i64> {
    let (digits, _) = peer_id.strip_prefix('p')?.split_once('-')?;
    professional_id(digits)
}

/// Decimal digits without a leading zero, so each id has one spelling.
fn professional_id(digits: &str) -> Option<i64> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.starts_with('0') {
        return None;
    }
    digits.parse().ok()
}

/// What a change says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub hash: ChangeHash,
    pub actor: ActorId,
    /// Its number among the actor's changes, from 1.
    pub seq: u64,
    /// The author's raw bytes, if the change names one. Automerge writes the author into an
    /// actor's first change only; the actor's later changes are the same author's.
    pub author: Option<Vec<u8>>,
    /// The device's clock when the change was made, in milliseconds (0 if it did not say).
    pub time: i64,
}

impl Claim {
    fn of(change: &Change) -> Self {
        Self {
            hash: change.hash(),
            actor: change.actor_id().clone(),
            seq: change.seq(),
            author: change.author().map(|a| a.as_bytes().to_vec()),
            time: change.timestamp(),
        }
    }
}

/// Every change carried by chunks as a sync message holds them: each entry is one or more
/// Automerge chunks back to back (automerge 0.12 joins a message's changes into one entry):
/// changes (compressed or not), bundles of changes, or a whole document (how automerge catches
/// up a peer that has little). The bytes must already have passed [`crate::untrusted`]'s
/// checks; a panic is still caught here, since these are other decoder paths.
pub fn claims_in<'a>(entries: impl IntoIterator<Item = &'a [u8]>) -> Result<Vec<Claim>, Rejected> {
    let mut claims = Vec::new();
    for entry in entries {
        for chunk in chunks(entry)? {
            claims.extend(guarded(|| claims_of_chunk(chunk))??);
        }
    }
    Ok(claims)
}

/// Chunk types, from the header byte after magic and checksum.
const DOCUMENT: u8 = 0;
const CHANGE: u8 = 1;
const COMPRESSED_CHANGE: u8 = 2;
const BUNDLE: u8 = 3;

fn claims_of_chunk(chunk: &[u8]) -> Result<Vec<Claim>, Rejected> {
    let bad = |e: &dyn std::fmt::Display| Rejected(format!("a change could not be read: {e}"));
    match chunk[8] {
        CHANGE | COMPRESSED_CHANGE => {
            let change = Change::try_from(chunk).map_err(|e| bad(&e))?;
            Ok(vec![Claim::of(&change)])
        }
        BUNDLE => {
            let bundle = automerge::Bundle::try_from(chunk).map_err(|e| bad(&e))?;
            let changes = bundle.to_changes().map_err(|e| bad(&e))?;
            Ok(changes.iter().map(Claim::of).collect())
        }
        DOCUMENT => {
            let doc = automerge::Automerge::load(chunk).map_err(|e| bad(&e))?;
            Ok(doc.get_changes(&[]).iter().map(Claim::of).collect())
        }
        other => Err(Rejected(format!("unknown chunk type {other}"))),
    }
}

/// Splits back-to-back chunks by their headers: magic (4), checksum (4), type (1), body length
/// (LEB128), body.
fn chunks(mut bytes: &[u8]) -> Result<Vec<&[u8]>, Rejected> {
    const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
    let cut = || Rejected("a chunk is cut short".into());
    let mut out = Vec::new();
    while !bytes.is_empty() {
        if bytes.get(..4) != Some(&MAGIC[..]) || bytes.len() < 10 {
            return Err(Rejected("not an Automerge chunk".into()));
        }
        let mut at = 9;
        let mut len: u64 = 0;
        for shift in (0..64).step_by(7) {
            let byte = *bytes.get(at).ok_or_else(cut)?;
            at += 1;
            len |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                break;
            }
        }
        let end = usize::try_from(len)
            .ok()
            .and_then(|l| at.checked_add(l))
            .filter(|&end| end <= bytes.len())
            .ok_or_else(cut)?;
        out.push(&bytes[..end]);
        bytes = &bytes[end..];
    }
    Ok(out)
}

#[cfg(not(target_arch = "wasm32"))]
fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, Rejected> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .map_err(|_| Rejected("the decoder failed on a change".into()))
}

#[cfg(target_arch = "wasm32")]
fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, Rejected> {
    Ok(f())
}

/// Why a change was refused. Ids only.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("change {hash} names another author")]
    AuthorIsSomeoneElse { hash: ChangeHash },
    #[error("change {hash} is written under an actor that belongs to professional {owner}")]
    ActorIsSomeoneElse { hash: ChangeHash, owner: i64 },
}

impl Refusal {
    /// The audit outcome word.
    pub fn outcome(&self) -> &'static str {
        match self {
            Refusal::AuthorIsSomeoneElse { .. } => "author_not_sender",
            Refusal::ActorIsSomeoneElse { .. } => "actor_not_sender",
        }
    }
}

/// The relay's verdict on one change a connection brought.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The sender's own: journal it (and bind its actor to the sender if it is new).
    Receipt,
    /// Received before and journalled then (a device refilling a relay that lost it): let it
    /// through; its receipt stands as it was.
    Known,
    Refused(Refusal),
}

/// Judges a change the relay does not hold, sent by `sender`. `actor_owner` is whom the
/// journal binds the change's actor to, if anyone; `received_from` is who delivered this very
/// change before, if the journal has it.
///
/// An actor's first change names its author; its later changes name none and are judged by
/// whom the journal bound the actor to. A change of an actor nobody is bound to binds it to the
/// sender: old app versions wrote no author, and their offline edits must still arrive. The
/// journal, not the author field, then says whose it is.
pub fn judge(
    sender: i64,
    claim: &Claim,
    actor_owner: Option<i64>,
    received_from: Option<i64>,
) -> Verdict {
    if received_from.is_some() {
        return Verdict::Known;
    }
    if let Some(author) = &claim.author {
        if professional_of(&Author::from(author.as_slice())) != Some(sender) {
            return Verdict::Refused(Refusal::AuthorIsSomeoneElse { hash: claim.hash });
        }
    }
    match actor_owner {
        Some(owner) if owner != sender => Verdict::Refused(Refusal::ActorIsSomeoneElse {
            hash: claim.hash,
            owner,
        }),
        _ => Verdict::Receipt,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::AutoCommit;

    fn doc_by(author: Option<i64>) -> AutoCommit {
        let mut doc = AutoCommit::new();
        doc.set_author(author.map(author_of));
        doc
    }

    #[test]
    fn an_author_names_a_professional_and_nothing_else() {
        assert_eq!(professional_of(&author_of(42)), Some(42));
        for other in ["p", "p04", "q42", "p4x", "p-1", "Tom Teacher"] {
            assert_eq!(
                professional_of(&Author::from(other.as_bytes())),
                None,
                "{other}"
            );
        }
    }

    #[test]
    fn claims_are_read_from_change_chunks_and_whole_documents() {
        let mut doc = doc_by(Some(7));
        doc.put(automerge::ROOT, "a", 1).unwrap();
        doc.commit();
        doc.put(automerge::ROOT, "b", 2).unwrap();
        let changes: Vec<Vec<u8>> = doc
            .get_changes(&[])
            .iter()
            .map(|c| c.raw_bytes().to_vec())
            .collect();
        let from_changes = claims_in(changes.iter().map(Vec::as_slice)).unwrap();
        // As automerge's sync sends them: joined in one entry.
        assert_eq!(
            claims_in([changes.concat().as_slice()]).unwrap(),
            from_changes
        );
        let whole = doc.save();
        let from_doc = claims_in([whole.as_slice()]).unwrap();
        assert_eq!(from_changes.len(), 2);
        assert_eq!(from_changes, from_doc);
        assert_eq!(from_doc[0].author.as_deref(), Some(b"p7".as_slice()));
        assert_eq!((from_doc[1].seq, from_doc[1].author.as_deref()), (2, None));
        assert_eq!(from_doc[0].actor, from_doc[1].actor);
        assert!(claims_in([b"nonsense".as_slice()]).is_err());
        assert!(claims_in([&whole[..whole.len() - 1]]).is_err());
    }

    #[test]
    fn only_the_senders_own_changes_are_accepted() {
        let mut doc = doc_by(Some(7));
        doc.put(automerge::ROOT, "a", 1).unwrap();
        let own = claims_in([doc.save().as_slice()]).unwrap().remove(0);
        assert_eq!(judge(7, &own, None, None), Verdict::Receipt);
        assert_eq!(judge(7, &own, Some(7), None), Verdict::Receipt);
        // Someone else sending 7's change: refused, unless the journal already has it.
        assert_eq!(
            judge(8, &own, None, None),
            Verdict::Refused(Refusal::AuthorIsSomeoneElse { hash: own.hash })
        );
        assert_eq!(judge(8, &own, Some(7), Some(7)), Verdict::Known);

        // No author (an old app): fine for a new actor or the actor's owner, not for another.
        let mut old = doc_by(None);
        old.put(automerge::ROOT, "a", 1).unwrap();
        let unsigned = claims_in([old.save().as_slice()]).unwrap().remove(0);
        assert_eq!(judge(8, &unsigned, None, None), Verdict::Receipt);
        assert_eq!(judge(8, &unsigned, Some(8), None), Verdict::Receipt);
        assert_eq!(
            judge(8, &unsigned, Some(7), None),
            Verdict::Refused(Refusal::ActorIsSomeoneElse {
                hash: unsigned.hash,
                owner: 7
            })
        );
    }
}
