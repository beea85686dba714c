//! The relay under stress: hostile frames do not bring it down, and a failing database is
//! surfaced (health, closed connections) without losing what clients sent.

mod common;

use common::{http_get, Peer, TestRelay};
use futures::SinkExt;
use shared::case::{Case, Field};
use shared::sync::{Holding, SyncClient};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message as WsMessage;

fn client(name: &str) -> SyncClient {
    SyncClient::new(name.into(), format!("{name}-store"))
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_frames_do_not_stop_the_relay_serving_others() {
    let data = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(data.path()).await;
    let url = relay.ws_url();
    let mut good = Peer::connect(&url, client("good")).await;
    let (id, effects) = good
        .client
        .create(Case::new("Sam").into_document().unwrap());
    good.run(effects).await;

    let join = shared::protocol::Message::Join {
        sender_id: "hostile".into(),
        supported_protocol_versions: vec!["1".into()],
        metadata: None,
    }
    .encode();
    let mut seed = 0x5eed_u64;
    // 40 connections × 25 frames, bounded in count and time.
    for round in 0..40u64 {
        let Ok((mut ws, _)) = tokio_tungstenite::connect_async(&url).await else {
            panic!("relay refused connection {round}");
        };
        if round % 2 == 0 {
            let _ = ws.send(WsMessage::Binary(join.clone().into())).await;
        }
        for i in 0..25 {
            let frame = match (round + i) % 5 {
                0 => WsMessage::Text("hello".into()),
                1 => WsMessage::Binary(join[..join.len() / 2].to_vec().into()),
                2 => WsMessage::Binary(vec![0xbf; 1 + (i as usize % 40)].into()),
                _ => {
                    let len = (seed % 300) as usize;
                    WsMessage::Binary(noise(&mut seed, len).into())
                }
            };
            if ws.send(frame).await.is_err() {
                break; // closed on us: fine
            }
        }
        if round == 0 {
            // One frame over the size limit.
            let _ = ws
                .send(WsMessage::Binary(vec![0u8; 17 * 1024 * 1024].into()))
                .await;
        }
        let _ = ws.close(None).await;
        // Meanwhile the well-behaved client keeps syncing.
        Field::Concerns
            .write(
                good.client.document_mut(&id).unwrap(),
                &format!("Visit {round}"),
            )
            .unwrap();
        good.flush(&id).await;
        good.until("acknowledgement", |p| p.client.unsent_changes(&id) == 0)
            .await;
    }
    assert_eq!(http_get(relay.addr, "/health").await, (200, "ok".into()));

    // Someone else can still fetch the case, with the latest words.
    let mut other = Peer::connect(&url, client("other")).await;
    let effects = other.client.request(id);
    other.run(effects).await;
    other
        .until("the case", |p| p.client.holding(&id) == Some(Holding::Have))
        .await;
    let case = Case::from_document(other.client.document(&id).unwrap()).unwrap();
    assert_eq!(case.concerns.as_str(), "Visit 39");
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_database_is_surfaced_and_nothing_is_lost() {
    let data = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(data.path()).await;
    let url = relay.ws_url();
    let mut a = Peer::connect(&url, client("a")).await;
    let (id, effects) = a.client.create(Case::new("Jo").into_document().unwrap());
    a.run(effects).await;
    a.until("acknowledgement", |p| p.client.unsent_changes(&id) == 0)
        .await;

    // The database stops accepting writes (the table disappears from under the relay).
    let admin = sqlx::SqlitePool::connect(&relay.database_url)
        .await
        .unwrap();
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
    assert!(
        tokio_tungstenite::connect_async(&url).await.is_err(),
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
    relay.stop().await;

    // After a restart (memory gone), the relay still has the words written during the failure.
    let relay = TestRelay::start(data.path()).await;
    let mut b = Peer::connect(&relay.ws_url(), client("b")).await;
    let effects = b.client.request(id);
    b.run(effects).await;
    b.until("the case", |p| p.client.holding(&id) == Some(Holding::Have))
        .await;
    let case = Case::from_document(b.client.document(&id).unwrap()).unwrap();
    assert_eq!(case.concerns.as_str(), "Written while the disk failed.");
    relay.stop().await;
}
