//! Two relay processes on one PostgreSQL database: one serves, the other stands by. The
//! serving one is killed with SIGKILL while a client writes; the standby takes over within
//! 20 seconds (about 8: it waits out the dead relay's last database check) with everything
//! stored, the client's session still works there, and the words it
//! typed that the dead relay never acknowledged arrive when it reconnects.
//!
//! Needs PostgreSQL: `scripts/test.sh` runs it with `TAC_TEST_POSTGRES` set and `--ignored`.

mod common;

use common::relays::{free_addr, relay_bin, Relay};
use common::{register_at, sign_in, Peer, PASSWORD};
use shared::case::{Case, Field};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const EMAIL: &str = "ada@council.test";

/// The relay's peer id, as the browser heard it on connecting.
fn relay_id(peer: &Peer) -> String {
    peer.events
        .iter()
        .find_map(|e| match e {
            shared::sync::Effect::Connected { relay_peer_id } => Some(relay_peer_id.clone()),
            _ => None,
        })
        .expect("connected")
}

async fn listening(addr: SocketAddr) -> bool {
    tokio::net::TcpStream::connect(addr).await.is_ok()
}

/// Waits up to `limit` for `addr` to accept connections; how long it took.
async fn until_listening(addr: SocketAddr, limit: Duration) -> Duration {
    let start = Instant::now();
    while !listening(addr).await {
        assert!(start.elapsed() < limit, "{addr} did not start serving");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    start.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (TAC_TEST_POSTGRES); scripts/test.sh runs it"]
async fn a_standby_relay_takes_over_when_the_serving_one_is_killed() {
    let url = common::fresh_postgres_database()
        .await
        .expect("TAC_TEST_POSTGRES names a PostgreSQL server");
    let data = tempfile::tempdir().unwrap();
    let status = Command::new(relay_bin())
        .args(["create-admin", "--agency", "Council", "--name", "Ada"])
        .args(["--email", EMAIL, "--database-url", &url])
        .env("TAC_ADMIN_PASSWORD", PASSWORD)
        .stdout(Stdio::null())
        .status()
        .expect("create-admin runs");
    assert!(status.success());

    let (a_addr, b_addr) = (free_addr(), free_addr());
    // One database behind both: the administrator's authenticator app works at either.
    common::authenticator::relay_uses(a_addr, &url);
    common::authenticator::relay_uses(b_addr, &url);
    // Without --relay-url: one serves, the other stands by.
    let mut a = Relay::start_with(&url, a_addr, data.path(), false);
    until_listening(a_addr, Duration::from_secs(30)).await;
    let _b = Relay::start_with(&url, b_addr, data.path(), false);
    // The second relay stands by: it does not serve while the first one does.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(!listening(b_addr).await, "two relays serving one database");

    let login = sign_in(a_addr, EMAIL, PASSWORD).await;
    let mut ada = Peer::connect(&format!("ws://{a_addr}/sync"), &login, login.client("ada")).await;
    let first_relay = relay_id(&ada);
    let (id, effects) = ada.client.create(Case::new("Jo").into_document().unwrap());
    assert_eq!(register_at(a_addr, &login, &id).await, 201);
    ada.run(effects).await;
    Field::Concerns
        .write(
            ada.client.document_mut(&id).unwrap(),
            "Stored before the relay died.",
        )
        .unwrap();
    ada.flush(&id).await;
    ada.until("acknowledgement", |p| p.client.unsent_changes(&id) == 0)
        .await;

    // Typed on the device, then the serving relay dies before taking it.
    a.kill();
    let killed = Instant::now();
    Field::Concerns
        .write(
            ada.client.document_mut(&id).unwrap(),
            "Stored before the relay died. Typed as it died.",
        )
        .unwrap();
    ada.flush(&id).await;

    let took_over = until_listening(b_addr, Duration::from_secs(20)).await;
    println!(
        "failover: the standby served {} ms after the kill",
        killed.elapsed().as_millis()
    );
    assert!(took_over < Duration::from_secs(20));

    // The same session works on the standby (sessions live in the database), and the device
    // resends what the dead relay never acknowledged.
    let mut ada = Peer::connect(&format!("ws://{b_addr}/sync"), &login, ada.client).await;
    // One service: the standby answers with the same peer id.
    assert_eq!(relay_id(&ada), first_relay);
    ada.flush(&id).await;
    ada.until("the typed words to reach the standby", |p| {
        p.client.unsent_changes(&id) == 0
    })
    .await;

    // A new device, signed in afresh on the standby, gets all of it.
    let again = sign_in(b_addr, EMAIL, PASSWORD).await;
    let mut fresh = Peer::connect(
        &format!("ws://{b_addr}/sync"),
        &again,
        again.client("fresh"),
    )
    .await;
    assert_eq!(fresh.ask(id).await, shared::sync::Holding::Have);
    let case = Case::from_document(fresh.client.document(&id).unwrap()).unwrap();
    assert_eq!(
        case.concerns.as_str(),
        "Stored before the relay died. Typed as it died."
    );
}
