//! Fixes from the relay security review: forged presence (sender or named person), undecodable frames, poisoned Automerge chunks, sign-in limits
//! under parallel load, over-long emails, sign-in over an existing session, cross-site POSTs
//! and claiming case ids the relay already holds data for.

mod common;

use common::{
    http, http_with, practitioner, professional, register, sign_in, Peer, TestRelay, PASSWORD,
};
use shared::case::Case;
use shared::presence::Presence;
use shared::protocol::Message;
use shared::sync::{Effect, Holding};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ephemeral_frames_in_another_peers_or_persons_name_are_dropped() {
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
    let r = common::invite(&relay, &a_login, &id, &b_login).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let mut b = Peer::connect(&url, &b_login, b_login.client("bob")).await;
    assert_eq!(b.ask(id).await, Holding::Have);
    a.idle(Duration::from_millis(300)).await;

    let relay_peer_id = relay.state.repos.peer_id().to_string();
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
    // From Alice's own connection, presence naming someone else, or Alice under another name,
    // or not presence at all.
    let presence = |professional_id: i64, name: &str| {
        Presence {
            professional_id,
            name: name.into(),
            agency: "Test Agency".into(),
            section: "plan".into(),
            field: None,
            typing: false,
            leaving: false,
        }
        .encode()
    };
    for data in [
        presence(b_login.id, "bob"),
        presence(a_login.id, "Dr Bob"),
        b"not presence".to_vec(),
    ] {
        let effects = a.client.broadcast(&id, data);
        a.run(effects).await;
    }
    // Then Alice's own, which must arrive.
    let real = presence(a_login.id, "alice");
    let effects = a.client.broadcast(&id, real.clone());
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
    assert_eq!(ephemerals(&b), vec![(a.client.peer_id().to_string(), real)]);
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
    let id = common::stored_case(&relay, &owner_login, &mut owner).await;

    // A non-member's request for the case with one byte too many: not passed on, closed.
    let other_login = practitioner(&relay, "other").await;
    let mut other = Peer::connect(&url, &other_login, other_login.client("other")).await;
    let mut frame = Message::Request {
        sender_id: other.client.peer_id().to_string(),
        target_id: relay.state.repos.peer_id().to_string(),
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

/// The reliability issue's poisoned chunk: a sync message for a case the relay holds no
/// content for yet (just registered), carrying a well-framed document chunk that makes
/// automerge 0.12's loader panic. It must never reach samod: the sender's connection closes
/// with 1007, the audit says so, and the relay goes on serving the case to its member.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poisoned_document_chunk_is_refused_with_1007_and_nothing_is_lost() {
    let data = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(data.path()).await;
    let url = relay.ws_url();
    let owner_login = practitioner(&relay, "owner").await;
    let mut owner = Peer::connect(&url, &owner_login, owner_login.client("owner")).await;
    let fresh = shared::DocumentId::random();
    assert_eq!(register(&relay, &owner_login, &fresh).await, 201);
    let poisoned = automerge::sync::Message {
        heads: vec![],
        need: vec![],
        have: vec![],
        changes: vec![shared::untrusted::fixtures::poisoned_document_chunk()].into(),
        flags: None,
        version: automerge::sync::MessageVersion::V1,
    }
    .encode();
    let frame = |id| {
        Message::Sync {
            sender_id: owner.client.peer_id().to_string(),
            target_id: relay.state.repos.peer_id().to_string(),
            document_id: id,
            data: poisoned.clone(),
        }
        .encode()
    };
    let first = frame(fresh);
    owner.send_raw(first).await;
    assert_eq!(owner.close_code().await, Some(1007));
    // The audit row is written just after the close: wait for it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while audit_outcomes(&relay, "sync_rejected").await.is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "no audit row");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        audit_outcomes(&relay, "sync_rejected").await,
        vec!["unreadable_changes".to_string()]
    );

    // A case with content: the same bytes change nothing of it, and the relay still serves it.
    let mut owner = Peer::connect(&url, &owner_login, owner_login.client("desk")).await;
    let id = common::stored_case(&relay, &owner_login, &mut owner).await;
    let heads = owner.client.document_mut(&id).unwrap().get_heads();
    // What the relay acknowledged is on its disk, and noted as such.
    assert!(
        relay
            .state
            .durable
            .wait_for(&id.to_string(), &heads, Duration::from_millis(1))
            .await
    );
    let mut attacker = Peer::connect(&url, &owner_login, owner_login.client("tablet")).await;
    let bad = Message::Sync {
        sender_id: attacker.client.peer_id().to_string(),
        target_id: relay.state.repos.peer_id().to_string(),
        document_id: id,
        data: poisoned.clone(),
    }
    .encode();
    attacker.send_raw(bad).await;
    assert_eq!(attacker.close_code().await, Some(1007));
    let mut again = Peer::connect(&url, &owner_login, owner_login.client("laptop")).await;
    assert_eq!(again.ask(id).await, Holding::Have);
    again
        .until("the whole case", |p| {
            p.client.document_mut(&id).unwrap().get_heads() == heads
        })
        .await;
    // The first connection was never hurt either: it still syncs.
    owner.idle(Duration::from_millis(200)).await;
    relay.stop().await;
}

