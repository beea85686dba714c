//! Benchmark: live-editing latency through our relay, and relay capacity against the
//! JavaScript `@automerge/automerge-repo-sync-server` (npm, pinned in tools/), on loopback.
//!
//! Run: `cargo build --release -p server && cargo run -p e2e --release --bin latency-bench`.
//! Needs the release relay (`target/release/tac-relay`, or `TAC_RELAY_BIN`), Node, and
//! `tools/node_modules` (`cd tools && npm ci`). About 7 minutes with the defaults.
//!
//! # What runs
//! Every client is our own sans-IO [`SyncClient`] over a real WebSocket (tokio-tungstenite,
//! Nagle off on the client side), all in this one process on one multi-threaded tokio
//! runtime, so every timestamp comes from the same monotonic clock. The servers run as child
//! processes on 127.0.0.1 with fresh temporary data folders, and are killed when the bench
//! ends (also on panic). Clients and servers share the machine's cores, so at high load the
//! clients' own CPU use is part of what is measured, for both servers alike.
//!
//! - Our relay (`tac-relay`, release build): the first administrator is made with
//!   `create-admin`; practitioners in the same agency are added over the API and signed in;
//!   each case is registered by its creator (who is lead) and the others are invited, as the
//!   app does. Clients connect to `/sync` with the session cookie and a bound peer id.
//! - The JS sync server (`src/index.js` of the npm package, `PORT` and `DATA_DIR` set): no
//!   sign-in, the same clients without cookies. It runs twice: as published, and with
//!   automerge-repo's `DocSynchronizer.syncDebounceRate` set from 100 to 0 ms as node loads it
//!   (`tests/bench/sync-at-once.mjs`, which fails if the line is not there), so that it sends
//!   each change to the other peers at once, as our relay does. The second is the like-for-like
//!   comparison; the first is the server as people deploy it.
//!
//! # A keystroke, and its latency
//! Each case is a real case document (`CaseRecord::new(..).into_document()`) whose text fields
//! the creator fills in first, plus a map `bench` with one counter per editor. A keystroke on
//! editor `e` is: note `t = Instant::now()` and append `t` to `e`'s send log (its index is the
//! keystroke's sequence number `n`), insert one character at `e`'s caret in its text field
//! with `edit::splice_text` (one keystroke in ten is a backspace instead), set `bench.e{e} = n`,
//! `commit`, and `flush` (which stores and produces the sync message), then send the frame.
//! Every other client in the case, whenever `receive` of an incoming frame returns
//! `Effect::Changed`, takes `now = Instant::now()` and reads each other editor's counter; every
//! sequence number newly seen (counters only grow: one writer each) gives one sample
//! `now - t`. So a sample spans: local change + flush + send + server + receive + apply, for
//! one keystroke at one other client. Keystrokes made in the first seconds (warm-up) are not
//! counted; after typing stops there is a grace period for late deliveries, and a delivery
//! that has not arrived by then counts as lost (and as infinitely late in the percentiles).
//!
//! # The two measurements
//! 1. Live editing: one case, 10 editors (4 share "what we are worried about", 3 share the
//!    child's voice, 3 type in a field each) at `BENCH_CPS` characters/s each for
//!    `BENCH_SECONDS` (default 60) against our relay. Target p95 < 100 ms.
//! 2. Capacity: N cases × 3 clients (2 share a field, 1 in another), each typing at
//!    `BENCH_CPS`, for N = 1, 2, 5, 10, 20, 30, 40, 50, 60, 80, 120, 160, 200 (capped by
//!    `BENCH_MAX_CLIENTS`, default 600), each step `BENCH_STEP_SECONDS` (default 10) after a
//!    2 s warm-up, until p99 reaches `BENCH_STOP_MS` (default 250 ms) or the server's share of
//!    `BENCH_CAPACITY_SECONDS` (default 160 s each) is spent. Capacity = the largest N with
//!    p99 < 50 ms (and every smaller step too). Target: ours ≥ 10× the JS server's. The
//!    summary also gives both capacities at a looser bar (`BENCH_LOOSE_MS`, default 150 ms),
//!    for scale: the JS server syncs a changed document to its other peers at most once per
//!    100 ms (automerge-repo 1.x `DocSynchronizer.syncDebounceRate`), so its p99 cannot get
//!    under ~100 ms once a case has more than ~10 changes a second.
//!
//! Each row also shows CPU use over the step (100% = one core): the server process, this
//! process (all the clients), and the rest of the machine. A busy machine skews everything;
//! compare runs only when "other CPU" is low.
//!
//! Environment: `BENCH_SECONDS`, `BENCH_STEP_SECONDS`, `BENCH_CAPACITY_SECONDS`, `BENCH_CPS`,
//! `BENCH_MAX_CLIENTS`, `BENCH_STOP_MS`, `BENCH_LOOSE_MS`, `BENCH_SKIP_JS=1`, `TAC_RELAY_BIN`.

