//! Fixes from the relay security review: forged presence, undecodable frames, sign-in limits
//! under parallel load, over-long emails, sign-in over an existing session, cross-site POSTs
//! and claiming case ids the relay already holds data for.

mod common;

use common::{practitioner, register, Peer, TestRelay};
use shared::case::Case;
use shared::protocol::Message;
use shared::sync::{Effect, Holding};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ephemeral_frames_in_another_peers_name_are_dropped() {
    let data = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(data.path()).await;
    let url = relay.ws_url();
    let a_login = practitioner(&relay, "alice").await;
    let b_login = practitioner(&relay, "bob").await;
    let mut a = Peer::connect(&url, &a_login, a_login.client("alice")).await;
    let (id, effects) = a.client.create(Case::new("Sam").into_document().unwrap());
    assert_eq!(register(&relay, &a_login, &id).await, 201);
    a.run(effects).await;
    a.until("the relay to store the case", |p| {
        p.client.unsent_changes(&id) == 0
    })
    .await;
    // Same agency as the lead: no consent needed.
    let r = common::http(
        relay.addr,
        "POST",
        &format!("/api/cases/{id}/members"),
        Some(&a_login.token),
        Some(&serde_json::json!({ "professional_id": b_login.id })),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let mut b = Peer::connect(&url, &b_login, b_login.client("bob")).await;
    assert_eq!(b.ask(id).await, Holding::Have);
    a.idle(Duration::from_millis(300)).await;

    let relay_peer_id = relay.state.repo.peer_id().to_string();
    let forged = |sender_id: String, data: &[u8]| {
        Message::Ephemeral {
            // A fresh session each time, so samod's de-duplication cannot hide a leak.
            session_id: format!("forged-{}", String::from_utf8_lossy(data)),
            sender_id,
            target_id: relay_peer_id.clone(),
            count: 1,
            document_id: id,
            data: data.to_vec(),
        }
        .encode()
    };
    // In the name of another of Bob's devices, and of another of Alice's own.
    a.send_raw(forged(format!("{}phone", b_login.peer_prefix), b"forged-1"))
        .await;
    a.send_raw(forged(
        format!("{}other-tab", a_login.peer_prefix),
        b"forged-2",
    ))
    .await;
    // Then one in Alice's own name, which must arrive.
    let effects = a.client.broadcast(&id, b"real".to_vec());
    a.run(effects).await;
    let ephemerals = |p: &Peer| {
        p.events
            .iter()
            .filter_map(|e| match e {
                Effect::Ephemeral {
                    sender_id, data, ..
                } => Some((sender_id.clone(), data.clone())),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    b.until("Alice's presence", |p| !ephemerals(p).is_empty())
        .await;
    b.idle(Duration::from_millis(300)).await;
    assert_eq!(
        ephemerals(&b),
        vec![(a.client.peer_id().to_string(), b"real".to_vec())]
    );
    // Alice's connection is still open and serving.
    a.idle(Duration::from_millis(100)).await;
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undecodable_frame_closes_the_connection_with_1008() {
    let data = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(data.path()).await;
    let url = relay.ws_url();
    let owner_login = practitioner(&relay, "owner").await;
    let mut owner = Peer::connect(&url, &owner_login, owner_login.client("owner")).await;
    let (id, effects) = owner
        .client
        .create(Case::new("Sam").into_document().unwrap());
    assert_eq!(register(&relay, &owner_login, &id).await, 201);
    owner.run(effects).await;
    owner
        .until("the relay to store the case", |p| {
            p.client.unsent_changes(&id) == 0
        })
        .await;

    // A non-member's request for the case with one byte too many: not passed on, closed.
    let other_login = practitioner(&relay, "other").await;
    let mut other = Peer::connect(&url, &other_login, other_login.client("other")).await;
    let mut frame = Message::Request {
        sender_id: other.client.peer_id().to_string(),
        target_id: relay.state.repo.peer_id().to_string(),
        document_id: id,
        data: vec![0x42],
    }
    .encode();
    frame.push(0x00);
    assert!(Message::decode(&frame).is_err());
    other.send_raw(frame).await;
    assert_eq!(other.close_code().await, Some(1008));
    assert!(!other.syncs.contains_key(&id));

    // The owner is unaffected.
    let mut again = Peer::connect(&url, &owner_login, owner_login.client("laptop")).await;
    assert_eq!(again.ask(id).await, Holding::Have);
    relay.stop().await;
}
