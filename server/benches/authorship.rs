//! What the relay's authorship check costs, beside what automerge (inside samod) spends on the
//! same message, for a case of 3,000 changes from 6 people:
//!
//! - a typical sync message (one new change): reading its claims and judging them, then the
//!   journal's SQL transaction (SQLite, synchronous FULL, so one disk sync), against applying
//!   the message to the relay's copy;
//! - a whole-document catch-up (a device sending the case whole): reading all 3,000 claims,
//!   against loading the document.
//!
//! `cargo bench -p server --bench authorship`

use automerge::sync::{self, SyncDoc};
use automerge::transaction::Transactable;
use automerge::{AutoCommit, ReadDoc, ROOT};
use server::journal::Journal;
use shared::authorship::{author_of, claims_in, judge};
use std::time::{Duration, Instant};

const PEOPLE: i64 = 6;
const CHANGES: usize = 3_000;
const RUNS: usize = 500;

fn stats(name: &str, mut times: Vec<Duration>) -> Duration {
    times.sort();
    let p = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    let mean = times.iter().sum::<Duration>() / times.len() as u32;
    println!(
        "{name:<58} mean {:>9.3} ms  p50 {:>9.3} ms  p95 {:>9.3} ms",
        mean.as_secs_f64() * 1e3,
        p(0.5).as_secs_f64() * 1e3,
        p(0.95).as_secs_f64() * 1e3
    );
    mean
}

/// A case edited by six people in turn: short fields, and typing in a shared text.
fn case() -> AutoCommit {
    let mut base = AutoCommit::new();
    let notes = base
        .put_object(ROOT, "concerns", automerge::ObjType::Text)
        .unwrap();
    base.commit();
    let mut people: Vec<AutoCommit> = (1..=PEOPLE)
        .map(|p| {
            let mut doc = base.fork();
            doc.set_author(Some(author_of(p)));
            doc
        })
        .collect();
    for i in 0..CHANGES {
        let n = i % people.len();
        let doc = &mut people[n];
        if i % 3 == 0 {
            doc.put(ROOT, format!("field-{}", i % 40), format!("value {i}"))
                .unwrap();
        } else {
            let len = doc.length(&notes);
            doc.splice_text(&notes, len, 0, "word ").unwrap();
        }
        doc.commit();
        // Everyone sees everyone's work every 50 changes, as they would online.
        if i % 50 == 49 {
            let mut all = people[0].clone();
            for other in people.iter_mut().skip(1) {
                all.merge(other).unwrap();
            }
            for doc in people.iter_mut() {
                doc.merge(&mut all.clone()).unwrap();
            }
        }
    }
    let mut all = people.remove(0);
    for mut other in people {
        all.merge(&mut other).unwrap();
    }
    all
}

/// A sync message carrying one new change, as a device sends it to a relay that has the rest.
fn typical_message(relay: &mut AutoCommit, i: usize) -> Vec<u8> {
    let mut device = relay.fork();
    device.set_author(Some(author_of(3)));
    device.put(ROOT, "field-new", format!("typed {i}")).unwrap();
    let (mut dev_state, mut relay_state) = (sync::State::new(), sync::State::new());
    // Agree on what both have first, as an open connection already has.
    for _ in 0..10 {
        let a = device.sync().generate_sync_message(&mut dev_state);
        if let Some(m) = a.clone() {
            // The relay does not take the change here: only the heads exchange.
            let bytes = m.encode();
            let mut probe = sync::Message::decode(&bytes).unwrap();
            if !probe.changes.is_empty() {
                return bytes;
            }
            probe.changes = Vec::<Vec<u8>>::new().into();
            relay
                .sync()
                .receive_sync_message(&mut relay_state, probe)
                .unwrap();
        }
        if let Some(m) = relay.sync().generate_sync_message(&mut relay_state) {
            device
                .sync()
                .receive_sync_message(&mut dev_state, m)
                .unwrap();
        }
        if a.is_none() {
            break;
        }
    }
    panic!("the device never offered its change");
}