use automerge::transaction::Transactable;
use automerge::{ObjId, ObjType, ReadDoc, ScalarValue, Value, ROOT};
use futures::StreamExt;
use shared::record::assessment::AssessmentField;
use shared::record::edit::{self, Path as Field};
use shared::record::CaseRecord;
use shared::sync::{Effect, Holding};
use shared::DocumentId;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use e2e::bench::{
    cpu_seconds, env_num, js_server_dir, machine_busy_seconds, relay_binary, start_js, start_ours,
    Conn, JsMode, Res, Server,
};
use e2e::repo_root;

/// The p99 a capacity step must stay under.
const CAPACITY_P99_MS: f64 = 50.0;
/// Latency target for live editing.
const LIVE_P95_MS: f64 = 100.0;
const WARMUP: Duration = Duration::from_secs(2);
const GRACE: Duration = Duration::from_secs(2);
const CAPACITY_STEPS: [usize; 13] = [1, 2, 5, 10, 20, 30, 40, 50, 60, 80, 120, 160, 200];

// ---------------------------------------------------------------- cases and editors

/// The send log of every editor in one case: `sent[e][n - 1]` is when `e` made keystroke `n`.
struct CaseLog {
    sent: Vec<Mutex<Vec<Instant>>>,
}

/// The measured window: keystrokes made in `[start, end)` count.
struct Window {
    start: Instant,
    end: Instant,
    stop: Instant,
    cps: f64,
    /// Deliveries expected: each counted keystroke × the other clients in its case.
    expected: AtomicU64,
}

struct Editor {
    conn: Conn,
    doc: DocumentId,
    me: usize,
    case: Arc<CaseLog>,
    field: Field,
    bench: ObjId,
    keys: Arc<Vec<String>>,
    cursor: usize,
    rng: u64,
    seen: Vec<u64>,
}

/// What one editor brings back.
#[derive(Default)]
struct Outcome {
    samples_us: Vec<u32>,
    keystrokes: u64,
    errors: Vec<String>,
}

const TEXT_FIELDS: [Field; 5] = [
    Field::WorriedAbout,
    Field::Assessment(AssessmentField::ChildVoice),
    Field::Assessment(AssessmentField::ParentsViews),
    Field::Assessment(AssessmentField::WorkingWell),
    Field::Assessment(AssessmentField::NeedsToHappen),
];

/// A case document: the new-case record with its text fields started, and the bench counters.
fn case_document(editors: usize) -> Res<automerge::AutoCommit> {
    let mut doc = CaseRecord::new("Bench Child")
        .into_document()
        .map_err(|e| e.to_string())?;
    for f in &TEXT_FIELDS {
        edit::set_text(&mut doc, f, "Notes: ").map_err(|e| e.to_string())?;
    }
    let bench = doc
        .put_object(ROOT, "bench", ObjType::Map)
        .map_err(|e| e.to_string())?;
    for e in 0..editors {
        doc.put(&bench, format!("e{e}"), 0i64)
            .map_err(|e| e.to_string())?;
    }
    doc.commit();
    Ok(doc)
}

