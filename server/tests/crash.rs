//! Crash safety with real processes: the relay binary is killed with SIGKILL at random
//! moments while 4 clients write to one case. After each restart, before any writer
//! reconnects (they would resend what was lost and hide it), a fresh device fetches the case
//! and must find every change the relay had acknowledged, and SQLite's integrity check must
//! pass. At the end everyone converges.
//!
//! `CRASH_KILLS` sets the number of kills (default 50), `CRASH_SEED` the seed (printed).

mod common;

use automerge::transaction::Transactable;
use common::{register_at, sign_in, Login, Peer, PASSWORD};
use shared::case::Case;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const EMAIL: &str = "ada@council.test";

struct Relay {
    bin: PathBuf,
    data: PathBuf,
    addr: SocketAddr,
    child: Option<Child>,
}

impl Relay {
    fn new(data: &Path) -> Relay {
        let bin = PathBuf::from(env!("CARGO_BIN_EXE_tac-relay"));
        let status = Command::new(&bin)
            .args(["create-admin", "--agency", "Council", "--name", "Ada"])
            .args(["--email", EMAIL, "--data-dir"])
            .arg(data)
            .env("TAC_ADMIN_PASSWORD", PASSWORD)
            .stdout(Stdio::null())
            .status()
            .expect("create-admin runs");
        assert!(status.success());
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Relay {
            bin,
            data: data.to_path_buf(),
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            child: None,
        }
    }

    async fn start(&mut self) {
        let child = Command::new(&self.bin)
            .arg("--bind")
            .arg(self.addr.to_string())
            .arg("--data-dir")
            .arg(&self.data)
            .arg("--dist")
            .arg(&self.data)
            .stdout(if std::env::var("CRASH_LOG").is_ok() {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .stderr(if std::env::var("CRASH_LOG").is_ok() {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .spawn()
            .expect("relay starts");
        self.child = Some(child);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(self.addr).await.is_err() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "relay did not listen"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGKILL: no shutdown, no flush.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    fn url(&self) -> String {
        format!("ws://{}/sync", self.addr)
    }

    async fn integrity(&self) -> String {
        use sqlx::ConnectOptions;
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(self.data.join("tac-planner.db"))
            .read_only(true)
            .connect()
            .await
            .unwrap();
        sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&mut conn)
            .await
            .unwrap()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.kill();
    }
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// One writer: types into the case and keeps note of the heads the relay acknowledged.
async fn write_until_gone(
    mut peer: Peer,
    id: shared::DocumentId,
    mut acked: Vec<automerge::ChangeHash>,
    n: usize,
) -> (shared::sync::SyncClient, Vec<automerge::ChangeHash>, usize) {
    let mut edits = 0;
    loop {
        let doc = peer.client.document_mut(&id).unwrap();
        let text = format!("w{n}-{edits} ");
        doc.put(automerge::ROOT, format!("w{n}"), text).unwrap();
        edits += 1;
        peer.flush(&id).await;
        let alive = peer.pump(Duration::from_millis(15)).await;
        if peer.client.unsent_changes(&id) == 0 {
            acked = peer.client.document_mut(&id).unwrap().get_heads();
        }
        if !alive {
            peer.client.disconnected();
            return (peer.client, acked, edits);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_changes_survive_sigkill() {
    let kills: usize = std::env::var("CRASH_KILLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(50);
    let seed: u64 = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("crash test: seed {seed} (replay with CRASH_SEED={seed})");
    let mut rng = Rng(seed);
    let data = tempfile::tempdir().unwrap();
    let mut relay = Relay::new(data.path());
    relay.start().await;
    let logins: Vec<Login> = {
        let mut v = Vec::new();
        for _ in 0..4 {
            v.push(sign_in(relay.addr, EMAIL, PASSWORD).await);
        }
        v
    };
    let url = relay.url();
    let mut first = Peer::connect(&url, &logins[0], logins[0].client("w0")).await;
    let (id, effects) = first
        .client
        .create(Case::new("Sam").into_document().unwrap());
    assert_eq!(register_at(relay.addr, &logins[0], &id).await, 201);
    first.run(effects).await;
    first
        .until("the case to reach the relay", |p| {
            p.client.unsent_changes(&id) == 0
        })
        .await;
    let mut clients = vec![first.client];
    for (n, login) in logins.iter().enumerate().skip(1) {
        let mut peer = Peer::connect(&url, login, login.client(&format!("w{n}"))).await;
        assert_eq!(peer.ask(id).await, shared::sync::Holding::Have);
        clients.push(peer.client);
    }
    let mut acked: Vec<Vec<automerge::ChangeHash>> = vec![Vec::new(); 4];
    let mut total_edits = 0;
    for kill in 0..kills {
        // Writers at work; the relay dies after a random moment.
        let mut writers = Vec::new();
        for (n, client) in clients.drain(..).enumerate() {
            let peer = Peer::connect(&url, &logins[n], client).await;
            writers.push(tokio::spawn(write_until_gone(
                peer,
                id,
                acked[n].clone(),
                n,
            )));
        }
        tokio::time::sleep(Duration::from_millis(50 + rng.next() % 350)).await;
        relay.kill();
        for (n, w) in writers.into_iter().enumerate() {
            let (client, heads, edits) = w.await.unwrap();
            clients.push(client);
            acked[n] = heads;
            total_edits += edits;
        }
        relay.start().await;
        assert_eq!(relay.integrity().await, "ok", "after kill {kill}");
        // A device that never had the case: whatever the relay acknowledged must be there.
        let mut fresh =
            Peer::connect(&url, &logins[0], logins[0].client(&format!("x{kill}"))).await;
        assert_eq!(fresh.ask(id).await, shared::sync::Holding::Have);
        let wanted: Vec<_> = acked.iter().flatten().copied().collect();
        fresh
            .until(&format!("acknowledged changes after kill {kill}"), |p| {
                let doc = p.client.document_mut(&id).unwrap();
                wanted.iter().all(|h| doc.get_change_by_hash(h).is_some())
            })
            .await;
        fresh.close().await;
    }
    // Everyone back, and converged.
    let mut peers = Vec::new();
    for (n, client) in clients.drain(..).enumerate() {
        peers.push(Peer::connect(&url, &logins[n], client).await);
    }
    for _ in 0..50 {
        for p in &mut peers {
            p.flush(&id).await;
            p.pump(Duration::from_millis(20)).await;
        }
        let mut heads: Vec<_> = peers
            .iter_mut()
            .map(|p| {
                let mut h = p.client.document_mut(&id).unwrap().get_heads();
                h.sort();
                h
            })
            .collect();
        heads.dedup();
        if heads.len() == 1 && peers.iter_mut().all(|p| p.client.unsent_changes(&id) == 0) {
            eprintln!("crash test: {kills} kills survived, {total_edits} edits, nothing acknowledged lost");
            return;
        }
    }
    panic!("the writers did not converge after {kills} kills");
}
