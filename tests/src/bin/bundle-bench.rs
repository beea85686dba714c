//! Benchmark: what a browser downloads to show TAC Planner, in bytes as the relay serves them
//! (brotli), read back from the real relay on 127.0.0.1.
//!
//! - The first screen: what index.html loads before the caseload or sign-in page can show
//!   (the first part of the wasm, its JS, the loader of the later parts, the CSS).
//! - The later parts (app/src/later.rs), which index.html only names for the browser to fetch
//!   when idle: the sync engine, the case screens, and the code they share.
//!
//! Side by side, in the same run: the named peer `@automerge/automerge` (npm, pinned in
//! tools/), whose wasm alone a JavaScript local-first app would load, compressed the same way.
//!
//! Needs what `scripts/test.sh` builds (dist/, the relay binary).
//! Run: `cargo run -p e2e --release --bin bundle-bench`.

use e2e::{node_json, repo_root, Relay};
use std::io::{Read, Write};
use std::net::TcpStream;

/// The caseload issue's budget for the first screen, in bytes.
const FIRST_SCREEN_BUDGET: usize = 600 * 1000;

/// A file as the relay sends it to a browser that takes brotli: (encoding, body bytes).
fn served(port: u16, path: &str) -> (String, usize) {
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
    let encoding = head
        .lines()
        .find_map(|l| l.strip_prefix("content-encoding: "))
        .unwrap_or("none")
        .to_string();
    (encoding, reply.len() - split - 4)
}

/// Every address in index.html matching `before` + address + `after`.
fn addresses(html: &str, before: &str, after: char) -> Vec<String> {
    html.match_indices(before)
        .filter_map(|(i, _)| {
            let rest = &html[i + before.len()..];
            rest.find(after).map(|end| rest[..end].to_string())
        })
        .collect()
}

fn main() {
    let relay = Relay::start();
    let port = relay.port;
    let html = {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(
            stream,
            "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).unwrap();
        reply
    };
    let mut first: Vec<String> = Vec::new();
    first.extend(addresses(&html, "import init, * as bindings from '", '\''));
    first.extend(addresses(&html, "module_or_path: '", '\''));
    first.extend(addresses(&html, "<link rel=\"stylesheet\" href=\"", '"'));
    first.extend(
        addresses(&html, "<link rel=\"modulepreload\" href=\"", '"')
            .into_iter()
            .filter(|a| !first.contains(a))
            .collect::<Vec<_>>(),
    );
    let later = addresses(&html, "<link rel=\"prefetch\" href=\"", '"');
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
    println!("  later parts (fetched when idle, and when first needed):");
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
