//! Benchmark: a case's history in headless Chromium, against the real app, for a case of
//! 3,000 changes from 6 people with a review part way through:
//! - the History screen (click "History" until the list is on screen; it shows the newest 25
//!   sittings and fills in more on request),
//! - the case as it stood after a sitting ("See the case as it was after this"),
//! - what changed since the review (choose it until the list is redrawn).
//!
//! Side by side in the same run, on the same bytes: our Rust history natively, and
//! `@automerge/automerge` (npm, pinned in tools/) in Node doing the nearest thing it offers:
//! decoding every change (a change list), `view` at the review's heads + `toJS` (as it stood),
//! and `diff` from the review to now.
//!
//! Needs what `scripts/test.sh` builds (dist/, the relay binary, Chromium).
//! Run: `cargo run -p e2e --release --bin history-bench`.

use automerge::transaction::CommitOptions;
use automerge::AutoCommit;
use e2e::{eventually, js, Driver, Relay};
use shared::authorship::author_of;
use shared::record::edit::{self, List, Path};
use shared::record::history;
use shared::record::meetings::{Meeting, MeetingKind};
use shared::record::plan::{Action, ActionField, Outcome};
use shared::record::CaseRecord;
use shared::storage_key::StorageKey;
use shared::DocumentId;
use std::collections::HashMap;
use std::time::{Duration, Instant};

const PEOPLE: i64 = 6;
const CHANGES: usize = 3_000;
const SAMPLES: usize = 20;
const WARM_UP: usize = 2;

/// Six people working on one plan in turns, each turn a few edits, over weeks; a review
/// (agreed) half way.
fn case() -> (AutoCommit, Vec<String>) {
    let mut base = CaseRecord::new("Amira Khan").into_document().unwrap();
    let outcome = Outcome::new("Amira is in school every day");
    let oid = outcome.id.clone();
    edit::add(&mut base, &List::Outcomes, &outcome).unwrap();
    let mut actions = Vec::new();
    for a in 0..8 {
        let action = Action::new(&format!("Action {a}: weekly session"));
        actions.push(action.id.clone());
        edit::add(&mut base, &List::Actions(oid.clone()), &action).unwrap();
    }
    base.commit();
    let mut people: Vec<AutoCommit> = (1..=PEOPLE)
        .map(|p| {
            let mut doc = base.fork();
            doc.set_author(Some(author_of(p)));
            doc
        })
        .collect();
    let start = 1_790_000_000_i64; // seconds
    let mut review_heads = Vec::new();
    for i in 0..CHANGES {
        let who = (i / 10) % people.len();
        let doc = &mut people[who];
        let action = &actions[i % actions.len()];
        match i % 4 {
            0 => edit::set_text(
                doc,
                &Path::Action(action.clone(), ActionField::Due),
                &format!("2027-{:02}-{:02}", 1 + i % 12, 1 + i % 28),
            )
            .unwrap(),
            1 => edit::set_text(
                doc,
                &Path::Action(action.clone(), ActionField::Evidence),
                &format!("Attendance this week: {}%.", 80 + i % 20),
            )
            .unwrap(),
            2 => edit::set_text(
                doc,
                &Path::WorriedAbout,
                &format!("Mornings are hard ({i})."),
            )
            .unwrap(),
            _ => edit::set_text(
                doc,
                &Path::Action(action.clone(), ActionField::Owner),
                &format!("Worker {}", i % 7),
            )
            .unwrap(),
        }
        // A turn every 10 edits, an hour apart; everyone sees the last turn before theirs.
        doc.commit_with(CommitOptions::default().with_time(start + (i as i64) * 360));
        if i % 10 == 9 {
            let mut done = people[who].clone();
            let next = ((i + 1) / 10) % people.len();
            people[next].merge(&mut done).unwrap();
        }
        if i == CHANGES / 2 {
            let doc = &mut people[who];
            let meeting = Meeting::new(MeetingKind::Review, "2026-10-01");
            let mid = meeting.id.clone();
            edit::add(doc, &List::Meetings, &meeting).unwrap();
            edit::agree_meeting(doc, &mid, &[("Sue Bell", "Early Help")], "2026-10-01").unwrap();
            review_heads = doc.get_heads().iter().map(ToString::to_string).collect();
            let mut done = doc.clone();
            for other in people.iter_mut() {
                other.merge(&mut done).unwrap();
            }
        }
    }
    let mut all = people.remove(0);
    for mut other in people {
        all.merge(&mut other).unwrap();
    }
    (all, review_heads)
}