/// Sets up one case on `server`: the creator makes and uploads it (registering and inviting
/// on our relay), the others open it by id. `fields[e]` is editor `e`'s text field.
async fn setup_case(server: &Server, fields: &[usize], seed: u64) -> Res<Vec<Editor>> {
    let n = fields.len();
    let url = server.ws_url();
    let login = |e: usize| (server.ours()).then(|| &server.logins[e % server.logins.len()]);
    let mut creator = Conn::connect(&url, login(0)).await?;
    // `create` picks the id and would send the case at once; our relay turns away syncs of
    // cases it does not know, so the first sync is dropped, the case registered, and the
    // sync started afresh with `resync`.
    let (id, _unsent) = creator.client.create(case_document(n)?);
    if let Some(l) = login(0) {
        let (status, body) = l.call(
            "POST",
            "/api/cases",
            Some(serde_json::json!({ "id": id.to_string() })),
        );
        if status != 201 {
            return Err(format!("registering the case: {status} {body}"));
        }
    }
    let resent = creator.client.resync(&id);
    creator.carry_out(resent).await?;
    creator.until(|c| c.client.unsent_changes(&id) == 0).await?;
    if let Some(lead) = login(0) {
        for e in 1..n {
            let invitee = login(e).expect("ours has logins").id();
            if invitee == lead.id() {
                continue;
            }
            let (status, body) = lead.call(
                "POST",
                &format!("/api/cases/{id}/members"),
                Some(serde_json::json!({ "professional_id": invitee })),
            );
            if status != 201 && status != 200 {
                return Err(format!("inviting {invitee}: {status} {body}"));
            }
        }
    }
    let mut conns = vec![creator];
    for e in 1..n {
        let mut c = Conn::connect(&url, login(e)).await?;
        let effects = c.client.request(id);
        c.carry_out(effects).await?;
        c.until(|c| c.client.holding(&id) != Some(Holding::Requested))
            .await?;
        if c.client.holding(&id) != Some(Holding::Have) {
            return Err(format!("client {e} could not open the case"));
        }
        conns.push(c);
    }
    let case = Arc::new(CaseLog {
        sent: (0..n).map(|_| Mutex::new(Vec::new())).collect(),
    });
    let keys: Arc<Vec<String>> = Arc::new((0..n).map(|e| format!("e{e}")).collect());
    let mut editors = Vec::new();
    for (me, conn) in conns.into_iter().enumerate() {
        let d = conn.client.document(&id).ok_or("no document")?;
        let bench = match d.get(ROOT, "bench").map_err(|e| e.to_string())? {
            Some((Value::Object(ObjType::Map), obj)) => obj,
            _ => return Err("no bench map".into()),
        };
        let field = TEXT_FIELDS[fields[me]].clone();
        let text = edit::text_object(d, &field)
            .map_err(|e| e.to_string())?
            .ok_or("no text field")?;
        let cursor = d.length(&text);
        editors.push(Editor {
            conn,
            doc: id,
            me,
            case: case.clone(),
            field,
            bench: bench.clone(),
            keys: keys.clone(),
            cursor,
            rng: seed
                .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                .wrapping_add(me as u64 * 7919 + 1),
            seen: vec![0; n],
        });
    }
    Ok(editors)
}

