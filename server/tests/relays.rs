//! Two relay processes serving one PostgreSQL database at once (`--relay-url`, see
//! `server/src/cluster.rs`): people connected to different relays co-edit a case live, a
//! membership given at one relay is in force at the other, and when the relay working on the
//! case is killed with SIGKILL during a burst of edits from both, the other takes the case
//! over, both devices converge, and every change either made is in the database.
//!
//! Needs PostgreSQL: `scripts/test.sh` runs it with `TAC_TEST_POSTGRES` set and `--ignored`.

mod common;

use automerge::ReadDoc;
use common::relays::{
    admin, concerns, free_addr, reconnect, type_word, until_listening, until_shown, Relay,
};
use common::{http, register_at, sign_in, Peer, PASSWORD};
use shared::case::Case;
use std::time::{Duration, Instant};

/// The peer id and storage id the relay at `addr` answers a `join` with.
async fn service_ids(
    addr: std::net::SocketAddr,
    login: &common::Login,
) -> (String, Option<String>) {
    use futures::{SinkExt, StreamExt};
    use shared::protocol::Message;
    let mut ws = common::ws_connect(&format!("ws://{addr}/sync"), Some(&login.token))
        .await
        .unwrap();
    let join = Message::Join {
        sender_id: format!("p{}-probe", login.id),
        supported_protocol_versions: vec!["1".into()],
        metadata: None,
    };
    ws.send(join.encode().into()).await.unwrap();
    while let Some(Ok(frame)) = ws.next().await {
        if let Ok(Message::Peer {
            sender_id,
            metadata,
            ..
        }) = Message::decode(&frame.into_data())
        {
            return (sender_id, metadata.and_then(|m| m.storage_id));
        }
    }
    panic!("no answer to the join");
}

/// Every change hash in `peer`'s copy of the case is in the database's stored chunks.
async fn all_stored(url: &str, id: &shared::DocumentId, hashes: &[automerge::ChangeHash]) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    let rows: Vec<(String, Vec<u8>)> =
        sqlx::query_as("SELECT key, data FROM documents WHERE key >= $1 AND key < $2")
            .bind(format!("{id}/"))
            .bind(format!("{id}0"))
            .fetch_all(&pool)
            .await
            .unwrap();
    // Stored sealed with the case's key (server::sealing).
    let keys = server::sealing::CaseKeys::new(pool.clone());
    let mut stored = automerge::Automerge::new();
    for (key, data) in rows {
        let plain = keys.open(&key, data).await.unwrap().unwrap();
        stored.load_incremental(&plain).unwrap();
    }
    let missing = hashes
        .iter()
        .filter(|h| stored.get_change_by_hash(h).is_none())
        .count();
    assert_eq!(missing, 0, "changes missing from PostgreSQL");
    pool.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (TAC_TEST_POSTGRES); scripts/test.sh runs it"]
