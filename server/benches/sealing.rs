//! What sealing a case's stored content costs ([`server::sealing`]), beside what the relay
//! already spends on the same bytes when it loads them: automerge reading the chunk (into an
//! empty document: for one change, parsing it; for a snapshot, the whole load).
//!
//! - one new change as stored (an incremental chunk of a few hundred bytes);
//! - a whole case as stored (a snapshot of 3,000 changes).
//!
//! `cargo bench -p server --bench sealing`

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ROOT};
use ring::rand::SystemRandom;
use server::sealing::{key_from, open, seal};
use std::time::{Duration, Instant};

const RUNS: usize = 300;

fn mean_of(mut run: impl FnMut()) -> Duration {
    run();
    let start = Instant::now();
    for _ in 0..RUNS {
        run();
    }
    start.elapsed() / RUNS as u32
}

fn row(what: &str, bytes: usize, sealing: Duration, opening: Duration, loading: Duration) {
    println!(
        "{what:<26} {bytes:>7} B  seal {:>8.2} µs  open {:>8.2} µs  automerge load {:>9.2} µs  (open = {:.2}% of load)",
        sealing.as_secs_f64() * 1e6,
        opening.as_secs_f64() * 1e6,
        loading.as_secs_f64() * 1e6,
        100.0 * opening.as_secs_f64() / loading.as_secs_f64()
    );
}

fn main() {
    let key = key_from(&[7u8; 32]).unwrap();
    let rng = SystemRandom::new();
    let mut doc = AutoCommit::new();
    let notes = doc
        .put_object(ROOT, "notes", automerge::ObjType::Text)
        .unwrap();
    for i in 0..3_000 {
        doc.splice_text(&notes, i, 0, "a").unwrap();
        doc.put(ROOT, format!("field{}", i % 40), i as i64).unwrap();
        doc.commit();
    }
    let heads = doc.get_heads();
    doc.splice_text(&notes, 0, 0, "Seen at home with mum.")
        .unwrap();
    doc.commit();
    let change = doc.save_after(&heads);
    let snapshot = doc.save();
    for (what, bytes) in [
        ("one change (incremental)", &change),
        ("whole case (snapshot)", &snapshot),
    ] {
        let at = "case/snapshot/h";
        let sealed = seal(&key, at, bytes, &rng);
        let sealing = mean_of(|| {
            std::hint::black_box(seal(&key, at, bytes, &rng));
        });
        let opening = mean_of(|| {
            std::hint::black_box(open(&key, at, &sealed).unwrap());
        });
        let loading = mean_of(|| {
            let mut d = automerge::Automerge::new();
            std::hint::black_box(d.load_incremental(bytes).unwrap());
        });
        row(what, bytes.len(), sealing, opening, loading);
    }
}
