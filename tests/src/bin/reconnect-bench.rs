//! Benchmark: a device coming back online with a real caseload, our client and relay against
//! `@automerge/automerge-repo` (JS, pinned in tools/) and its sync server, in the same run, on
//! loopback.
//!
//! Run: `cargo build --release -p server && cargo run -p e2e --release --bin reconnect-bench`.
//! Needs the release relay (or `TAC_RELAY_BIN`), Node and `tools/node_modules`. About 2 minutes.
//! `CASES` (default 1,000) and `CHANGED` (default 10, per cent) change the caseload.
//!
//! # What runs
//! The same documents on both sides: `CASES` cases of 50 to 300 changes each (as the caseload
//! benchmark makes them), and for `CHANGED` per cent of them a day's edits made elsewhere
//! (10 changes each: dates and evidence on their actions), as bytes.
//! - Ours: device A is our sans-IO `SyncClient` holding every case, over a real WebSocket to
//!   the release relay; device B is a second client of the same practitioner.
//! - JS: `tests/bench/reconnect-peer.mjs`, device A a `Repo` with storage on disk holding every
//!   case, device B a second `Repo`, against `@automerge/automerge-repo-sync-server` as
//!   published.
//!
//! Each device A talks to its server through a byte-counting TCP proxy here. A uploads every
//! case; the proxy cuts A off and lets it back at once (0% changed); cuts it off again while
//! B applies the edits and the server has them, then lets A back (`CHANGED`% changed). For
//! each return the proxy counts every byte both ways (HTTP upgrade and WebSocket framing
//! included, alike for both) and the time from A's new connection to the last byte before a
//! second of quiet. Then A's copy of each edited case must have B's heads.
//! Goal (caseload issue): at most 1.2× the JS bytes, and under 2 s.

use automerge::ChangeHash;
use e2e::bench::{
    day_of_edits, realistic_case, realistic_size, start_js, start_ours, Conn, JsMode, Res,
};
use futures::StreamExt;
use shared::sync::{Holding, SyncClient};
use shared::DocumentId;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::Command;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// Traffic has ended once nothing has passed for this long.
const QUIET: Duration = Duration::from_secs(1);
/// Longest any phase may take.
const PHASE_LIMIT: Duration = Duration::from_secs(300);
/// Returns with nothing changed, for a steadier time.
const UNCHANGED_ROUNDS: usize = 3;

// ---------------------------------------------------------------- the byte-counting proxy

#[derive(Default)]
struct Traffic {
    open: AtomicBool,
    up: AtomicU64,
    down: AtomicU64,
    first: Mutex<Option<Instant>>,
    last: Mutex<Option<Instant>>,
    connections: Mutex<Vec<JoinHandle<()>>>,
}

/// A TCP proxy on 127.0.0.1 in front of a server: counts bytes, can cut its clients off.
struct Proxy {
    port: u16,
    traffic: Arc<Traffic>,
}

/// What passed through the proxy since it last let clients in.
#[derive(Clone, Copy)]
struct Counted {
    up: u64,
    down: u64,
    seconds: f64,
}

