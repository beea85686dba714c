//! Relay processes serving one PostgreSQL database together (`--relay-url`), for the
//! two-relay test and benchmark.

use super::{Login, Peer, PASSWORD};
use shared::case::{Case, Field};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn relay_bin() -> &'static str {
    env!("CARGO_BIN_EXE_tac-relay")
}

pub fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// A relay process serving alongside others; killed with SIGKILL when dropped.
pub struct Relay(Child);

impl Relay {
    pub fn start(url: &str, addr: SocketAddr, data: &std::path::Path) -> Relay {
        Relay::start_with(url, addr, data, true)
    }

    /// `together: false` starts it without `--relay-url`, to serve alone or stand by.
    pub fn start_with(
        url: &str,
        addr: SocketAddr,
        data: &std::path::Path,
        together: bool,
    ) -> Relay {
        let log = |name: &str| {
            std::fs::File::create(data.join(format!("{}-{name}.log", addr.port()))).unwrap()
        };
        let child = Command::new(relay_bin())
            .args(["--bind", &addr.to_string(), "--database-url", url])
            .args(if together {
                vec!["--relay-url".to_string(), format!("http://{addr}")]
            } else {
                Vec::new()
            })
            .arg("--data-dir")
            .arg(data)
            .arg("--dist")
            .arg(data)
            .env("RUST_LOG", "info")
            .stdout(log("out"))
            .stderr(log("err"))
            .spawn()
            .expect("relay starts");
        Relay(child)
    }

    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.kill();
    }
}

pub async fn until_listening(addr: SocketAddr) {
    let start = Instant::now();
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{addr} did not start"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A system administrator in the agency "Council", made with `create-admin`.
pub fn admin(url: &str, name: &str, email: &str) {
    let status = Command::new(relay_bin())
        .args(["create-admin", "--agency", "Council", "--name", name])
        .args(["--email", email, "--database-url", url])
        .env("TAC_ADMIN_PASSWORD", PASSWORD)
        .stdout(Stdio::null())
        .status()
        .expect("create-admin runs");
    assert!(status.success());
}

pub fn concerns(peer: &Peer, id: &shared::DocumentId) -> String {
    Case::from_document(peer.client.document(id).unwrap())
        .unwrap()
        .concerns
        .as_str()
        .to_string()
}

/// Appends ` word` to the concerns on `peer`'s device and sends it.
pub async fn type_word(peer: &mut Peer, id: &shared::DocumentId, word: &str) {
    let text = format!("{} {word}", concerns(peer, id));
    Field::Concerns
        .write(peer.client.document_mut(id).unwrap(), &text)
        .unwrap();
    peer.flush(id).await;
}

/// Connects `login`'s device to the relay at `addr`, retrying while it does not answer, as
/// the app does.
pub async fn reconnect(
    addr: SocketAddr,
    login: &Login,
    mut client: shared::sync::SyncClient,
) -> Peer {
    let start = Instant::now();
    loop {
        let ws = super::ws_connect(&format!("ws://{addr}/sync"), Some(&login.token)).await;
        if ws.is_ok() {
            drop(ws);
            return Peer::connect(&format!("ws://{addr}/sync"), login, client).await;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no relay to reconnect to"
        );
        client.disconnected();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Serves every device in turns (0.5 ms each) until `peers[to]` shows `word` in the concerns,
/// as the app does by always listening: a device answers the relay at once, and the relay
/// sends it its next change only once it has answered the one before. Panics after 10 s.
pub async fn until_shown(peers: &mut [Peer], to: usize, id: &shared::DocumentId, word: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !concerns(&peers[to], id).contains(word) {
        assert!(Instant::now() < deadline, "{word} never arrived");
        for p in peers.iter_mut() {
            p.idle(Duration::from_micros(500)).await;
        }
    }
}
