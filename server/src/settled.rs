//! Cases a client holds exactly as the relay does, so that the relay's answer can be left out.
//!
//! A device coming back online sends one sync message per case it holds. For a case nobody
//! changed, samod answers with its heads and nothing else, which tells the client nothing: its
//! message already said that it holds those heads (`heads`) and that it knows the relay holds
//! them too (the `have` it sends starts from the heads it last shared with the relay). Such an
//! answer is not sent: with a caseload of 1,000 that is half the bytes of coming back online
//! (see `tests/src/bin/reconnect-bench.rs`). Any answer that carries changes, asks for some,
//! or names other heads still goes. samod's own state is not touched (its next message is
//! generated afresh from the client's next one); our client takes the left-out answer as
//! given (`shared::sync::settled_heads`), so its next edit goes at once.

use automerge::sync::Message as SyncMessage;
use automerge::ChangeHash;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Per connection: for each case, the heads the client said it and the relay both hold.
#[derive(Clone, Default)]
pub struct Settled(Arc<Mutex<HashMap<String, Vec<ChangeHash>>>>);

fn sorted(heads: &[ChangeHash]) -> Vec<ChangeHash> {
    let mut heads = heads.to_vec();
    heads.sort();
    heads
}

impl Settled {
    /// Notes what the client's sync message (already checked) says about its case.
    pub fn client_said(&self, case: &str, message: &SyncMessage) {
        let mut cases = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match shared::sync::settled_heads(message) {
            Some(heads) => {
                cases.insert(case.to_string(), heads);
            }
            None => {
                cases.remove(case);
            }
        }
    }

    /// Whether the relay's message about a case tells the client nothing it has not just said
    /// itself. Answers one client message once.
    pub fn redundant(&self, case: &str, message: &SyncMessage) -> bool {
        if !message.changes.is_empty() || !message.need.is_empty() {
            return false;
        }
        let mut cases = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if cases.get(case) == Some(&sorted(&message.heads)) {
            cases.remove(case);
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::sync::SyncDoc;
    use automerge::transaction::Transactable;

    /// Two peers in sync, and the messages each sends when they meet again.
    fn meeting_again(change_on_relay: bool) -> (SyncMessage, SyncMessage) {
        let mut client = automerge::AutoCommit::new();
        client.put(automerge::ROOT, "name", "Sam").unwrap();
        let mut relay = automerge::AutoCommit::new();
        let (mut cs, mut rs) = (automerge::sync::State::new(), automerge::sync::State::new());
        for _ in 0..6 {
            if let Some(m) = client.sync().generate_sync_message(&mut cs) {
                relay.sync().receive_sync_message(&mut rs, m).unwrap();
            }
            if let Some(m) = relay.sync().generate_sync_message(&mut rs) {
                client.sync().receive_sync_message(&mut cs, m).unwrap();
            }
        }
        assert_eq!(client.get_heads(), relay.get_heads());
        if change_on_relay {
            relay.put(automerge::ROOT, "name", "Sam Smith").unwrap();
        }
        // As after a reconnect: only what is persisted of each side's state.
        let mut cs = automerge::sync::State::decode(&cs.encode()).unwrap();
        let mut rs = automerge::sync::State::new();
        let said = client.sync().generate_sync_message(&mut cs).unwrap();
        relay
            .sync()
            .receive_sync_message(&mut rs, said.clone())
            .unwrap();
        let answer = relay.sync().generate_sync_message(&mut rs).unwrap();
        (said, answer)
    }

    #[test]
    fn an_answer_that_says_nothing_new_is_left_out_once() {
        let settled = Settled::default();
        let (said, answer) = meeting_again(false);
        settled.client_said("c1", &said);
        assert!(!settled.redundant("c2", &answer), "another case");
        assert!(settled.redundant("c1", &answer));
        assert!(!settled.redundant("c1", &answer), "once per client message");
    }

    #[test]
    fn an_answer_with_changes_goes() {
        let settled = Settled::default();
        let (said, answer) = meeting_again(true);
        settled.client_said("c1", &said);
        assert!(!settled.redundant("c1", &answer));
    }

    #[test]
    fn a_client_that_does_not_know_what_the_relay_holds_gets_its_answer() {
        let settled = Settled::default();
        let mut client = automerge::AutoCommit::new();
        client.put(automerge::ROOT, "name", "Sam").unwrap();
        let said = client
            .sync()
            .generate_sync_message(&mut automerge::sync::State::new())
            .unwrap();
        settled.client_said("c1", &said);
        let mut relay = client.fork();
        let mut rs = automerge::sync::State::new();
        relay.sync().receive_sync_message(&mut rs, said).unwrap();
        let answer = relay.sync().generate_sync_message(&mut rs).unwrap();
        assert!(!settled.redundant("c1", &answer));
    }
}