/// Receipts as the relay would have written them: each change from its actor's author, shared
/// a minute after it was typed.
fn receipts_for(doc: &mut AutoCommit) -> shared::api::Receipts {
    let claims = shared::authorship::claims_in([doc.save().as_slice()]).unwrap();
    let mut owner = HashMap::new();
    for c in &claims {
        if let Some(a) = &c.author {
            let id = shared::authorship::professional_of(&automerge::Author::from(a.as_slice()));
            owner.insert(c.actor.clone(), id.unwrap());
        }
    }
    let mut api = shared::api::Receipts::default();
    for c in claims {
        let professional_id = owner.get(&c.actor).copied().unwrap_or(1);
        api.receipts.push(shared::api::Receipt {
            change_hash: c.hash.to_string(),
            professional_id,
            received_at: c.time * 1000 + 60_000,
        });
    }
    for p in 1..=PEOPLE {
        api.people.push(shared::api::Author {
            professional_id: p,
            name: format!("Worker {p}"),
            agency_name: "Early Help".into(),
        });
    }
    api
}

fn p95(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| v[((v.len() as f64 * q) as usize).min(v.len() - 1)];
    (at(0.5), at(0.95))
}

fn row(what: &str, samples: Vec<f64>) {
    let (p50, p95) = p95(samples);
    println!("{what:<74} {p50:>8.1} {p95:>8.1}");
}

/// Runs `script` (which ends by calling `done(ms)`) and returns the number it reports.
async fn timed(b: &fantoccini::Client, script: &str) -> f64 {
    let v = b.execute_async(script, vec![]).await.expect("script runs");
    v.as_f64()
        .unwrap_or_else(|| panic!("no timing from the page: {v}"))
}

/// Calls `act` (JS), then waits for `css` to be on screen; reports the ms between.
fn until_shown(act: &str, css: &str) -> String {
    format!(
        "const done = arguments[0]; const t = performance.now(); {act};\
         const check = () => document.querySelector('{css}') ? done(performance.now() - t) : setTimeout(check, 1);\
         check();"
    )
}

fn js_peer(bytes: &[u8], review: &[String]) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), bytes).unwrap();
    let lib = e2e::repo_root().join("tools/node_modules/@automerge/automerge");
    let script = format!(
        "const A = require({lib:?}); const doc = A.load(require('fs').readFileSync({path:?}));\
         const review = {review}; const now = A.getHeads(doc); const t = () => performance.now();\
         const list = [], past = [], since = [];\
         for (let i = 0; i < {SAMPLES}; i++) {{\
           let s = t(); const changes = A.getAllChanges(doc).map(A.decodeChange); if (changes.length < {CHANGES}) throw new Error('short'); list.push(t() - s);\
           s = t(); const v = A.toJS(A.view(doc, review)); if (!v.plan) throw new Error('no plan'); past.push(t() - s);\
           s = t(); const d = A.diff(doc, review, now); if (!d.length) throw new Error('no diff'); since.push(t() - s); }}\
         console.log(JSON.stringify([list, past, since]));",
        lib = lib.display().to_string(),
        path = file.path().display().to_string(),
        review = serde_json::to_string(review).unwrap(),
    );
    e2e::node_json(&script)
}

fn native(
    doc: &mut AutoCommit,
    review: &[automerge::ChangeHash],
    none: &HashMap<automerge::ChangeHash, history::Received>,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let doc = doc.document();
    let time = |f: &dyn Fn()| -> Vec<f64> {
        (0..SAMPLES)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1000.0
            })
            .collect()
    };
    // As the History screen does: the outline, and rows for the newest 25 sittings.
    let list = time(&|| {
        let outline = history::outline_since(doc, none, None, &[]);
        for s in outline.iter().rev().take(25) {
            assert!(!history::rows_between(doc, &s.before, &s.after).is_empty());
        }
    });
    let past = time(&|| {
        let then = history::read_out(doc, review);
        assert!(then.iter().any(|e| e.key == "due"));
    });
    let since = time(&|| {
        let outline = history::outline_since(doc, none, None, review);
        for s in outline.iter().rev().take(25) {
            assert!(!history::rows_between(doc, &s.before, &s.after).is_empty());
        }
    });
    (list, past, since)
}

