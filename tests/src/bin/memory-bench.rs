//! Benchmark: the relay's memory per idle connection and per loaded case, and after idle cases
//! are unloaded, beside the JavaScript `@automerge/automerge-repo-sync-server` (npm, pinned in
//! tools/) doing the same in the same run.
//!
//! Run: `cargo build --release -p server && cargo run -p e2e --release --bin memory-bench`.
//! Needs the release relay, Node and `tools/node_modules`. About 2 minutes.
//!
//! For each server (a child process on 127.0.0.1; memory is its resident set, VmRSS, from
//! /proc): the resident set after start; with `BENCH_IDLE` (default 200) connections that
//! have joined and opened nothing; after one client has uploaded `BENCH_CASES` (default 500)
//! cases of realistic size (50–300 changes) and gone; and after a quiet period
//! (`BENCH_QUIET_SECS`, default 10; our relay runs with `--unload-after-secs` set to it).
//! Then a new client opens a case from each server and must find it whole.

use e2e::bench::{
    env_num, realistic_case, realistic_size, start_js, start_ours_with, Conn, JsMode, Res, Server,
};
use shared::sync::Holding;
use shared::DocumentId;
use std::time::Duration;

/// The process's resident set in KiB.
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

struct Reading {
    start: u64,
    /// After the idle connections closed.
    before_cases: u64,
    idle: u64,
    loaded: u64,
    quiet: u64,
}

async fn measure(server: &Server, idle: usize, cases: &[Vec<u8>], quiet: Duration) -> Res<Reading> {
    let pid = server.child.id();
    let login = server.logins.first();
    let url = server.ws_url();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let start = rss_kib(pid);

    let mut conns = Vec::new();
    for _ in 0..idle {
        conns.push(Conn::connect(&url, login).await?);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_rss = rss_kib(pid);
    drop(conns);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before_cases = rss_kib(pid);

    let mut a = Conn::connect(&url, login).await?;
    let mut ids: Vec<DocumentId> = Vec::new();
    for bytes in cases {
        let doc = automerge::AutoCommit::load(bytes).map_err(|e| e.to_string())?;
        let (id, _) = a.client.create(doc);
        if let Some(login) = login {
            let (status, body) = login.call(
                "POST",
                "/api/cases",
                Some(serde_json::json!({ "id": id.to_string() })),
            );
            if status != 201 {
                return Err(format!("registering a case: {status} {body}"));
            }
        }
        let effects = a.client.resync(&id);
        a.carry_out(effects).await?;
        ids.push(id);
    }
    a.until_within(|c| c.client.unsent_total() == 0, Duration::from_secs(120))
        .await?;
    drop(a);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let loaded = rss_kib(pid);

    tokio::time::sleep(quiet + Duration::from_secs(5)).await;
    let quiet_rss = rss_kib(pid);

    // Still there: a new device opens a case and gets it whole.
    let mut b = Conn::connect(&url, login).await?;
    let id = ids[ids.len() / 2];
    let effects = b.client.request(id);
    b.carry_out(effects).await?;
    b.until(|c| c.client.holding(&id) != Some(Holding::Requested))
        .await?;
    let want = automerge::AutoCommit::load(&cases[ids.len() / 2])
        .map_err(|e| e.to_string())?
        .get_heads();
    let got = b
        .client
        .document_mut(&id)
        .ok_or("the case did not come back")?
        .get_heads();
    if got != want {
        return Err("the case came back different".into());
    }
    Ok(Reading {
        start,
        before_cases,
        idle: idle_rss,
        loaded,
        quiet: quiet_rss,
    })
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Res<()> {
    let idle = env_num("BENCH_IDLE", 200.0) as usize;
    let n = env_num("BENCH_CASES", 500.0) as usize;
    let quiet = Duration::from_secs(env_num("BENCH_QUIET_SECS", 10.0) as u64);
    let cases: Vec<Vec<u8>> = (0..n)
        .map(|i| realistic_case(i, realistic_size(i)).save())
        .collect();
    let bytes: usize = cases.iter().map(Vec::len).sum();
    println!(
        "{idle} idle connections; {n} cases, {:.1} MiB saved in all; quiet period {} s\n",
        bytes as f64 / 1048576.0,
        quiet.as_secs()
    );
    let quiet_flag = quiet.as_secs().to_string();
    let ours = start_ours_with(1, &["--unload-after-secs", &quiet_flag]).await?;
    let js = start_js(JsMode::AsPublished)?;
    println!(
        "{:<38} {:>9} {:>13} {:>13} {:>14} {:>14}",
        "server", "start", "per idle conn", "cases loaded", "per case", "after quiet"
    );
    for server in [&ours, &js] {
        let r = measure(server, idle, &cases, quiet).await?;
        println!(
            "{:<38} {:>5.1} MiB {:>9.1} KiB {:>9.1} MiB {:>10.1} KiB {:>10.1} MiB",
            server.name,
            mib(r.start),
            r.idle.saturating_sub(r.start) as f64 / idle as f64,
            mib(r.loaded),
            r.loaded.saturating_sub(r.before_cases) as f64 / n as f64,
            mib(r.quiet),
        );
    }
    Ok(())
}