/// A decoding bomb the fuzzer found: 80 bytes that make automerge 0.12 allocate more than
/// 15 GiB. Checked in a worker process with a memory limit, it costs the relay nothing: the
/// sender is closed with 1007 and the relay goes on serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decoding_bomb_is_refused_and_the_relay_lives_on() {
    let data = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(data.path()).await;
    let url = relay.ws_url();
    let login = practitioner(&relay, "owner").await;
    let mut owner = Peer::connect(&url, &login, login.client("owner")).await;
    let id = common::stored_case(&relay, &login, &mut owner).await;
    // Every memory bomb the fuzzers kept.
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/tests/fixtures/untrusted"
    );
    let bombs: Vec<Vec<u8>> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains("-oom-"))
        .map(|e| std::fs::read(e.path()).unwrap())
        .collect();
    assert!(!bombs.is_empty());
    for (n, bomb) in bombs.into_iter().enumerate() {
        let mut attacker = Peer::connect(&url, &login, login.client(&format!("tablet{n}"))).await;
        let frame = Message::Sync {
            sender_id: attacker.client.peer_id().to_string(),
            target_id: relay.state.repos.peer_id().to_string(),
            document_id: id,
            data: automerge::sync::Message {
                heads: vec![],
                need: vec![],
                have: vec![],
                changes: vec![bomb].into(),
                flags: None,
                version: automerge::sync::MessageVersion::V1,
            }
            .encode(),
        }
        .encode();
        attacker.send_raw(frame).await;
        // Past the worker's memory limit or its time limit, whichever comes first.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let code = tokio::time::timeout_at(
            deadline,
            attacker.close_code_within(Duration::from_secs(30)),
        )
        .await
        .expect("the relay answered");
        assert_eq!(code, Some(1007));
    }
    let mut again = Peer::connect(&url, &login, login.client("laptop")).await;
    assert_eq!(again.ask(id).await, Holding::Have);
    owner.idle(Duration::from_millis(100)).await;
    relay.stop().await;
}

async fn sign_in_attempt(relay: &TestRelay, email: &str, password: &str) -> common::HttpResponse {
    let body = serde_json::json!({ "email": email, "password": password });
    http(relay.addr, "POST", "/api/session", None, Some(&body)).await
}