#[tokio::main]
async fn main() {
    let built = Instant::now();
    let (mut doc, review) = case();
    let bytes = doc.save();
    let changes = doc.get_changes(&[]).len();
    let review_hashes: Vec<automerge::ChangeHash> =
        review.iter().map(|h| h.parse().unwrap()).collect();
    let receipts = receipts_for(&mut doc);
    let by_hash = receipts.by_change();
    println!(
        "case: {changes} changes from {PEOPLE} people, {} KB saved, {} sittings (built in {:.1} s)",
        bytes.len() / 1024,
        history::sittings(doc.document(), &by_hash, None).len(),
        built.elapsed().as_secs_f64()
    );
    let id = DocumentId::random();
    let key = StorageKey::snapshot(&id, &doc.get_heads()).flat();

    let relay = Relay::start();
    let mut driver = Driver::start();
    let b = driver.browser().await;
    e2e::sign_in(&b, &relay, e2e::accounts::ADMIN_EMAIL).await;
    eventually(20, "the app", || async {
        (js(&b, "document.querySelector('#new-child-name') ? 'y' : ''").await == "y").then_some(())
    })
    .await;
    // With the receipts the device would have kept, so people and sittings are named.
    let kept = vec![(
        format!("receipts-{id}"),
        serde_json::to_string(&receipts).unwrap(),
    )];
    e2e::store_case(&b, &key, &bytes, &id.to_string(), "Amira Khan", &kept).await;
    b.goto(&format!("{}/case/{id}/family", relay.url()))
        .await
        .unwrap();
    e2e::find(&b, "[data-testid=history-link]").await;

    let (mut list, mut past, mut since) = (Vec::new(), Vec::new(), Vec::new());
    for sample in 0..WARM_UP + SAMPLES {
        // The History screen, from another section.
        let shown = timed(
            &b,
            &until_shown(
                "document.querySelector('[data-testid=history-link]').click()",
                "[data-testid=history-sitting]",
            ),
        )
        .await;
        // What changed since the review.
        let redrawn = timed(
            &b,
            "const done = arguments[0]; const el = document.getElementById('history-since');\
             const t = performance.now(); el.value = 'review'; el.dispatchEvent(new Event('change', { bubbles: true }));\
             requestAnimationFrame(() => done(performance.now() - t));",
        )
        .await;
        let count = js(
            &b,
            "document.querySelectorAll('[data-testid=history-sitting]').length",
        )
        .await;
        assert!(
            count.parse::<usize>().unwrap() > 0,
            "changes since the review"
        );
        // The case as it stood after the newest sitting listed.
        let stood = timed(
            &b,
            &until_shown(
                "Array.from(document.querySelectorAll('a')).find(a => a.innerText.includes('as it was after this')).click()",
                "[data-testid=past-case]",
            ),
        )
        .await;
        if sample >= WARM_UP {
            list.push(shown);
            since.push(redrawn);
            past.push(stood);
        }
        b.execute(
            "Array.from(document.querySelectorAll('a')).find(a => a.innerText === 'Family').click()",
            vec![],
        )
        .await
        .unwrap();
        e2e::find(&b, "[data-testid=section]").await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (n_list, n_past, n_since) = native(&mut doc, &review_hashes, &by_hash);
    let (j_list, j_past, j_since) = js_peer(&bytes, &review);
    println!("\n{SAMPLES} samples each (after {WARM_UP} not counted)");
    println!("{:<74} {:>8} {:>8}", "what", "p50 ms", "p95 ms");
    row("TAC Planner in Chromium: History screen on screen", list);
    row(
        "TAC Planner in Chromium: the case as it stood after a sitting",
        past,
    );
    row(
        "TAC Planner in Chromium: 'since the review' chosen and redrawn",
        since,
    );
    row(
        "our Rust history, native: every sitting listed, the newest 25 with rows",
        n_list,
    );
    row(
        "our Rust history, native: the whole case read out at the review's heads",
        n_past,
    );
    row(
        "our Rust history, native: since the review, the newest 25 with rows",
        n_since,
    );
    row("@automerge/automerge in Node: decode every change", j_list);
    row(
        "@automerge/automerge in Node: view at the review + toJS",
        j_past,
    );
    row(
        "@automerge/automerge in Node: diff from the review to now",
        j_since,
    );
    b.close().await.unwrap();
}
