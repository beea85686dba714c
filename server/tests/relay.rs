//! The relay under stress: hostile frames do not bring it down, and a failing database is
//! surfaced (health, closed connections) without losing what clients sent.

mod common;

use common::{
    http_get, practitioner, register, sign_in, upgrade_status, ws_connect, Peer, TestRelay,
    PASSWORD,
};
use futures::SinkExt;
use shared::case::{Case, Field};
use shared::protocol::Message;
use shared::sync::Holding;
use shared::DocumentId;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// Deterministic pseudo-random bytes (xorshift), so a failure can be replayed.
fn noise(seed: &mut u64, len: usize) -> Vec<u8> {
    (0..len)
        .map(|_| {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            *seed as u8
        })
        .collect()
}

/// Frames a signed-in hostile client might send: junk, truncated or mis-typed CBOR, and
/// well-formed requests for cases it may not see or that do not exist.
fn hostile_frame(i: u64, seed: &mut u64, join: &[u8], prefix: &str, case: DocumentId) -> WsMessage {
    let ask = |document_id, sync: bool| {
        let (sender_id, target_id, data) =
            (format!("{prefix}hostile"), "relay".to_string(), vec![0x42]);
        if sync {
            Message::Sync {
                sender_id,
                target_id,
                document_id,
                data,
            }
        } else {
            Message::Request {
                sender_id,
                target_id,
                document_id,
                data,
            }
        }
        .encode()
    };
    match i % 8 {
        0 => WsMessage::Text("hello".into()),
        1 => WsMessage::Binary(join[..join.len() / 2].to_vec().into()),
        2 => WsMessage::Binary(vec![0xbf; 1 + (i as usize % 40)].into()),
        3 => WsMessage::Binary(ask(case, i % 16 == 3).into()),
        4 => WsMessage::Binary(ask(DocumentId::random(), false).into()),
        _ => {
            let len = (*seed % 300) as usize;
            WsMessage::Binary(noise(seed, len).into())
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_frames_do_not_stop_the_relay_serving_others() {
    let data = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(data.path()).await;
    let url = relay.ws_url();
    let good_login = practitioner(&relay, "good").await;
    let mut good = Peer::connect(&url, &good_login, good_login.client("good")).await;
    let (id, effects) = good
        .client
        .create(Case::new("Sam").into_document().unwrap());
    assert_eq!(register(&relay, &good_login, &id).await, 201);
    good.run(effects).await;

    let hostile = practitioner(&relay, "hostile").await;
    let join = |sender_id: String| {
        Message::Join {
            sender_id,
            supported_protocol_versions: vec!["1".into()],
            metadata: None,
        }
        .encode()
    };
    let own_join = join(format!("{}hostile", hostile.peer_prefix));
    let mut seed = 0x5eed_u64;
    // About 10,000 frames over many signed-in connections, bounded in count and time. The relay
    // closes a connection at its first bad frame, so each connection carries a burst.
    const FRAMES: u64 = 10_000;
    let started = Instant::now();
    let (mut sent, mut round) = (0u64, 0u64);
    while sent < FRAMES && started.elapsed() < Duration::from_secs(90) {
        match round % 10 {
            // No cookie, or another professional's peer id: refused before samod sees anything.
            7 => assert_eq!(upgrade_status(&url, None).await, 401),
            8 => {
                let mut ws = ws_connect(&url, Some(&hostile.token)).await.unwrap();
                let _ = ws
                    .send(WsMessage::Binary(join("p999999-spoof".into()).into()))
                    .await;
                let _ = ws.send(WsMessage::Binary(own_join.clone().into())).await;
                sent += 2;
            }
            _ => {
                let Ok(mut ws) = ws_connect(&url, Some(&hostile.token)).await else {
                    panic!("relay refused connection {round}");
                };
                if round % 3 != 0 {
                    let _ = ws.send(WsMessage::Binary(own_join.clone().into())).await;
                    sent += 1;
                }
                for i in 0..200u64 {
                    let frame = hostile_frame(
                        round * 7 + i,
                        &mut seed,
                        &own_join,
                        &hostile.peer_prefix,
                        id,
                    );
                    if ws.send(frame).await.is_err() {
                        break; // closed on us: fine
                    }
                    sent += 1;
                }
                if round == 0 {
                    // One frame over the size limit.
                    let _ = ws
                        .send(WsMessage::Binary(vec![0u8; 17 * 1024 * 1024].into()))
                        .await;
                }
                let _ = ws.close(None).await;
            }
        }
        // Meanwhile the well-behaved client keeps syncing.
        if round % 5 == 0 {
            Field::Concerns
                .write(
                    good.client.document_mut(&id).unwrap(),
                    &format!("Visit {round}"),
                )
                .unwrap();
            good.flush(&id).await;
            good.until("acknowledgement", |p| p.client.unsent_changes(&id) == 0)
                .await;
            assert_eq!(http_get(relay.addr, "/health").await, (200, "ok".into()));
        }
        round += 1;
    }
    eprintln!(
        "storm: {sent} frames over {round} connections in {:?}",
        started.elapsed()
    );
    assert!(sent >= FRAMES, "only {sent} frames in the time allowed");
    Field::Concerns
        .write(good.client.document_mut(&id).unwrap(), "Last visit")
        .unwrap();
    good.flush(&id).await;
    good.until("acknowledgement", |p| p.client.unsent_changes(&id) == 0)
        .await;
    assert_eq!(http_get(relay.addr, "/health").await, (200, "ok".into()));

    // The same professional on another device still fetches the case, with the latest words;
    // the hostile one never got it.
    let mut other = Peer::connect(&url, &good_login, good_login.client("laptop")).await;
    assert_eq!(other.ask(id).await, Holding::Have);
    let case = Case::from_document(other.client.document(&id).unwrap()).unwrap();
    assert_eq!(case.concerns.as_str(), "Last visit");
    let mut snoop = Peer::connect(&url, &hostile, hostile.client("again")).await;
    assert_eq!(snoop.ask(id).await, Holding::Unavailable);
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_database_is_surfaced_and_nothing_is_lost() {
    let data = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(data.path()).await;
    let url = relay.ws_url();
    let login = practitioner(&relay, "a").await;
    let mut a = Peer::connect(&url, &login, login.client("a")).await;
    let (id, effects) = a.client.create(Case::new("Jo").into_document().unwrap());
    assert_eq!(register(&relay, &login, &id).await, 201);
    a.run(effects).await;
    a.until("acknowledgement", |p| p.client.unsent_changes(&id) == 0)
        .await;

    // The database stops accepting writes (the table disappears from under the relay).
    let admin = sqlx::AnyPool::connect(&relay.database_url).await.unwrap();
    sqlx::query("ALTER TABLE documents RENAME TO documents_away")
        .execute(&admin)
        .await
        .unwrap();
    Field::Concerns
        .write(
            a.client.document_mut(&id).unwrap(),
            "Written while the disk failed.",
        )
        .unwrap();
    a.flush(&id).await;
    assert!(
        a.closed_by_relay().await,
        "the relay closes sync connections"
    );
    assert_eq!(http_get(relay.addr, "/health").await.0, 503);
    assert_eq!(
        upgrade_status(&url, Some(&login.token)).await,
        503,
        "new sync connections are refused while storage fails"
    );

    // The database comes back: the held write lands and the relay is healthy again.
    sqlx::query("ALTER TABLE documents_away RENAME TO documents")
        .execute(&admin)
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while http_get(relay.addr, "/health").await.0 != 200 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "relay did not recover"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The device kept the words (the relay may have refused them before holding them: it
    // journals who sent a change before taking it); it reconnects and they reach the relay.
    let mut a = Peer::connect(&url, &login, a.client).await;
    a.flush(&id).await;
    a.until("acknowledgement", |p| p.client.unsent_changes(&id) == 0)
        .await;
    relay.stop().await;

    // After a restart (memory gone), the relay still has the words written during the failure.
    let relay = TestRelay::start(data.path()).await;
    // Sessions and memberships survive the restart too.
    let again = sign_in(relay.addr, "a@example.org", PASSWORD).await;
    let mut b = Peer::connect(&relay.ws_url(), &again, again.client("b")).await;
    assert_eq!(b.ask(id).await, Holding::Have);
    let case = Case::from_document(b.client.document(&id).unwrap()).unwrap();
    assert_eq!(case.concerns.as_str(), "Written while the disk failed.");
    relay.stop().await;
}

/// The app's files compressed at build time are served as they are to browsers that take
/// brotli, and plain to those that do not (nothing is compressed twice).
#[tokio::test]
async fn the_apps_precompressed_files_are_served_as_built() {
    let data = tempfile::tempdir().unwrap();
    let dist = tempfile::tempdir().unwrap();
    std::fs::write(dist.path().join("index.html"), "<html></html>").unwrap();
    std::fs::write(dist.path().join("app.js"), "console.log('plain')").unwrap();
    // Stands in for the brotli copy: the relay must pass it on untouched.
    std::fs::write(dist.path().join("app.js.br"), "made at build time").unwrap();
    let relay =
        TestRelay::start_with(data.path(), &["--dist", &dist.path().display().to_string()]).await;

    let br = common::http_with(
        relay.addr,
        "GET",
        "/app.js",
        None,
        None,
        &[("Accept-Encoding", "br")],
    )
    .await;
    assert_eq!(br.status, 200);
    assert_eq!(br.header("content-encoding"), Some("br"));
    assert_eq!(br.body, "made at build time");
    assert_eq!(br.header("vary"), Some("accept-encoding"));
    assert!(br
        .header("content-type")
        .unwrap_or_default()
        .contains("javascript"));

    let plain = common::http_with(
        relay.addr,
        "GET",
        "/app.js",
        None,
        None,
        &[("Accept-Encoding", "identity")],
    )
    .await;
    assert_eq!(plain.status, 200);
    assert_eq!(plain.header("content-encoding"), None);
    assert_eq!(plain.body, "console.log('plain')");
    relay.stop().await;
}

/// Back online with nothing changed, the relay says nothing about the case (its answer would
/// only repeat the client's message); the first edit after that still reaches the relay in
/// one message, which the relay acknowledges in one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quiet_return_costs_no_answer_and_the_next_edit_goes_at_once() {
    use automerge::transaction::Transactable;
    let data = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(data.path()).await;
    let url = relay.ws_url();
    let login = common::practitioner(&relay, "lena").await;
    let mut desk = Peer::connect(&url, &login, login.client("desk")).await;
    let id = common::stored_case(&relay, &login, &mut desk).await;
    desk.idle(Duration::from_millis(300)).await;

    let mut client = desk.client;
    client.disconnected();
    let mut desk = Peer::connect(&url, &login, client).await;
    desk.idle(Duration::from_millis(500)).await;
    assert_eq!(desk.syncs.get(&id), None, "nothing new, so no answer");

    desk.client
        .document_mut(&id)
        .unwrap()
        .put(automerge::ROOT, "probe", "edited")
        .unwrap();
    let effects = desk.client.flush(&id);
    let sent: Vec<automerge::sync::Message> = effects
        .iter()
        .filter_map(|e| match e {
            shared::sync::Effect::Send(frame) => match Message::decode(frame) {
                Ok(Message::Sync { data, .. }) => automerge::sync::Message::decode(&data).ok(),
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].changes.len(),
        1,
        "the edit goes in the first message"
    );
    desk.run(effects).await;
    desk.until("the relay to hold the edit", |p| {
        p.client.unsent_changes(&id) == 0
    })
    .await;
    assert_eq!(
        desk.syncs.get(&id),
        Some(&1),
        "one answer: the acknowledgement"
    );
    relay.stop().await;
}
