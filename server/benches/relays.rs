//! Benchmark: live latency through one relay against through two (a relay forwarding to the
//! one that works on the case), in the same run, and failover time (a kill to the first
//! change delivered again). Relays are debug or release builds as cargo built them.
//!
//! Run: `TAC_TEST_POSTGRES=$(scripts/postgres.sh start /tmp/pg 55432) cargo bench -p server
//! --bench relays`. Two relay processes on one throwaway database, on 127.0.0.1.
//!
//! A keystroke is a word appended to the case's concerns on one device and sent; its latency
//! is the time until another device's copy shows it. The three devices are read in turns of
//! 0.5 ms each, so a sample may be up to ~1.5 ms late. Rounds alternate between three paths,
//! so the machine's load falls on each alike:
//! - one relay: Ada's laptop and Ada's tablet, both connected to relay A, which holds the case;
//! - two relays, A to B: Ada (relay A) to Ben, connected to relay B, which forwards to A;
//! - two relays, B to A: Ben to Ada.

#[path = "../tests/common/mod.rs"]
mod common;

use common::relays::{
    admin, concerns, free_addr, reconnect, type_word, until_listening, until_shown, Relay,
};
use common::{http, register_at, sign_in, Peer, PASSWORD};
use shared::case::Case;
use std::time::{Duration, Instant};

const ROUNDS: usize = 300;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(bench());
}

fn percentile(samples: &mut [Duration], p: f64) -> f64 {
    samples.sort();
    let i = ((samples.len() as f64 * p).ceil() as usize).clamp(1, samples.len()) - 1;
    samples[i].as_secs_f64() * 1000.0
}

async fn bench() {
    let Some(url) = common::fresh_postgres_database().await else {
        eprintln!(
            "relays bench: set TAC_TEST_POSTGRES to a PostgreSQL server (scripts/postgres.sh)"
        );
        std::process::exit(2);
    };
    let data = tempfile::tempdir().unwrap();
    admin(&url, "Ada", "ada@council.test");
    admin(&url, "Ben", "ben@council.test");
    let (a_addr, b_addr) = (free_addr(), free_addr());
    common::authenticator::relay_uses(a_addr, &url);
    common::authenticator::relay_uses(b_addr, &url);
    let mut a = Relay::start(&url, a_addr, data.path());
    let _b = Relay::start(&url, b_addr, data.path());
    until_listening(a_addr).await;
    until_listening(b_addr).await;

    let ada_login = sign_in(a_addr, "ada@council.test", PASSWORD).await;
    let ben_login = sign_in(b_addr, "ben@council.test", PASSWORD).await;
    let ws = |addr| format!("ws://{addr}/sync");
    let mut ada = Peer::connect(&ws(a_addr), &ada_login, ada_login.client("laptop")).await;
    let (id, effects) = ada.client.create(Case::new("Jo").into_document().unwrap());
    assert_eq!(register_at(a_addr, &ada_login, &id).await, 201);
    ada.run(effects).await;
    type_word(&mut ada, &id, "Started.").await;
    ada.until("the case stored", |p| p.client.unsent_changes(&id) == 0)
        .await;
    let added = http(
        a_addr,
        "POST",
        &format!("/api/cases/{id}/members"),
        Some(&ada_login.token),
        Some(&serde_json::json!({ "professional_id": ben_login.id })),
    )
    .await;
    assert!(added.status < 300);
    let mut tablet = Peer::connect(&ws(a_addr), &ada_login, ada_login.client("tablet")).await;
    let mut ben = Peer::connect(&ws(b_addr), &ben_login, ben_login.client("ben")).await;
    for p in [&mut tablet, &mut ben] {
        assert_eq!(p.ask(id).await, shared::sync::Holding::Have);
    }

    // Ada's laptop and tablet at relay A, Ben at relay B, all served in turns (until_shown).
    let mut peers = [ada, tablet, ben];
    let paths = [(0, 1), (0, 2), (2, 0)];
    let mut samples: [Vec<Duration>; 3] = Default::default();
    for round in 0..ROUNDS {
        let word = format!("w{round}");
        let (from, to) = paths[round % 3];
        let typed = Instant::now();
        type_word(&mut peers[from], &id, &word).await;
        until_shown(&mut peers, to, &id, &word).await;
        samples[round % 3].push(typed.elapsed());
        // Everyone catches up before the next round.
        for p in peers.iter_mut() {
            p.idle(Duration::from_millis(5)).await;
        }
    }
    let [mut one, mut a_to_b, mut b_to_a] = samples;
    let [ada, tablet, ben] = peers;
    println!("\nLive latency, a word typed on one device until another device shows it ({} rounds each):", ROUNDS / 3);
    println!(
        "  {:<40} {:>8} {:>8} {:>8}",
        "path", "p50 ms", "p95 ms", "p99 ms"
    );
    for (name, samples) in [
        ("one relay (A to A)", &mut one),
        ("two relays (A to B, forwarded)", &mut a_to_b),
        ("two relays (B to A, forwarded)", &mut b_to_a),
    ] {
        println!(
            "  {name:<40} {:>8.1} {:>8.1} {:>8.1}",
            percentile(samples, 0.5),
            percentile(samples, 0.95),
            percentile(samples, 0.99)
        );
    }
    let p95 = percentile(&mut a_to_b, 0.95).max(percentile(&mut b_to_a, 0.95));
    println!(
        "  target: p95 through two relays under 150 ms: {}",
        if p95 < 150.0 { "met" } else { "NOT met" }
    );

    // Failover: relay A, which holds the case, is killed; everyone reconnects to B.
    a.kill();
    let killed = Instant::now();
    drop(tablet);
    let mut ada = reconnect(b_addr, &ada_login, ada.client).await;
    let mut ben = reconnect(b_addr, &ben_login, ben.client).await;
    type_word(&mut ben, &id, "after").await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !concerns(&ada, &id).contains("after") {
        assert!(
            Instant::now() < deadline,
            "no change delivered after the kill"
        );
        ada.idle(Duration::from_millis(20)).await;
        ben.idle(Duration::from_millis(1)).await;
    }
    println!(
        "Failover: relay A killed; a change made at relay B reached another device {} ms later \
         (including the takeover's wait for A's last database check).",
        killed.elapsed().as_millis()
    );
}