async fn audit_outcomes(relay: &TestRelay, event: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT outcome FROM audit WHERE event = $1")
        .bind(event)
        .fetch_all(&relay.state.db)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_wrong_passwords_get_at_most_the_limit_and_one_audit_row() {
    let data = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(data.path()).await;
    professional(
        &relay,
        "Test Agency",
        "Target",
        "target@example.org",
        "practitioner",
    )
    .await;
    let attempts = (0..20).map(|_| {
        let addr = relay.addr;
        tokio::spawn(async move {
            let body = serde_json::json!({ "email": "target@example.org", "password": "guess" });
            http(addr, "POST", "/api/session", None, Some(&body))
                .await
                .status
        })
    });
    let statuses: Vec<u16> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    let answered = statuses.iter().filter(|s| **s != 429).count();
    assert!(
        answered <= 5,
        "{answered} attempts got past the limit: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );
    // Even the right password waits now, and the refusals are audited once, not 16 times.
    assert_eq!(
        sign_in_attempt(&relay, "target@example.org", PASSWORD)
            .await
            .status,
        429
    );
    let limited = audit_outcomes(&relay, "sign_in")
        .await
        .into_iter()
        .filter(|o| o == "rate_limited")
        .count();
    assert_eq!(limited, 1);
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_long_emails_are_refused_before_the_limiter() {
    let data = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(data.path()).await;
    let long = format!("{}@example.org", "a".repeat(250));
    for _ in 0..25 {
        let r = sign_in_attempt(&relay, &long, "guess").await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.json()["error"].as_str().unwrap().contains("too long"));
    }
    // 25 refusals counted nothing against this address (its limit is 20).
    professional(
        &relay,
        "Test Agency",
        "Ok",
        "ok@example.org",
        "practitioner",
    )
    .await;
    sign_in(relay.addr, "ok@example.org", PASSWORD).await;
    // The password was right (then the authenticator app's code): nothing was refused.
    let outcomes = audit_outcomes(&relay, "sign_in").await;
    assert!(
        outcomes
            .iter()
            .all(|o| o == "success" || o == "code_needed")
            && outcomes.iter().any(|o| o == "success"),
        "{outcomes:?}"
    );
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_ends_the_session_already_on_the_browser() {
    let data = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(data.path()).await;
    let first = practitioner(&relay, "first").await;
    professional(
        &relay,
        "Test Agency",
        "Second",
        "second@example.org",
        "practitioner",
    )
    .await;
    // Both steps on the first person's browser: the password, then the authenticator code.
    let body = serde_json::json!({ "email": "second@example.org", "password": PASSWORD });
    let r = http(
        relay.addr,
        "POST",
        "/api/session",
        Some(&first.token),
        Some(&body),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let needed = r.json();
    let secret = needed["set_up"]["secret"].as_str().unwrap();
    common::authenticator::add(relay.addr, "second@example.org", secret);
    let code = common::authenticator::next_code(relay.addr, "second@example.org").await;
    let still = http(relay.addr, "GET", "/api/session", Some(&first.token), None).await;
    assert_eq!(still.status, 200, "a right password alone ends nothing");
    let r = http(
        relay.addr,
        "POST",
        "/api/session/code",
        Some(&first.token),
        Some(&serde_json::json!({ "pending": needed["pending"], "code": code })),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["me"]["email"], "second@example.org");
    let old = http(relay.addr, "GET", "/api/session", Some(&first.token), None).await;
    assert_eq!(old.status, 401, "the previous person's session must end");
    let token = r
        .header("set-cookie")
        .unwrap()
        .strip_prefix("tac_session=")
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_string();
    let new = http(relay.addr, "GET", "/api/session", Some(&token), None).await;
    assert_eq!(new.status, 200);
    assert!(audit_outcomes(&relay, "sign_out")
        .await
        .iter()
        .any(|o| o == "replaced"));
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_site_changes_are_refused() {
    let data = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(data.path()).await;
    let me = practitioner(&relay, "me").await;
    let id = shared::DocumentId::random();
    let case = serde_json::json!({ "id": id.to_string() });
    let refused = [
        vec![("Sec-Fetch-Site", "cross-site")],
        vec![("Sec-Fetch-Site", "same-site")],
        vec![("Origin", "http://evil.example")],
        vec![("Origin", "null")],
        vec![
            ("Sec-Fetch-Site", "same-origin"),
            ("Origin", "http://evil.example"),
        ],
    ];
    for headers in &refused {
        for (method, path, body) in [
            ("DELETE", "/api/session", None),
            ("POST", "/api/cases", Some(&case)),
            (
                "POST",
                &format!("/api/professionals/{}/revoke-sessions", me.id) as &str,
                None,
            ),
        ] {
            let r = http_with(relay.addr, method, path, Some(&me.token), body, headers).await;
            assert_eq!(
                r.status, 403,
                "{method} {path} with {headers:?}: {}",
                r.body
            );
            assert!(r.json()["error"].is_string());
        }
    }
    // Reading is unaffected.
    let r = http_with(
        relay.addr,
        "GET",
        "/api/session",
        Some(&me.token),
        None,
        &[("Sec-Fetch-Site", "cross-site")],
    )
    .await;
    assert_eq!(r.status, 200);
    // The app's own requests, and clients that send neither header, pass.
    let same = [("Sec-Fetch-Site", "same-origin"), ("Origin", "http://x")];
    let r = http_with(
        relay.addr,
        "POST",
        "/api/cases",
        Some(&me.token),
        Some(&case),
        &same,
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = http(relay.addr, "DELETE", "/api/session", Some(&me.token), None).await;
    assert_eq!(r.status, 204);
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case_ids_with_data_but_no_members_cannot_be_claimed() {
    let data = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(data.path()).await;
    let me = practitioner(&relay, "claimer").await;
    let id = shared::DocumentId::random();
    sqlx::query("INSERT INTO documents (key, data) VALUES ($1, $2)")
        .bind(format!("{id}/snapshot/abc"))
        .bind(vec![0u8])
        .execute(&relay.state.db)
        .await
        .unwrap();
    let r = http(
        relay.addr,
        "POST",
        "/api/cases",
        Some(&me.token),
        Some(&serde_json::json!({ "id": id.to_string() })),
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.body);
    let rows: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT outcome, case_id FROM audit WHERE event = 'case_registered'")
            .fetch_all(&relay.state.db)
            .await
            .unwrap();
    assert_eq!(rows, vec![("denied".to_string(), Some(id.to_string()))]);
    // A fresh id is still fine.
    assert_eq!(
        register(&relay, &me, &shared::DocumentId::random()).await,
        201
    );
    relay.stop().await;
}

/// Behind a reverse proxy the client's address (for sign-in limits and the audit's address
/// hashes) is what the proxy reports, but only when the connection comes from a proxy the
/// relay was told to trust: otherwise anyone could claim any address.
#[tokio::test]
async fn the_client_address_is_taken_from_trusted_proxies_only() {
    for (flags, addresses_seen) in [(&["--trusted-proxies", "127.0.0.1"][..], 2), (&[], 1)] {
        let data = tempfile::tempdir().unwrap();
        let relay = TestRelay::start_with(data.path(), flags).await;
        for client in ["203.0.113.7", "203.0.113.8"] {
            let r = http_with(
                relay.addr,
                "POST",
                "/api/session",
                None,
                Some(
                    &serde_json::json!({ "email": "nobody@x.org", "password": "not right at all" }),
                ),
                &[("X-Forwarded-For", client)],
            )
            .await;
            assert_eq!(r.status, 401, "{}", r.body);
        }
        let hashes: Vec<Option<String>> =
            sqlx::query_scalar("SELECT DISTINCT client_hash FROM audit WHERE event = 'sign_in'")
                .fetch_all(&relay.state.db)
                .await
                .unwrap();
        assert_eq!(hashes.len(), addresses_seen, "{flags:?}");
        assert!(hashes.iter().all(Option::is_some));
        relay.stop().await;
    }
}

/// Parallel guesses at one account are counted one by one, whichever database the relay
/// uses: 5 are checked, the rest refused without a password check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_guesses_are_limited_to_five() {
    let data = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(data.path()).await;
    practitioner(&relay, "target").await;
    let guesses = (0..12).map(|i| {
        let addr = relay.addr;
        tokio::spawn(async move {
            http(
                addr,
                "POST",
                "/api/session",
                None,
                Some(&serde_json::json!({ "email": "target@example.org", "password": format!("wrong guess {i}") })),
            )
            .await
            .status
        })
    });
    let mut statuses: Vec<u16> = futures::future::join_all(guesses)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    statuses.sort();
    assert_eq!(statuses, [vec![401; 5], vec![429; 7]].concat());
    relay.stop().await;
}