fn main() {
    let started = Instant::now();
    let mut relay = case();
    let heads = relay.get_heads();
    println!(
        "case: {} changes from {PEOPLE} people, {} KB saved (built in {:.1} s)",
        relay.get_changes(&[]).len(),
        relay.save().len() / 1024,
        started.elapsed().as_secs_f64()
    );
    assert!(relay.get_changes(&[]).len() > CHANGES);

    // A typical message: one change.
    let messages: Vec<Vec<u8>> = (0..RUNS).map(|i| typical_message(&mut relay, i)).collect();
    assert_eq!(relay.get_heads(), heads, "the relay's copy is unchanged");
    let mut check = Vec::with_capacity(RUNS);
    for bytes in &messages {
        let t = Instant::now();
        let message = sync::Message::decode(bytes).unwrap();
        let claims = claims_in(message.changes.iter()).unwrap();
        for c in &claims {
            assert_eq!(
                judge(3, c, Some(3), None),
                shared::authorship::Verdict::Receipt
            );
        }
        check.push(t.elapsed());
    }
    let mut apply = Vec::with_capacity(RUNS);
    let mut clone = Vec::with_capacity(RUNS);
    for bytes in &messages {
        let t = Instant::now();
        let mut copy = relay.clone();
        clone.push(t.elapsed());
        let mut state = sync::State::new();
        let t = Instant::now();
        copy.sync()
            .receive_sync_message(&mut state, sync::Message::decode(bytes).unwrap())
            .unwrap();
        apply.push(t.elapsed());
    }
    println!("\none change per message ({RUNS} messages):");
    let ours = stats("authorship check (decode, read claims, judge)", check);
    let theirs = stats("automerge applying the message (samod's own work)", apply);
    stats("(cloning the relay's copy, not counted above)", clone);
    println!(
        "check / apply: {:.2}",
        ours.as_secs_f64() / theirs.as_secs_f64()
    );

    // The journal's transaction, on a real SQLite file with the relay's durability.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sql = runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        let store = server::storage::SqlStorage::open(&url, Default::default())
            .await
            .unwrap();
        sqlx::query("INSERT INTO agencies (id, name, created_at) VALUES (1, 'Bench', 0)")
            .execute(store.pool())
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO professionals (id, name, email, agency_id, role, password_hash, created_at)
             VALUES (3, 'Bench', 'bench@example.org', 1, 'practitioner', 'x', 0)",
        )
        .execute(store.pool())
        .await
        .unwrap();
        let journal = Journal::new(store.pool().clone());
        let mut times = Vec::with_capacity(200);
        for bytes in messages.iter().take(200) {
            let message = sync::Message::decode(bytes).unwrap();
            let claims = claims_in(message.changes.iter()).unwrap();
            let t = Instant::now();
            journal.vouch("bench-case", 3, &claims).await.unwrap();
            times.push(t.elapsed());
        }
        times
    });
    stats("journal transaction (SQLite, synchronous FULL)", sql);

    // A whole-document catch-up.
    let whole = relay.save();
    let mut read = Vec::new();
    let mut load = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let claims = claims_in([whole.as_slice()]).unwrap();
        read.push(t.elapsed());
        assert!(claims.len() > CHANGES);
        let t = Instant::now();
        let loaded = automerge::Automerge::load(&whole).unwrap();
        load.push(t.elapsed());
        assert_eq!(loaded.get_heads().len(), heads.len());
    }
    println!("\nwhole document ({} KB, 20 runs):", whole.len() / 1024);
    let ours = stats("authorship check (read every claim)", read);
    let theirs = stats("automerge loading the document (samod's own work)", load);
    println!(
        "check / load: {:.2}",
        ours.as_secs_f64() / theirs.as_secs_f64()
    );
}
