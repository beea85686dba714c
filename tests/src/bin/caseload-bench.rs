//! Benchmark: the caseload with 1,000 cases on the device (each of 50 to 300 changes, as a
//! year of work leaves them), in headless Chromium against the real app, offline:
//! - cold start (page load) to the caseload listing all 1,000 cases, p50/p95;
//! - memory once it is up (the JS heap and the app's wasm memory).
//!
//! Side by side in the same run, on the same bytes: `@automerge/automerge` in Node loading all
//! 1,000 documents and reading each case's name and actions (what an app that keeps no
//! per-case summary must do to draw such a list), and our own Rust doing the same natively.
//!
//! Needs what `scripts/test.sh` builds (dist/, the relay binary, Chromium).
//! Run: `cargo run -p e2e --release --bin caseload-bench` (`CASES=…` to change the count).

use automerge::AutoCommit;
use e2e::bench::{realistic_case, realistic_size};
use e2e::{devtools, eventually, js, Driver, Relay};
use shared::caseload::CaseRow;
use shared::record::CaseRecord;
use shared::storage_key::StorageKey;
use shared::DocumentId;
use std::time::Instant;

const SAMPLES: usize = 10;
const WARM_UP: usize = 2;
const BATCH: usize = 25;

fn p50_p95(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1];
    (at(0.5), at(0.95))
}

fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            out.push(if i <= c.len() {
                T[(n >> shift) as usize & 63] as char
            } else {
                '='
            });
        }
    }
    out
}

#[tokio::main]
async fn main() {
    let count: usize = std::env::var("CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(1_000);
    let built = Instant::now();
    let mut stored = Vec::new();
    let mut all_bytes = Vec::new();
    let mut total_changes = 0;
    for i in 0..count {
        let mut doc = realistic_case(i, realistic_size(i));
        total_changes += doc.get_changes(&[]).len();
        let id = DocumentId::random();
        let bytes = doc.save();
        let key = StorageKey::snapshot(&id, &doc.get_heads()).flat();
        let row = CaseRow::from_record(&CaseRecord::from_document(&doc).unwrap());
        let summary = serde_json::json!({ "child_name": row.child, "row": row }).to_string();
        stored.push((key, base64(&bytes), id.to_string(), summary));
        all_bytes.push(bytes);
    }
    let kb: usize = all_bytes.iter().map(Vec::len).sum::<usize>() / 1024;
    println!(
        "{count} cases, {total_changes} changes, {kb} KB saved (built in {:.1} s)",
        built.elapsed().as_secs_f64()
    );

    let mut relay = Relay::start();
    let mut driver = Driver::start();
    let b = driver.browser().await;
    e2e::sign_in(&b, &relay, e2e::accounts::ADMIN_EMAIL).await;
    for batch in stored.chunks(BATCH) {
        let done = b
            .execute_async(
                "const [cases, done] = arguments; const open = indexedDB.open('tac-planner', 1);\
                 open.onsuccess = () => { const db = open.result; const tx = db.transaction(['chunks', 'cases'], 'readwrite');\
                 for (const [key, b64, id, summary] of cases) {\
                   tx.objectStore('chunks').put(Uint8Array.from(atob(b64), c => c.charCodeAt(0)), key);\
                   tx.objectStore('cases').put(summary, id); }\
                 tx.oncomplete = () => { db.close(); done('ok'); }; tx.onerror = () => done('error'); };",
                vec![serde_json::json!(batch)],
            )
            .await
            .unwrap();
        assert_eq!(done, "ok");
    }
    // Offline, so nothing but opening the app is measured (online, every case is then synced
    // in the background).
    relay.stop();
    devtools(
        &b,
        "Page.addScriptToEvaluateOnNewDocument",
        serde_json::json!({ "source": "addEventListener('TrunkApplicationStarted', e => { window.__wasm = e.detail.wasm; });" }),
    )
    .await;
    let mut start = Vec::new();
    for sample in 0..WARM_UP + SAMPLES {
        b.refresh().await.unwrap();
        let ms = eventually(60, "the whole caseload", || async {
            let v = js(
                &b,
                &format!("document.querySelectorAll('[data-testid=caseload-case]').length === {count} ? performance.now() : ''"),
            )
            .await;
            v.parse::<f64>().ok()
        })
        .await;
        if sample >= WARM_UP {
            start.push(ms);
        }
    }
    let heap = js(&b, "performance.memory.usedJSHeapSize").await;
    let wasm = js(
        &b,
        "window.__wasm ? window.__wasm.memory.buffer.byteLength : ''",
    )
    .await;
    let mb = |s: &str| s.parse::<f64>().unwrap_or(0.0) / 1_048_576.0;

    // The same list without summaries: every document loaded and read.
    let native = {
        let t = Instant::now();
        let mut names = 0;
        for bytes in &all_bytes {
            let doc = AutoCommit::load(bytes).unwrap();
            let r = CaseRecord::from_document(&doc).unwrap();
            names += usize::from(!CaseRow::from_record(&r).child.is_empty());
        }
        assert_eq!(names, count);
        t.elapsed().as_secs_f64() * 1000.0
    };
    let dir = tempfile::tempdir().unwrap();
    for (i, bytes) in all_bytes.iter().enumerate() {
        std::fs::write(dir.path().join(format!("{i}.am")), bytes).unwrap();
    }
    let lib = e2e::repo_root().join("tools/node_modules/@automerge/automerge");
    let script = format!(
        "const A = require({lib:?}); const fs = require('fs'); const dir = {dir:?};\
         const files = fs.readdirSync(dir).map(f => fs.readFileSync(dir + '/' + f));\
         const before = process.memoryUsage().heapUsed; const t = performance.now(); let n = 0;\
         const docs = files.map(b => A.load(b));\
         for (const d of docs) {{ const c = A.toJS(d); if (c.family.people[0].name) n++; }}\
         const ms = performance.now() - t; if (n !== {count}) throw new Error('missing');\
         console.log(JSON.stringify([ms, (process.memoryUsage().heapUsed - before) / 1048576]));",
        lib = lib.display().to_string(),
        dir = dir.path().display().to_string(),
    );
    let (js_ms, js_mb): (f64, f64) = e2e::node_json(&script);

    let (p50, p95) = p50_p95(start);
    println!("\n{SAMPLES} samples (after {WARM_UP} not counted)");
    println!("{:<78} {:>9} {:>9}", "what", "p50 ms", "p95 ms");
    println!(
        "{:<78} {p50:>9.1} {p95:>9.1}",
        format!("TAC Planner in Chromium: page load to all {count} cases listed, offline")
    );
    println!(
        "{:<78} {:>9.1}",
        format!("our Rust, native: load all {count} documents and read each case"),
        native
    );
    println!(
        "{:<78} {:>9.1}",
        format!("@automerge/automerge in Node: load all {count} documents and toJS each"),
        js_ms
    );
    println!(
        "\nmemory with the caseload up: JS heap {:.1} MB, wasm memory {:.1} MB",
        mb(&heap),
        mb(&wasm)
    );
    println!("@automerge/automerge in Node holding all {count} documents: {js_mb:.1} MB heap");
}