fn next_rand(state: &mut u64) -> u64 {
    // xorshift64*
    let mut x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    x.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

impl Editor {
    async fn run(mut self, window: Arc<Window>) -> Outcome {
        let mut out = Outcome::default();
        let period = Duration::from_secs_f64(1.0 / window.cps);
        // Each editor starts at a random phase, so keystrokes are not in lockstep.
        let phase = period.mul_f64((next_rand(&mut self.rng) % 1000) as f64 / 1000.0);
        let mut ticker = tokio::time::interval_at(Instant::now() + phase, period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let others = (self.case.sent.len() - 1) as u64;
        loop {
            let typing = Instant::now() < window.end;
            tokio::select! {
                _ = tokio::time::sleep_until(window.stop) => break,
                _ = ticker.tick(), if typing => {
                    match self.keystroke().await {
                        Ok(t) => if t >= window.start && t < window.end {
                            out.keystrokes += 1;
                            window.expected.fetch_add(others, Ordering::Relaxed);
                        },
                        Err(e) => { out.errors.push(e); break; }
                    }
                }
                msg = self.conn.ws.next() => match msg {
                    Some(Ok(WsMessage::Binary(frame))) => {
                        if let Err(e) = self.receive(&frame, &window, &mut out.samples_us).await {
                            out.errors.push(e);
                            break;
                        }
                    }
                    Some(Ok(_)) => {}
                    other => { out.errors.push(format!("server closed: {other:?}")); break; }
                }
            }
        }
        let _ = self.conn.ws.close(None).await;
        out
    }

    /// One keystroke: returns when it was made.
    async fn keystroke(&mut self) -> Res<Instant> {
        let t = Instant::now();
        let r = next_rand(&mut self.rng);
        let doc = self
            .conn
            .client
            .document_mut(&self.doc)
            .ok_or("no document")?;
        let text = edit::text_object(doc, &self.field)
            .map_err(|e| e.to_string())?
            .ok_or("no text")?;
        let len = doc.length(&text);
        self.cursor = self.cursor.min(len);
        if r.is_multiple_of(10) && self.cursor > 0 {
            self.cursor -= 1;
            edit::splice_text(doc, &self.field, self.cursor, 1, "")
        } else {
            let c = (b'a' + (r % 26) as u8) as char;
            let ch = if r % 6 == 1 {
                " ".into()
            } else {
                c.to_string()
            };
            self.cursor += 1;
            edit::splice_text(doc, &self.field, self.cursor - 1, 0, &ch)
        }
        .map_err(|e| e.to_string())?;
        let n = {
            let mut log = self.case.sent[self.me].lock().expect("log");
            log.push(t);
            log.len() as i64
        };
        doc.put(&self.bench, self.keys[self.me].as_str(), n)
            .map_err(|e| e.to_string())?;
        doc.commit();
        let effects = self.conn.client.flush(&self.doc);
        self.conn.carry_out(effects).await?;
        Ok(t)
    }

    async fn receive(&mut self, frame: &[u8], window: &Window, samples: &mut Vec<u32>) -> Res<()> {
        let effects = self.conn.client.receive(frame).map_err(|e| e.to_string())?;
        let now = Instant::now();
        if effects.iter().any(|e| matches!(e, Effect::Changed(_))) {
            let doc = self.conn.client.document(&self.doc).ok_or("no document")?;
            for (e, key) in self.keys.iter().enumerate() {
                if e == self.me {
                    continue;
                }
                let n = match doc.get(&self.bench, key.as_str()) {
                    Ok(Some((Value::Scalar(s), _))) => match s.as_ref() {
                        ScalarValue::Int(n) => *n as u64,
                        _ => 0,
                    },
                    _ => 0,
                };
                if n > self.seen[e] {
                    let log = self.case.sent[e].lock().expect("log");
                    for seq in self.seen[e] + 1..=n {
                        if let Some(&t) = log.get(seq as usize - 1) {
                            if t >= window.start && t < window.end {
                                let us = now.saturating_duration_since(t).as_micros();
                                samples.push(us.min(u32::MAX as u128) as u32);
                            }
                        }
                    }
                    self.seen[e] = n;
                }
            }
        }
        self.conn.carry_out(effects).await?;
        Ok(())
    }
}

// ---------------------------------------------------------------- a run and its numbers

struct Stats {
    cases: usize,
    clients: usize,
    keystrokes: u64,
    expected: u64,
    /// Sorted, microseconds.
    samples: Vec<u32>,
    errors: Vec<String>,
    server_cpu: f64,
    bench_cpu: f64,
    /// Everything else on the machine (other people's builds, browsers…), in cores.
    other_cpu: f64,
}

impl Stats {
    fn lost(&self) -> u64 {
        self.expected.saturating_sub(self.samples.len() as u64)
    }

    /// The p-quantile in ms over every expected delivery; lost ones count as infinitely late.
    fn pct(&self, p: f64) -> f64 {
        let total = self.expected.max(self.samples.len() as u64);
        if total == 0 {
            return f64::INFINITY;
        }
        let rank = ((p * total as f64).ceil() as usize).max(1) - 1;
        self.samples
            .get(rank)
            .map_or(f64::INFINITY, |&us| us as f64 / 1000.0)
    }

    fn max(&self) -> f64 {
        if self.lost() > 0 {
            return f64::INFINITY;
        }
        self.samples.last().map_or(0.0, |&us| us as f64 / 1000.0)
    }

    fn ok(&self) -> bool {
        self.errors.is_empty()
    }
}

fn ms(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.1}")
    } else {
        "lost".into()
    }
}

