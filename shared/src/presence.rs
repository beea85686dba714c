//! Presence: who has a case open, where they are in it and whether they are typing.
//!
//! Sent as the sync protocol's ephemeral messages, through the relay to the others who have
//! the case open, and never stored anywhere. Each open case announces itself every
//! [`HEARTBEAT_MS`] and whenever the person moves or starts typing; someone not heard from for
//! [`GONE_AFTER_MS`] (a closed laptop, a dropped connection) has left. Times are milliseconds on
//! the receiver's own clock, so clocks need not agree.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// How often an open case says it is still open.
pub const HEARTBEAT_MS: f64 = 3_000.0;
/// Someone not heard from for this long has left.
pub const GONE_AFTER_MS: f64 = 10_000.0;
/// Presence is a few short strings; anything bigger is not presence.
const MAX_BYTES: usize = 2_048;

/// One person's presence in one case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presence {
    pub professional_id: i64,
    pub name: String,
    pub agency: String,
    /// The part of the case on their screen, e.g. "assessment" or "meeting".
    pub section: String,
    /// The field their cursor is in (its element id), if any.
    pub field: Option<String>,
    /// They typed within the last couple of seconds.
    pub typing: bool,
    /// They are closing the case: forget them now rather than after the timeout.
    #[serde(default)]
    pub leaving: bool,
}

impl Presence {
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("presence serialises")
    }

    /// `None` for anything that is not a presence message of a sane size.
    pub fn decode(bytes: &[u8]) -> Option<Presence> {
        if bytes.len() > MAX_BYTES {
            return None;
        }
        serde_json::from_slice(bytes).ok()
    }
}

/// Who else is here, by the connection (peer) they speak from: one person may have the case
/// open on two devices.
#[derive(Debug, Default, Clone)]
pub struct PresenceBook {
    peers: HashMap<String, (Presence, f64)>,
}

impl PresenceBook {
    /// A message arrived from `peer` at `now`. Returns whether what is shown changes.
    pub fn heard(&mut self, peer: &str, presence: Presence, now: f64) -> bool {
        if presence.leaving {
            return self.peers.remove(peer).is_some();
        }
        let changed = self.peers.get(peer).map(|(p, _)| p) != Some(&presence);
        self.peers.insert(peer.to_string(), (presence, now));
        changed
    }

    /// Forgets whoever has not been heard from for [`GONE_AFTER_MS`]. Returns whether anyone
    /// left.
    pub fn expire(&mut self, now: f64) -> bool {
        let before = self.peers.len();
        self.peers
            .retain(|_, (_, seen)| now - *seen < GONE_AFTER_MS && *seen <= now);
        self.peers.len() != before
    }

    /// Everyone here, once each (their most recent device), by name.
    pub fn people(&self) -> Vec<Presence> {
        let mut latest: HashMap<i64, (&Presence, f64)> = HashMap::new();
        for (p, seen) in self.peers.values() {
            let entry = latest.entry(p.professional_id).or_insert((p, *seen));
            if *seen > entry.1 {
                *entry = (p, *seen);
            }
        }
        let mut people: Vec<Presence> = latest.into_values().map(|(p, _)| p.clone()).collect();
        people.sort_by(|a, b| {
            a.name
                .cmp(&b.name)
                .then(a.professional_id.cmp(&b.professional_id))
        });
        people
    }

    pub fn is_empty(&self) -> bool {
        self.peers.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tom(section: &str, typing: bool) -> Presence {
        Presence {
            professional_id: 7,
            name: "Tom Teacher".into(),
            agency: "Oak Primary School".into(),
            section: section.into(),
            field: Some("field-assessment-childvoice".into()),
            typing,
            leaving: false,
        }
    }

    #[test]
    fn encodes_and_decodes() {
        let p = tom("assessment", true);
        assert_eq!(Presence::decode(&p.encode()), Some(p));
        assert_eq!(Presence::decode(b"not json"), None);
        assert_eq!(Presence::decode(&[b' '; 4096]), None);
        // Older senders without `leaving` still read.
        let old = br#"{"professional_id":1,"name":"A","agency":"B","section":"plan","field":null,"typing":false}"#;
        assert!(Presence::decode(old).is_some());
    }

    #[test]
    fn people_expire_without_heartbeats_and_leave_at_once_when_they_say() {
        let mut book = PresenceBook::default();
        assert!(book.heard("peer-a", tom("assessment", false), 0.0));
        assert!(
            !book.heard("peer-a", tom("assessment", false), 3_000.0),
            "a heartbeat changes nothing on screen"
        );
        assert!(book.heard("peer-a", tom("plan", true), 4_000.0));
        assert!(!book.expire(13_999.0));
        assert_eq!(book.people()[0].section, "plan");
        assert!(book.expire(14_000.0), "gone 10 s after the last message");
        assert!(book.people().is_empty());

        book.heard("peer-a", tom("plan", false), 20_000.0);
        let mut bye = tom("plan", false);
        bye.leaving = true;
        assert!(book.heard("peer-a", bye, 20_100.0));
        assert!(book.is_empty());
    }

    #[test]
    fn one_person_on_two_devices_shows_once_as_their_latest() {
        let mut book = PresenceBook::default();
        book.heard("laptop", tom("assessment", false), 0.0);
        book.heard("phone", tom("meeting", true), 500.0);
        let people = book.people();
        assert_eq!(people.len(), 1);
        assert_eq!(people[0].section, "meeting");
    }
}