async fn two_relays_serve_one_case_live_and_one_survives_the_other() {
    let url = common::fresh_postgres_database()
        .await
        .expect("TAC_TEST_POSTGRES names a PostgreSQL server");
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
    // A relay started without --relay-url (left over from an upgrade, say) does not serve
    // beside them: it would work on their cases behind their backs.
    let c_addr = free_addr();
    let _c = Relay::start_with(&url, c_addr, data.path(), false);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        tokio::net::TcpStream::connect(c_addr).await.is_err(),
        "a relay serving alone beside relays serving together"
    );

    // Ada works at relay A, Ben at relay B.
    let ada_login = sign_in(a_addr, "ada@council.test", PASSWORD).await;
    let ben_login = sign_in(b_addr, "ben@council.test", PASSWORD).await;
    let mut ada = Peer::connect(
        &format!("ws://{a_addr}/sync"),
        &ada_login,
        ada_login.client("ada"),
    )
    .await;
    let (id, effects) = ada.client.create(Case::new("Jo").into_document().unwrap());
    assert_eq!(register_at(a_addr, &ada_login, &id).await, 201);
    ada.run(effects).await;
    type_word(&mut ada, &id, "Started.").await;
    ada.until("the case to be stored", |p| {
        p.client.unsent_changes(&id) == 0
    })
    .await;

    // Ada adds Ben at relay B, which does not hold the case: it reads it from the store, and
    // tells relay A (which does) that Ben is a member.
    let added = http(
        b_addr,
        "POST",
        &format!("/api/cases/{id}/members"),
        Some(&ada_login.token),
        Some(&serde_json::json!({ "professional_id": ben_login.id })),
    )
    .await;
    assert!(
        added.status < 300,
        "invitation at relay B: {}",
        added.status
    );
    let mut ben = Peer::connect(
        &format!("ws://{b_addr}/sync"),
        &ben_login,
        ben_login.client("ben"),
    )
    .await;
    assert_eq!(ben.ask(id).await, shared::sync::Holding::Have);
    assert_eq!(concerns(&ben, &id), " Started.");
    // One service: both relays answer with the same peer id and storage id (made once,
    // though they started together on a new database), and Ben heard one answer.
    assert_eq!(ben.peers, 1);
    let at_a = service_ids(a_addr, &ada_login).await;
    assert!(at_a.1.is_some());
    assert_eq!(at_a, service_ids(b_addr, &ben_login).await);

    // Live, both ways: each word typed at one relay reaches the device at the other.
    let mut delays = Vec::new();
    let mut peers = [ada, ben];
    for i in 0..20 {
        let (from, to) = (i % 2, 1 - i % 2);
        let word = format!("live{i}");
        let typed = Instant::now();
        type_word(&mut peers[from], &id, &word).await;
        until_shown(&mut peers, to, &id, &word).await;
        delays.push(typed.elapsed());
    }
    let [mut ada, mut ben] = peers;
    delays.sort();
    println!(
        "two relays: a word typed at one reached the other in {} ms (median), {} ms (slowest of 20)",
        delays[10].as_millis(),
        delays[19].as_millis()
    );

    // A burst from both; relay A, which works on the case, is killed in the middle of it.
    let mut killed = None;
    let (mut ada_up, mut ben_up) = (true, true);
    for i in 0..30 {
        type_word(&mut ada, &id, &format!("a{i}")).await;
        type_word(&mut ben, &id, &format!("b{i}")).await;
        if ada_up {
            ada_up = ada.pump(Duration::from_millis(20)).await;
        }
        if ben_up {
            ben_up = ben.pump(Duration::from_millis(20)).await;
        }
        if i == 12 {
            a.kill();
            killed = Some(Instant::now());
        }
    }
    let killed = killed.unwrap();
    // Ada's relay is gone; Ben's connection, forwarded to it, was closed too.
    assert!(!ada.pump(Duration::from_millis(100)).await);
    assert!(!ben.pump(Duration::from_secs(2)).await);

    // Both reconnect to relay B, which takes the case over, and resend what was not taken.
    let mut ada = reconnect(b_addr, &ada_login, ada.client).await;
    let mut ben = reconnect(b_addr, &ben_login, ben.client).await;
    ada.flush(&id).await;
    ben.flush(&id).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        ada.idle(Duration::from_millis(100)).await;
        ben.idle(Duration::from_millis(100)).await;
        let done = ada.client.unsent_changes(&id) == 0
            && ben.client.unsent_changes(&id) == 0
            && concerns(&ada, &id) == concerns(&ben, &id);
        if done {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the two devices did not converge"
        );
    }
    println!(
        "two relays: the case was served again {} ms after its relay was killed",
        killed.elapsed().as_millis()
    );
    let text = concerns(&ada, &id);
    for i in 0..30 {
        assert!(text.contains(&format!("a{i}")), "a{i} lost");
        assert!(text.contains(&format!("b{i}")), "b{i} lost");
    }
    for i in 0..20 {
        assert!(text.contains(&format!("live{i}")), "live{i} lost");
    }
    let mut hashes: Vec<automerge::ChangeHash> = Vec::new();
    for peer in [&mut ada, &mut ben] {
        let doc = peer.client.document_mut(&id).unwrap();
        hashes.extend(doc.get_changes(&[]).iter().map(|c| c.hash()));
    }
    all_stored(&url, &id, &hashes).await;
}
