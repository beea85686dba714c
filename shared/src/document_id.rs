//! Document ids as automerge-repo spells them, so any automerge-repo peer can name our cases.

use std::fmt;
use std::str::FromStr;

/// The prefix of an automerge-repo document URL.
pub const URL_PREFIX: &str = "automerge:";

/// A document's id: 16 random bytes, written as bs58check (automerge-repo's form).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocumentId([u8; 16]);

/// A string that is not a document id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a document id")]
pub struct BadDocumentId;

impl DocumentId {
    /// A fresh random id (UUID v4 bytes, as automerge-repo makes them).
    pub fn random() -> Self {
        Self(*uuid::Uuid::new_v4().as_bytes())
    }

    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// `automerge:<id>`, the form automerge-repo puts in links.
    pub fn to_url(&self) -> String {
        format!("{URL_PREFIX}{self}")
    }
}

impl fmt::Display for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&bs58::encode(&self.0).with_check().into_string())
    }
}

impl fmt::Debug for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DocumentId({self})")
    }
}

impl FromStr for DocumentId {
    type Err = BadDocumentId;

    /// Accepts a bare id or an `automerge:` URL (with an optional `#heads` suffix).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.strip_prefix(URL_PREFIX).unwrap_or(s);
        let s = s.split('#').next().unwrap_or(s);
        let bytes = bs58::decode(s)
            .with_check(None)
            .into_vec()
            .map_err(|_| BadDocumentId)?;
        let bytes: [u8; 16] = bytes.try_into().map_err(|_| BadDocumentId)?;
        Ok(Self(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_text_and_url() {
        let id = DocumentId::random();
        assert_eq!(id.to_string().parse::<DocumentId>(), Ok(id));
        assert_eq!(id.to_url().parse::<DocumentId>(), Ok(id));
        assert!(id.to_url().starts_with("automerge:"));
    }

    #[test]
    fn rejects_garbage_and_bad_checksums() {
        assert_eq!("hello".parse::<DocumentId>(), Err(BadDocumentId));
        assert_eq!("".parse::<DocumentId>(), Err(BadDocumentId));
        let mut s = DocumentId::random().to_string();
        let last = s.pop().unwrap();
        s.push(if last == '2' { '3' } else { '2' });
        assert_eq!(s.parse::<DocumentId>(), Err(BadDocumentId));
    }
}