impl Proxy {
    async fn start(target: u16) -> Res<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let traffic = Arc::new(Traffic::default());
        traffic.open.store(true, SeqCst);
        let t = traffic.clone();
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                if !t.open.load(SeqCst) {
                    continue; // dropped: the client sees the connection close
                }
                let t2 = t.clone();
                let connection = tokio::spawn(async move {
                    let Ok(outbound) = TcpStream::connect(("127.0.0.1", target)).await else {
                        return;
                    };
                    let _ = inbound.set_nodelay(true);
                    let _ = outbound.set_nodelay(true);
                    t2.first.lock().unwrap().get_or_insert_with(Instant::now);
                    let (client_read, client_write) = inbound.into_split();
                    let (server_read, server_write) = outbound.into_split();
                    tokio::join!(
                        pipe(client_read, server_write, &t2.up, &t2),
                        pipe(server_read, client_write, &t2.down, &t2)
                    );
                });
                t.connections.lock().unwrap().push(connection);
            }
        });
        Ok(Proxy { port, traffic })
    }

    /// Closes every connection and turns new ones away.
    fn cut(&self) {
        self.traffic.open.store(false, SeqCst);
        for c in self.traffic.connections.lock().unwrap().drain(..) {
            c.abort();
        }
    }

    /// Lets clients in again, counting afresh.
    fn reopen(&self) {
        self.traffic.up.store(0, SeqCst);
        self.traffic.down.store(0, SeqCst);
        *self.traffic.first.lock().unwrap() = None;
        *self.traffic.last.lock().unwrap() = None;
        self.traffic.open.store(true, SeqCst);
    }

    /// Whether a client has come and traffic has since stopped for [`QUIET`].
    fn quiet(&self) -> bool {
        let last = *self.traffic.last.lock().unwrap();
        last.is_some_and(|l| l.elapsed() >= QUIET)
    }

    async fn until_quiet(&self) -> Res<Counted> {
        let deadline = Instant::now() + PHASE_LIMIT;
        while !self.quiet() {
            if Instant::now() > deadline {
                return Err("traffic did not stop".into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(self.counted())
    }

    fn counted(&self) -> Counted {
        let first = *self.traffic.first.lock().unwrap();
        let last = *self.traffic.last.lock().unwrap();
        Counted {
            up: self.traffic.up.load(SeqCst),
            down: self.traffic.down.load(SeqCst),
            seconds: match (first, last) {
                (Some(f), Some(l)) => (l - f).as_secs_f64(),
                _ => 0.0,
            },
        }
    }
}

async fn pipe(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, count: &AtomicU64, t: &Traffic) {
    let mut buf = vec![0u8; 64 * 1024];
    while let Ok(n) = from.read(&mut buf).await {
        if n == 0 {
            break;
        }
        count.fetch_add(n as u64, SeqCst);
        *t.last.lock().unwrap() = Some(Instant::now());
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

// ---------------------------------------------------------------- the caseload

struct Caseload {
    /// Every case, saved whole.
    bases: Vec<Vec<u8>>,
    /// (case index, the changes made elsewhere) for the changed cases.
    edits: Vec<(usize, Vec<u8>)>,
}

fn caseload(count: usize, changed_percent: usize) -> Res<Caseload> {
    let mut bases = Vec::new();
    let mut edits = Vec::new();
    let every = (100 / changed_percent.max(1)).max(1);
    for i in 0..count {
        let base = realistic_case(i, realistic_size(i)).save();
        if changed_percent > 0 && i % every == 0 {
            edits.push((i, day_of_edits(&base, i)?));
        }
        bases.push(base);
    }
    Ok(Caseload { bases, edits })
}

// ---------------------------------------------------------------- ours

/// Handles frames until the proxy has seen a second of quiet.
async fn pump_until_quiet(conn: &mut Conn, proxy: &Proxy) -> Res<Counted> {
    let deadline = Instant::now() + PHASE_LIMIT;
    loop {
        match tokio::time::timeout(Duration::from_millis(50), conn.ws.next()).await {
            Ok(Some(Ok(WsMessage::Binary(frame)))) => {
                let effects = conn.client.receive(&frame).map_err(|e| e.to_string())?;
                conn.carry_out(effects).await?;
            }
            Ok(Some(Ok(_))) => {}
            Ok(other) => return Err(format!("the relay closed: {other:?}")),
            Err(_) if proxy.quiet() => return Ok(proxy.counted()),
            Err(_) if Instant::now() > deadline => return Err("sync did not end".into()),
            Err(_) => {}
        }
    }
}

/// Takes a device offline, keeping what it holds.
fn offline(conn: Conn, proxy: &Proxy) -> SyncClient {
    proxy.cut();
    let mut client = conn.client;
    client.disconnected();
    client
}

async fn ours(load: &Caseload) -> Res<(Vec<Counted>, Counted)> {
    let server = start_ours(1).await?;
    let login = &server.logins[0];
    let a_proxy = Proxy::start(server.port).await?;
    let b_proxy = Proxy::start(server.port).await?;
    let a_url = format!("ws://127.0.0.1:{}/sync", a_proxy.port);
    let b_url = format!("ws://127.0.0.1:{}/sync", b_proxy.port);

    // A makes every case (registered with the relay, as the app does) and uploads it.
    let mut a = Conn::connect(&a_url, Some(login)).await?;
    let mut ids = Vec::new();
    for bytes in &load.bases {
        ids.push(a.upload(Some(login), bytes).await?);
    }
    pump_until_quiet(&mut a, &a_proxy).await?;
    if a.client.unsent_total() != 0 {
        return Err("the upload did not finish".into());
    }

    let mut unchanged = Vec::new();
    let mut client = offline(a, &a_proxy);
    for _ in 0..UNCHANGED_ROUNDS {
        a_proxy.reopen();
        let mut a = Conn::connect_with(client, &a_url, Some(login)).await?;
        unchanged.push(pump_until_quiet(&mut a, &a_proxy).await?);
        client = offline(a, &a_proxy);
    }

    // B opens the cases to change, applies the day's edits, and the relay has them.
    let mut b = Conn::connect(&b_url, Some(login)).await?;
    let edited: Vec<DocumentId> = load.edits.iter().map(|(i, _)| ids[*i]).collect();
    for id in &edited {
        let effects = b.client.request(*id);
        b.carry_out(effects).await?;
    }
    b.until(|c| {
        edited
            .iter()
            .all(|id| c.client.holding(id) == Some(Holding::Have))
    })
    .await?;
    let mut expected: Vec<(DocumentId, Vec<ChangeHash>)> = Vec::new();
    for ((_, changes), id) in load.edits.iter().zip(&edited) {
        let doc = b.client.document_mut(id).ok_or("B lost a case")?;
        doc.load_incremental(changes).map_err(|e| e.to_string())?;
        expected.push((*id, doc.get_heads()));
        let effects = b.client.flush(id);
        b.carry_out(effects).await?;
    }
    pump_until_quiet(&mut b, &b_proxy).await?;
    if b.client.unsent_total() != 0 {
        return Err("B's edits did not reach the relay".into());
    }

    a_proxy.reopen();
    let mut a = Conn::connect_with(client, &a_url, Some(login)).await?;
    let changed = pump_until_quiet(&mut a, &a_proxy).await?;
    let arrived = expected
        .iter()
        .filter(|(id, heads)| {
            a.client
                .document_mut(id)
                .is_some_and(|d| &d.get_heads() == heads)
        })
        .count();
    if arrived != expected.len() {
        return Err(format!(
            "A has {arrived} of {} edited cases",
            expected.len()
        ));
    }
    Ok((unchanged, changed))
}

// ---------------------------------------------------------------- JS automerge-repo

async fn js(load: &Caseload) -> Res<(Vec<Counted>, Counted)> {
    let server = start_js(JsMode::AsPublished)?;
    let a_proxy = Proxy::start(server.port).await?;
    let b_proxy = Proxy::start(server.port).await?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    for sub in ["base", "edit"] {
        std::fs::create_dir(dir.path().join(sub)).map_err(|e| e.to_string())?;
    }
    for (i, bytes) in load.bases.iter().enumerate() {
        std::fs::write(dir.path().join(format!("base/{i:05}.am")), bytes)
            .map_err(|e| e.to_string())?;
    }
    for (i, bytes) in &load.edits {
        std::fs::write(dir.path().join(format!("edit/{i:05}.am")), bytes)
            .map_err(|e| e.to_string())?;
    }
    let mut node = Command::new("node")
        .arg(e2e::repo_root().join("tests/bench/reconnect-peer.mjs"))
        .arg(format!("ws://127.0.0.1:{}/", a_proxy.port))
        .arg(format!("ws://127.0.0.1:{}/", b_proxy.port))
        .arg(dir.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("starting node: {e}"))?;
    let mut stdin = node.stdin.take().ok_or("no stdin")?;
    let mut lines = BufReader::new(node.stdout.take().ok_or("no stdout")?).lines();
    let mut answer = async || -> Res<String> {
        match tokio::time::timeout(PHASE_LIMIT, lines.next_line()).await {
            Ok(Ok(Some(line))) => Ok(line),
            other => Err(format!("the JS peer stopped: {other:?}")),
        }
    };
    let uploaded = answer().await?;
    if uploaded != format!("uploaded {}", load.bases.len()) {
        return Err(format!("JS: {uploaded}"));
    }
    a_proxy.until_quiet().await?;

    let mut unchanged = Vec::new();
    for _ in 0..UNCHANGED_ROUNDS {
        a_proxy.cut();
        tokio::time::sleep(Duration::from_millis(500)).await;
        a_proxy.reopen();
        unchanged.push(a_proxy.until_quiet().await?);
    }
    a_proxy.cut();
    stdin
        .write_all(b"edit\n")
        .await
        .map_err(|e| e.to_string())?;
    let edited = answer().await?;
    if edited != format!("edited {}", load.edits.len()) {
        return Err(format!("JS: {edited}"));
    }
    b_proxy.until_quiet().await?;
    a_proxy.reopen();
    let changed = a_proxy.until_quiet().await?;
    stdin
        .write_all(b"check\n")
        .await
        .map_err(|e| e.to_string())?;
    let checked = answer().await?;
    let n = load.edits.len();
    if checked != format!("checked {n}/{n}") {
        return Err(format!("JS: {checked}"));
    }
    let _ = stdin.write_all(b"quit\n").await;
    Ok((unchanged, changed))
}

// ---------------------------------------------------------------- report

fn median(mut v: Vec<Counted>) -> Counted {
    v.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
    v[v.len() / 2]
}

fn row(what: &str, c: Counted) {
    println!(
        "  {what:<36} {:>10} {:>10} {:>10} {:>9.0} ms",
        c.up,
        c.down,
        c.up + c.down,
        c.seconds * 1000.0
    );
}

fn compare(title: &str, ours: Counted, js: Counted) {
    println!("{title}");
    row("ours (SyncClient + tac-relay)", ours);
    row("JS (automerge-repo + sync server)", js);
    println!(
        "  ours / JS: bytes {:.2}×, time {:.2}×",
        (ours.up + ours.down) as f64 / (js.up + js.down) as f64,
        ours.seconds / js.seconds
    );
}

#[tokio::main]
async fn main() {
    let count = e2e::bench::env_num("CASES", 1000.0) as usize;
    let changed = e2e::bench::env_num("CHANGED", 10.0) as usize;
    let made = Instant::now();
    let load = match caseload(count, changed) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("making the caseload: {e}");
            std::process::exit(1);
        }
    };
    let kb = load.bases.iter().map(Vec::len).sum::<usize>() / 1024;
    let edit_kb = load.edits.iter().map(|(_, e)| e.len()).sum::<usize>() as f64 / 1024.0;
    println!(
        "{count} cases ({kb} KB saved), {} changed elsewhere ({edit_kb:.1} KB of changes); made in {:.1} s",
        load.edits.len(),
        made.elapsed().as_secs_f64()
    );
    let (ours_unchanged, ours_changed) = match ours(&load).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ours: {e}");
            std::process::exit(1);
        }
    };
    let (js_unchanged, js_changed) = match js(&load).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("JS: {e}");
            std::process::exit(1);
        }
    };
    println!(
        "\n  {:<36} {:>10} {:>10} {:>10} {:>12}",
        "", "bytes up", "bytes down", "total", "time"
    );
    compare(
        &format!("Back online, nothing changed (median of {UNCHANGED_ROUNDS} returns):"),
        median(ours_unchanged),
        median(js_unchanged),
    );
    compare(
        &format!("Back online, {} cases changed elsewhere:", load.edits.len()),
        ours_changed,
        js_changed,
    );
    println!("Goal: at most 1.2× the JS bytes, and under 2 s.");
}