/// Sets up `cases` cases (each with editors in `fields`), lets everyone type for `seconds`
/// after a warm-up, and gathers the latencies.
async fn run(server: &Server, cases: usize, fields: &[usize], cps: f64, seconds: f64) -> Stats {
    let mut errors = Vec::new();
    let setups = futures::stream::iter(0..cases)
        .map(|c| setup_case(server, fields, c as u64 + 1))
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await;
    let mut editors = Vec::new();
    for s in setups {
        match s {
            Ok(e) => editors.extend(e),
            Err(e) => errors.push(e),
        }
    }
    let clients = editors.len();
    let start = Instant::now() + WARMUP;
    let end = start + Duration::from_secs_f64(seconds);
    let window = Arc::new(Window {
        start,
        end,
        stop: end + GRACE,
        cps,
        expected: AtomicU64::new(0),
    });
    let cpu0 = (
        server.cpu_seconds(),
        cpu_seconds("/proc/self/stat"),
        machine_busy_seconds(),
    );
    let tasks: Vec<_> = editors
        .into_iter()
        .map(|e| tokio::spawn(e.run(window.clone())))
        .collect();
    let mut samples = Vec::new();
    let mut keystrokes = 0;
    for t in tasks {
        match t.await {
            Ok(o) => {
                samples.extend(o.samples_us);
                keystrokes += o.keystrokes;
                errors.extend(o.errors);
            }
            Err(e) => errors.push(e.to_string()),
        }
    }
    // CPU over warm-up + window + grace; shown per second of the whole run.
    let span = (WARMUP + GRACE).as_secs_f64() + seconds;
    let server_cpu = (server.cpu_seconds() - cpu0.0) / span;
    let bench_cpu = (cpu_seconds("/proc/self/stat") - cpu0.1) / span;
    let other_cpu = ((machine_busy_seconds() - cpu0.2) / span - server_cpu - bench_cpu).max(0.0);
    samples.sort_unstable();
    Stats {
        cases,
        clients,
        keystrokes,
        expected: window.expected.load(Ordering::Relaxed),
        samples,
        errors,
        server_cpu,
        bench_cpu,
        other_cpu,
    }
}

fn print_header() {
    println!(
        "  {:>5} {:>7} {:>10} {:>9} {:>8} {:>8} {:>8} {:>8} {:>6} {:>11} {:>10} {:>10}",
        "cases",
        "clients",
        "keys",
        "samples",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "max ms",
        "lost",
        "server CPU",
        "bench CPU",
        "other CPU"
    );
}

fn print_row(s: &Stats) {
    println!(
        "  {:>5} {:>7} {:>10} {:>9} {:>8} {:>8} {:>8} {:>8} {:>6} {:>10.0}% {:>9.0}% {:>9.0}%",
        s.cases,
        s.clients,
        s.keystrokes,
        s.samples.len(),
        ms(s.pct(0.50)),
        ms(s.pct(0.95)),
        ms(s.pct(0.99)),
        ms(s.max()),
        s.lost(),
        s.server_cpu * 100.0,
        s.bench_cpu * 100.0,
        s.other_cpu * 100.0,
    );
    for e in s.errors.iter().take(3) {
        println!("        error: {e}");
    }
    if s.errors.len() > 3 {
        println!("        … {} errors in all", s.errors.len());
    }
}

