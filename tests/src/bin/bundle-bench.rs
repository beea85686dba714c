//! Benchmark: what a browser downloads to show TAC Planner, in bytes as the relay serves them
//! (brotli), read back from the real relay on 127.0.0.1.
//!
//! - The first screen: what index.html loads before the caseload or sign-in page can show
//!   (the first part of the wasm, its JS, the loader of the later parts, the CSS).
//! - The later parts (app/src/later.rs), which the app fetches as it starts, once the first
//!   part is running: the sync engine, the case screens, and the code they share.
//!
//! Side by side, in the same run: the named peer `@automerge/automerge` (npm, pinned in
//! tools/), whose wasm alone a JavaScript local-first app would load, compressed the same way.
//!
//! Then a first visit in headless Chromium over a slow mobile link (DevTools' emulation:
//! 1.6 Mbit/s down, 150 ms round trip, no cache): when the sign-in page can be used, and when
//! every later part has arrived.
//!
//! Needs what `scripts/test.sh` builds (dist/, the relay binary, Chromium).
//! Run: `cargo run -p e2e --release --bin bundle-bench`.

use e2e::{devtools, eventually, js, node_json, repo_root, Driver, Relay};
use std::io::{Read, Write};
use std::net::TcpStream;

/// The caseload issue's budget for the first screen, in bytes.
const FIRST_SCREEN_BUDGET: usize = 600 * 1000;

/// A GET to the relay as a browser that takes brotli: (head, lower-cased; body).
fn get(port: u16, path: &str) -> (String, Vec<u8>) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("the relay answers");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: br\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).unwrap();
    let split = reply
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP reply");
    let head = String::from_utf8_lossy(&reply[..split]).to_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{path}: {head}");
    assert!(
        !head.contains("transfer-encoding: chunked"),
        "{path} is sent whole"
    );
    (head, reply[split + 4..].to_vec())
}

/// A file as the relay sends it: (encoding, body bytes).
fn served(port: u16, path: &str) -> (String, usize) {
    let (head, body) = get(port, path);
    let encoding = head
        .lines()
        .find_map(|l| l.strip_prefix("content-encoding: "))
        .unwrap_or("none")
        .to_string();
    (encoding, body.len())
}

/// Visits to time over the slow link (each in a fresh browser profile).
const VISITS: usize = 3;

#[tokio::main]
async fn main() {
    let relay = Relay::start();
    let port = relay.port;
    // The page the relay serves (it compresses it on the fly, so it is read from the folder).
    let html = std::fs::read_to_string(repo_root().join("dist/index.html")).expect("dist/");
    let (first, later) = e2e::app_files(&html);
    assert!(first.len() >= 3, "index.html loads the app: {first:?}");

    let show = |paths: &[String]| -> usize {
        let mut total = 0;
        for path in paths {
            let (encoding, bytes) = served(port, path);
            println!("    {path:<58} {:>9} ({encoding})", bytes);
            total += bytes;
        }
        total
    };
    println!("What a browser downloads from the relay (bytes as served, brotli where taken)");
    println!("  first screen (caseload or sign-in):");
    let first_total = show(&first);
    println!("  later parts (fetched by the app as it starts):");
    let later_total = show(&later);

    let peer = repo_root().join("tools/node_modules/@automerge/automerge/dist/mjs/wasm_bindgen_output/web/automerge_wasm_bg.wasm");
    let peer_bytes: usize = node_json(&format!(
        "const z = require('zlib'); const b = require('fs').readFileSync({:?}); \
         console.log(z.brotliCompressSync(b, {{ params: {{ [z.constants.BROTLI_PARAM_QUALITY]: 11, [z.constants.BROTLI_PARAM_SIZE_HINT]: b.length }} }}).length)",
        peer.display().to_string()
    ));

    println!();
    println!("{:<70} {:>8}", "what", "KB");
    let kb = |b: usize| b as f64 / 1000.0;
    println!(
        "{:<70} {:>8.1}",
        "TAC Planner, first screen (wasm, JS and CSS before it shows)",
        kb(first_total)
    );
    println!(
        "{:<70} {:>8.1}",
        "TAC Planner, later parts (sync engine, case screens)",
        kb(later_total)
    );
    println!(
        "{:<70} {:>8.1}",
        "TAC Planner, everything",
        kb(first_total + later_total)
    );
    println!(
        "{:<70} {:>8.1}",
        "@automerge/automerge 3.5.0 (npm): its wasm alone, brotli 11",
        kb(peer_bytes)
    );
    let mut usable = Vec::new();
    let mut complete = Vec::new();
    for _ in 0..VISITS {
        let (u, c) = slow_first_visit(&relay, &later).await;
        usable.push(u);
        complete.push(c);
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "{:<70} {:>8.2}",
        "first visit at 1.6 Mbit/s: sign-in page usable after (s, median)",
        median(usable.clone())
    );
    println!(
        "{:<70} {:>8.2}",
        "first visit at 1.6 Mbit/s: every later part arrived after (s, median)",
        median(complete.clone())
    );
    println!("visits: usable {usable:.2?} s, complete {complete:.2?} s");
    println!(
        "first screen within the {} KB budget: {}",
        FIRST_SCREEN_BUDGET / 1000,
        if first_total <= FIRST_SCREEN_BUDGET {
            "yes"
        } else {
            "NO"
        }
    );
}

/// One first visit over the slow link: seconds until the sign-in page takes an email address,
/// and until every later part has arrived (the same, for a build that is not cut).
async fn slow_first_visit(relay: &Relay, later: &[String]) -> (f64, f64) {
    let mut driver = Driver::start();
    let b = driver.browser().await;
    devtools(&b, "Network.enable", serde_json::json!({})).await;
    devtools(
        &b,
        "Network.setCacheDisabled",
        serde_json::json!({ "cacheDisabled": true }),
    )
    .await;
    devtools(
        &b,
        "Network.emulateNetworkConditions",
        serde_json::json!({
            "offline": false,
            "latency": 150,
            "downloadThroughput": 1_600_000 / 8,
            "uploadThroughput": 750_000 / 8,
        }),
    )
    .await;
    b.goto(&relay.url()).await.unwrap();
    let usable = eventually(60, "the sign-in page", || async {
        js(
            &b,
            "document.querySelector('#email') ? performance.now() / 1000 : ''",
        )
        .await
        .parse::<f64>()
        .ok()
    })
    .await;
    let names: Vec<String> = later.iter().map(|p| format!("{p:?}")).collect();
    let complete = eventually(60, "every later part", || async {
        js(
            &b,
            &format!(
                "(() => {{ const want = [{}]; const end = {{}}; \
                 for (const r of performance.getEntriesByType('resource')) {{ const p = new URL(r.name).pathname; if (want.includes(p) && r.responseEnd > 0) end[p] = Math.max(end[p] || 0, r.responseEnd); }} \
                 return want.every(p => end[p]) ? Math.max({}, ...Object.values(end)) / 1000 : ''; }})()",
                names.join(","),
                usable * 1000.0
            ),
        )
        .await
        .parse::<f64>()
        .ok()
    })
    .await;
    b.close().await.unwrap();
    (usable, complete)
}
