//! Benchmark: the relay's memory per idle connection and per loaded case, and after idle cases
//! are unloaded, beside the JavaScript `@automerge/automerge-repo-sync-server` (npm, pinned in
//! tools/) doing the same in the same run.
//!
//! Run: `cargo build --release -p server && cargo run -p e2e --release --bin memory-bench`.
//! Needs the release relay, Node and `tools/node_modules`. About 3 minutes.
//!
//! For each server (a child process on 127.0.0.1; memory is its resident set, VmRSS, from
//! /proc): the resident set after start; with `BENCH_IDLE` (default 200) connections that
//! have joined and opened nothing; after they close; then twice over, after one client has
//! uploaded `BENCH_CASES` (default 500) new cases of realistic size (50–300 changes) and
//! gone, and after a quiet period (`BENCH_QUIET_SECS`, default 10; our relay runs with
//! `--unload-after-secs` set to it). The second round shows whether what unloading frees is
//! used again (memory bounded) or lost (growing). After each round a new device opens one of
//! the cases and must find it whole.
//!
//! `BENCH_HOLD_SECS` keeps each server running that long after its rounds, to take a heap
//! profile of it (e.g. `TAC_RELAY_BIN` set to a script that runs the relay under
//! `valgrind --tool=massif`, then `vgdb --pid=… detailed_snapshot FILE`).

use e2e::bench::{
    env_num, realistic_case, realistic_size, start_js, start_ours_with, Conn, JsMode, Res, Server,
};
use shared::sync::Holding;
use shared::DocumentId;
use std::time::Duration;

/// A line of the process's /proc status in KiB (`VmRSS:`, `RssAnon:`, `RssFile:`).
fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// The process's resident set in KiB.
fn rss_kib(pid: u32) -> u64 {
    status_kib(pid, "VmRSS:")
}

struct Reading {
    start: u64,
    idle: u64,
    /// After the idle connections closed.
    before_cases: u64,
    /// (cases loaded, after the quiet period) for each round.
    rounds: Vec<(u64, u64)>,
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

    let mut rounds = Vec::new();
    for _ in 0..env_num("BENCH_ROUNDS", 2.0) as usize {
        rounds.push(upload_and_idle(server, cases, quiet).await?);
    }
    Ok(Reading {
        start,
        idle: idle_rss,
        before_cases,
        rounds,
    })
}

/// One client uploads `cases` as new cases and goes: the resident set then, and after the
/// quiet period. Then a new device opens one of them and must find it whole.
async fn upload_and_idle(server: &Server, cases: &[Vec<u8>], quiet: Duration) -> Res<(u64, u64)> {
    let pid = server.child.id();
    let login = server.logins.first();
    let url = server.ws_url();
    let mut a = Conn::connect(&url, login).await?;
    let mut ids: Vec<DocumentId> = Vec::new();
    for bytes in cases {
        ids.push(a.upload(login, bytes).await?);
    }
    a.until_within(|c| c.client.unsent_total() == 0, Duration::from_secs(120))
        .await?;
    drop(a);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let loaded = rss_kib(pid);
    tokio::time::sleep(quiet + Duration::from_secs(5)).await;
    let after_quiet = rss_kib(pid);
    // What stays: the heap (anonymous) or files mapped in (file-backed, e.g. the database's).
    println!(
        "  {}: after the quiet period {:.1} MiB = {:.1} MiB anonymous + {:.1} MiB file-backed + {:.1} MiB shared",
        server.name.split(',').next().unwrap_or(server.name),
        mib(after_quiet),
        mib(status_kib(pid, "RssAnon:")),
        mib(status_kib(pid, "RssFile:")),
        mib(status_kib(pid, "RssShmem:"))
    );
    if std::env::var("BENCH_THREADS").is_ok() {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let threads = status
            .lines()
            .find(|l| l.starts_with("Threads:"))
            .unwrap_or("");
        println!(
            "  loaded {} MiB, after quiet {} MiB, {threads}",
            loaded / 1024,
            after_quiet / 1024
        );
    }

    let mut b = Conn::connect(&url, login).await?;
    let middle = ids.len() / 2;
    let effects = b.client.request(ids[middle]);
    b.carry_out(effects).await?;
    b.until(|c| c.client.holding(&ids[middle]) != Some(Holding::Requested))
        .await?;
    let want = automerge::AutoCommit::load(&cases[middle])
        .map_err(|e| e.to_string())?
        .get_heads();
    let got = b
        .client
        .document_mut(&ids[middle])
        .ok_or("the case did not come back")?
        .get_heads();
    if got != want {
        return Err("the case came back different".into());
    }
    Ok((loaded, after_quiet))
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
        "{idle} idle connections; {n} cases a round, {:.1} MiB saved in all; quiet period {} s\n",
        bytes as f64 / 1048576.0,
        quiet.as_secs()
    );
    let quiet_flag = quiet.as_secs().to_string();
    let ours = start_ours_with(1, &["--unload-after-secs", &quiet_flag]).await?;
    let js = start_js(JsMode::AsPublished)?;
    println!(
        "{:<30} {:>9} {:>13} {:>12} | {:>13} {:>10} {:>12} | {:>13} {:>12}",
        "server",
        "start",
        "per idle conn",
        "before cases",
        "500 loaded",
        "per case",
        "after quiet",
        "500 more",
        "after quiet"
    );
    for server in [&ours, &js] {
        let r = measure(server, idle, &cases, quiet).await;
        // Time to take a heap profile of the server as it stands (e.g. valgrind's vgdb).
        let hold = env_num("BENCH_HOLD_SECS", 0.0);
        if hold > 0.0 {
            println!(
                "  holding {} (pid {}) for {hold} s",
                server.name,
                server.child.id()
            );
            tokio::time::sleep(Duration::from_secs_f64(hold)).await;
        }
        let r = match r {
            Ok(r) => r,
            Err(e) => {
                println!("{:<30} failed: {e}", server.name);
                continue;
            }
        };
        let (loaded, quiet1) = r.rounds[0];
        let (loaded2, quiet2) = *r.rounds.last().expect("a round");
        if r.rounds.len() > 2 {
            let after: Vec<String> = r
                .rounds
                .iter()
                .map(|(_, q)| format!("{:.1}", mib(*q)))
                .collect();
            println!("  after each quiet period (MiB): {}", after.join(", "));
        }
        println!(
            "{:<30} {:>5.1} MiB {:>9.1} KiB {:>8.1} MiB | {:>9.1} MiB {:>6.1} KiB {:>8.1} MiB | {:>9.1} MiB {:>8.1} MiB",
            server.name.split(',').next().unwrap_or(server.name),
            mib(r.start),
            r.idle.saturating_sub(r.start) as f64 / idle as f64,
            mib(r.before_cases),
            mib(loaded),
            loaded.saturating_sub(r.before_cases) as f64 / n as f64,
            mib(quiet1),
            mib(loaded2),
            mib(quiet2),
        );
    }
    Ok(())
}