/// Capacity sweep on one server: every step's stats, until p99 reaches `BENCH_STOP_MS`.
async fn sweep(server: &Server, cps: f64, step_seconds: f64, budget: Duration) -> Vec<Stats> {
    let max_clients = env_num("BENCH_MAX_CLIENTS", 600.0) as usize;
    let stop_ms = env_num("BENCH_STOP_MS", 250.0);
    let began = std::time::Instant::now();
    let mut all = Vec::new();
    println!("\n{} — capacity, 3 clients per case:", server.name);
    print_header();
    for &n in CAPACITY_STEPS.iter().filter(|&&n| n * 3 <= max_clients) {
        // A step costs about its window, warm-up, grace and set-up; do not start one that
        // would overrun the budget by much.
        let cost = step_seconds + 6.0 + n as f64 * 0.02;
        if began.elapsed().as_secs_f64() + cost > budget.as_secs_f64() {
            println!("  (time budget reached before N = {n})");
            break;
        }
        let stats = run(server, n, &[0, 0, 1], cps, step_seconds).await;
        print_row(&stats);
        let stop = !stats.ok() || stats.pct(0.99) >= stop_ms;
        all.push(stats);
        if stop {
            break;
        }
    }
    all
}

/// The largest N whose step, and every smaller step, had p99 under `bar_ms` without errors.
fn capacity(steps: &[Stats], bar_ms: f64) -> usize {
    steps
        .iter()
        .take_while(|s| s.ok() && s.pct(0.99) < bar_ms)
        .last()
        .map_or(0, |s| s.cases)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn versions() {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "?".into());
    let run = |cmd: &str, arg: &str| {
        Command::new(cmd)
            .arg(arg)
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_else(|| "?".into())
    };
    let lock = std::fs::read_to_string(repo_root().join("Cargo.lock")).unwrap_or_default();
    let crate_version = |name: &str| {
        let needle = format!("name = \"{name}\"\nversion = \"");
        lock.find(&needle)
            .map(|i| &lock[i + needle.len()..])
            .and_then(|r| r.split('"').next())
            .unwrap_or("?")
            .to_string()
    };
    let npm_version = |dir: &Path| {
        std::fs::read_to_string(dir.join("package.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v["version"].as_str().map(str::to_string))
            .unwrap_or_else(|| "?".into())
    };
    let js = js_server_dir();
    let js_repo = [
        js.join("node_modules/@automerge/automerge-repo"),
        repo_root().join("tools/node_modules/@automerge/automerge-repo"),
    ]
    .into_iter()
    .find(|d| d.exists())
    .unwrap_or_default();
    let js_am = [
        js.join("node_modules/@automerge/automerge"),
        repo_root().join("tools/node_modules/@automerge/automerge"),
    ]
    .into_iter()
    .find(|d| d.exists())
    .unwrap_or_default();
    println!("TAC Planner latency bench (loopback, one process for all clients)");
    println!(
        "  machine: {cores} cores, {cpu}; load average at start: {}",
        loadavg()
    );
    println!(
        "  ours: tac-relay {} (release), samod {}, automerge {} (clients: the same automerge)",
        relay_binary().display(),
        crate_version("samod"),
        crate_version("automerge"),
    );
    println!(
        "  JS: @automerge/automerge-repo-sync-server {} (automerge-repo {}, automerge {}), node {}",
        npm_version(&js),
        npm_version(&js_repo),
        npm_version(&js_am),
        run("node", "--version"),
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let code = runtime.block_on(bench());
    runtime.shutdown_timeout(Duration::from_secs(2));
    std::process::exit(code);
}

async fn bench() -> i32 {
    let began = std::time::Instant::now();
    let live_seconds = env_num("BENCH_SECONDS", 60.0);
    let step_seconds = env_num("BENCH_STEP_SECONDS", 10.0);
    let budget = Duration::from_secs_f64(env_num("BENCH_CAPACITY_SECONDS", 160.0));
    let cps = env_num("BENCH_CPS", 6.0);
    let skip_js = std::env::var("BENCH_SKIP_JS").is_ok_and(|v| v == "1");
    versions();
    println!(
        "  settings: {cps} characters/s per editor; live {live_seconds} s; capacity steps {step_seconds} s, {:.0} s per server; warm-up {} s, grace {} s",
        budget.as_secs_f64(),
        WARMUP.as_secs(),
        GRACE.as_secs()
    );

    // 1. Live editing on our relay: 10 editors, one case.
    let ours = match start_ours(10).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("our relay: {e}");
            return 1;
        }
    };
    // Fields: 4 share "worried about", 3 share the child's voice, 3 have one each.
    let live_fields = [0, 0, 0, 0, 1, 1, 1, 2, 3, 4];
    println!("\n1. Live editing: 10 editors in one case on our relay");
    print_header();
    let live = run(&ours, 1, &live_fields, cps, live_seconds).await;
    print_row(&live);

    // 2. Capacity, ours then the JS server, each with its own budget.
    // A fresh relay, so a backlog left by the live run cannot spill into the sweep.
    drop(ours);
    let ours_steps = match start_ours(3).await {
        Ok(ours) => sweep(&ours, cps, step_seconds, budget).await,
        Err(e) => {
            eprintln!("our relay: {e}");
            return 1;
        }
    };
    let mut js: Vec<(JsMode, Vec<Stats>)> = Vec::new();
    let modes: &[JsMode] = if skip_js {
        &[]
    } else {
        &[JsMode::AsPublished, JsMode::AtOnce]
    };
    for &mode in modes {
        match start_js(mode) {
            Ok(server) => {
                // Let node finish loading before the first client.
                tokio::time::sleep(Duration::from_millis(500)).await;
                js.push((mode, sweep(&server, cps, step_seconds, budget).await));
            }
            Err(e) => eprintln!("{}: {e}", mode.name()),
        }
    }

    // Summary.
    let p95 = live.pct(0.95);
    println!("\n==================== summary ====================");
    println!(
        "Live editing (10 editors, 1 case, {cps}/s each, {live_seconds} s, {} deliveries):",
        live.samples.len()
    );
    println!(
        "  p50 {} ms   p95 {} ms   p99 {} ms   max {} ms   lost {}   -> target p95 < {LIVE_P95_MS} ms: {}",
        ms(live.pct(0.5)),
        ms(p95),
        ms(live.pct(0.99)),
        ms(live.max()),
        live.lost(),
        if p95 < LIVE_P95_MS && live.ok() { "met" } else { "NOT met" }
    );
    let p99_at = |steps: &[Stats], n: usize| {
        steps
            .iter()
            .find(|s| s.cases == n)
            .map_or("-".to_string(), |s| ms(s.pct(0.99)))
    };
    let loose_ms = env_num("BENCH_LOOSE_MS", 150.0);
    for (bar, primary) in [(CAPACITY_P99_MS, true), (loose_ms, false)] {
        println!(
            "Relay capacity{}: largest N cases × 3 clients with p99 < {bar} ms:",
            if primary {
                ""
            } else {
                " at a looser bar (for scale only)"
            }
        );
        let ours_n = capacity(&ours_steps, bar);
        println!(
            "  ours: N = {ours_n:<4} (p99 {} ms there; tried up to N = {})",
            p99_at(&ours_steps, ours_n),
            ours_steps.last().map_or(0, |s| s.cases)
        );
        if js.is_empty() {
            println!("  JS:   not run");
        }
        for (mode, js_steps) in &js {
            let js_n = capacity(js_steps, bar);
            println!(
                "  {}: N = {js_n:<4} (p99 {} ms there; tried up to N = {})",
                mode.name(),
                p99_at(js_steps, js_n),
                js_steps.last().map_or(0, |s| s.cases)
            );
            let ratio = match (ours_n, js_n) {
                (0, 0) => "- (neither met the bar at any step)".to_string(),
                (_, 0) => "∞ (the JS server met the bar at no step)".to_string(),
                _ => format!("{:.1}×", ours_n as f64 / js_n as f64),
            };
            // With the JS server under the bar at no step there is no ratio to judge.
            let verdict = match (ours_n, js_n) {
                (_, 0) => "cannot say",
                (o, j) if o >= 10 * j => "met",
                _ => "NOT met",
            };
            if primary {
                println!("    ratio ours/JS: {ratio}   -> target ≥ 10×: {verdict}");
            } else {
                println!("    ratio ours/JS: {ratio}");
            }
        }
    }
    println!(
        "Whole run: {:.0} s; load average at the end: {} (CPU columns: 100% = one core; \
         \"other\" is the rest of the machine, which skews results when high)",
        began.elapsed().as_secs_f64(),
        loadavg()
    );
    0
}
