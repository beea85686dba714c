//! Who gets which case: three agencies, five professionals and an administrator, four cases,
//! consent-gated invitations, live removal, revoked and expired sessions, consent withdrawal,
//! the audit trail (and that it holds no names, emails or case text), and sign-in limits.

mod common;

use automerge::transaction::Transactable;
use automerge::{ReadDoc, ROOT};
use common::{
    http, invite, professional, register, sign_in, upgrade_status, Login, Peer, TestRelay, PASSWORD,
};
use serde_json::json;
use shared::record::consent::{AgencyConsent, ConsentOverride};
use shared::record::CaseRecord;
use shared::sync::Holding;
use shared::DocumentId;
use std::time::Duration;

const HOLDER: &str = "Northshire Early Help";
const SCHOOL: &str = "Oak Primary School";
const HEALTH: &str = "Health Visiting";
const CHILD: &str = "Jamie Testchild";
const WORRY: &str = "Jamie is often hungry at school";
const PARENT: &str = "Pat Parentname";

struct Person {
    name: &'static str,
    email: &'static str,
    agency: &'static str,
}

const ADMIN: Person = Person {
    name: "Ada Adminperson",
    email: "ada.admin@example.org",
    agency: HOLDER,
};
const LEAD: Person = Person {
    name: "Lena Leadworker",
    email: "lena.lead@example.org",
    agency: HOLDER,
};
const TEACHER: Person = Person {
    name: "Sol Teacherson",
    email: "Sol.Teacher@Example.org",
    agency: SCHOOL,
};
const NURSE: Person = Person {
    name: "Hana Visitor",
    email: "hana.hv@example.org",
    agency: HEALTH,
};
const COLLEAGUE: Person = Person {
    name: "Cal Colleague",
    email: "cal.colleague@example.org",
    agency: HOLDER,
};
const SENCO: Person = Person {
    name: "Sid Senco",
    email: "sid.senco@example.org",
    agency: SCHOOL,
};

async fn account(relay: &TestRelay, p: &Person, role: &str) -> Login {
    professional(relay, p.agency, p.name, p.email, role).await;
    // Emails are matched whatever their case.
    sign_in(relay.addr, &p.email.to_uppercase(), PASSWORD).await
}

async fn api(
    relay: &TestRelay,
    method: &str,
    path: &str,
    who: &Login,
    body: Option<serde_json::Value>,
) -> common::HttpResponse {
    http(relay.addr, method, path, Some(&who.token), body.as_ref()).await
}

async fn export(relay: &TestRelay, who: &Login, case: &DocumentId) -> common::HttpResponse {
    let body = json!({ "kind": "family_copy" });
    api(
        relay,
        "POST",
        &format!("/api/cases/{case}/exports"),
        who,
        Some(body),
    )
    .await
}

async fn attempt(relay: &TestRelay, email: &str, password: &str) -> common::HttpResponse {
    let body = json!({ "email": email, "password": password });
    http(relay.addr, "POST", "/api/session", None, Some(&body)).await
}

/// A new case by `peer`'s professional, registered and on the relay.
async fn new_case(
    relay: &TestRelay,
    login: &Login,
    peer: &mut Peer,
    record: CaseRecord,
) -> DocumentId {
    let (id, effects) = peer.client.create(record.into_document().unwrap());
    assert_eq!(register(relay, login, &id).await, 201);
    peer.run(effects).await;
    peer.until("the relay to store the case", |p| {
        p.client.unsent_changes(&id) == 0
    })
    .await;
    id
}

fn record() -> CaseRecord {
    let mut r = CaseRecord::new(CHILD);
    r.worried_about = autosurgeon::Text::with_value(WORRY);
    r
}

async fn members(relay: &TestRelay, who: &Login, case: &DocumentId) -> Vec<i64> {
    let r = api(
        relay,
        "GET",
        &format!("/api/cases/{case}/members"),
        who,
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["professional_id"].as_i64().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_members_get_a_case_and_changes_take_effect_on_open_connections() {
    let data = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(data.path()).await;
    let url = relay.ws_url();

    let admin = account(&relay, &ADMIN, "system_admin").await;
    let lead = account(&relay, &LEAD, "practitioner").await;
    let teacher = account(&relay, &TEACHER, "practitioner").await;
    let nurse = account(&relay, &NURSE, "practitioner").await;
    let colleague = account(&relay, &COLLEAGUE, "practitioner").await;
    let senco = account(&relay, &SENCO, "practitioner").await;

    let me = api(&relay, "GET", "/api/session", &teacher, None).await;
    assert_eq!(me.status, 200);
    let me = me.json();
    assert_eq!(me["agency_name"], SCHOOL);
    assert_eq!(me["role"], "practitioner");
    assert_eq!(me["peer_prefix"], format!("p{}-", teacher.id));
    assert!(me["expires_at"].as_str().unwrap().ends_with('Z'));

    // Four cases: consent for the school; an override for health visiting; none; and the
    // nurse's own case.
    let mut lead_peer = Peer::connect(&url, &lead, lead.client("desk")).await;
    let mut with_consent = record();
    let mut school_consent = AgencyConsent::new(SCHOOL);
    school_consent.date = "2026-01-05".into();
    school_consent.given_by = PARENT.into();
    with_consent.consent.agencies.push(school_consent);
    let case1 = new_case(&relay, &lead, &mut lead_peer, with_consent).await;
    let mut with_override = record();
    let mut o = ConsentOverride::new(" health visiting ");
    o.lawful_basis = "Children Act 1989 s.47".into();
    o.reason = autosurgeon::Text::with_value("Risk of significant harm");
    o.decided_by = "Team manager".into();
    with_override.consent.overrides.push(o);
    let case2 = new_case(&relay, &lead, &mut lead_peer, with_override).await;
    let case3 = new_case(&relay, &lead, &mut lead_peer, record()).await;
    let mut nurse_peer = Peer::connect(&url, &nurse, nurse.client("tablet")).await;
    let case4 = new_case(&relay, &nurse, &mut nurse_peer, record()).await;

    // Registration: idempotent for a member, 404 for anyone else (never "it exists").
    assert_eq!(register(&relay, &lead, &case1).await, 200);
    assert_eq!(register(&relay, &nurse, &case1).await, 404);

    // Invitations need consent, or an override; colleagues in the lead's agency need neither.
    assert_eq!(invite(&relay, &lead, &case1, &teacher).await.status, 201);
    assert_eq!(invite(&relay, &lead, &case1, &teacher).await.status, 200);
    let refused = invite(&relay, &lead, &case1, &nurse).await;
    assert_eq!(refused.status, 409);
    assert_eq!(
        refused.json()["error"],
        format!("The family has not given consent to share with {HEALTH}. Record their consent, or a safeguarding override, in the Consent section first.")
    );
    assert_eq!(invite(&relay, &lead, &case1, &colleague).await.status, 201);
    assert_eq!(invite(&relay, &lead, &case1, &senco).await.status, 201);
    assert_eq!(invite(&relay, &lead, &case2, &nurse).await.status, 201);
    assert_eq!(invite(&relay, &lead, &case2, &teacher).await.status, 409);
    assert_eq!(
        invite(&relay, &teacher, &case1, &senco).await.status,
        403,
        "only the lead invites"
    );
    assert_eq!(
        invite(&relay, &nurse, &case1, &senco).await.status,
        404,
        "non-members learn nothing"
    );
    assert_eq!(
        api(
            &relay,
            "GET",
            &format!("/api/cases/{case1}/members"),
            &nurse,
            None
        )
        .await
        .status,
        404
    );
    let mine = api(&relay, "GET", "/api/cases", &teacher, None)
        .await
        .json();
    let mine = mine.as_array().unwrap();
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(mine[0]["id"], case1.to_string());
    assert_eq!(mine[0]["role"], "member");
    // When the relay last took a change: the case was stored above.
    assert!(mine[0]["last_change_at"].as_i64().is_some_and(|t| t > 0));
    let directory = api(&relay, "GET", "/api/professionals", &teacher, None)
        .await
        .json();
    assert_eq!(directory.as_array().unwrap().len(), 6);

    // The matrix: every professional asks for every case and an id nobody registered.
    let unknown = DocumentId::random();
    let expected: [(&Login, [bool; 5]); 5] = [
        (&lead, [true, true, true, false, false]),
        (&teacher, [true, false, false, false, false]),
        (&nurse, [false, true, false, true, false]),
        (&colleague, [true, false, false, false, false]),
        (&senco, [true, false, false, false, false]),
    ];
    let mut peers = Vec::new();
    for (who, row) in expected {
        let mut peer = Peer::connect(&url, who, who.client("matrix")).await;
        for (case, member) in [case1, case2, case3, case4, unknown].into_iter().zip(row) {
            let got = peer.ask(case).await;
            let want = if member {
                Holding::Have
            } else {
                Holding::Unavailable
            };
            assert_eq!(got, want, "professional {} asking for {case}", who.id);
            if !member {
                assert!(peer
                    .client
                    .document(&case)
                    .is_none_or(|d| d.keys(ROOT).next().is_none()));
            }
        }
        peers.push(peer);
    }
    let [_, mut teacher_peer, _, mut colleague_peer, mut senco_peer] =
        <[Peer; 5]>::try_from(peers).ok().unwrap();

    // Removing a member while they are connected: nothing new reaches them; others still sync.
    let removed = api(
        &relay,
        "DELETE",
        &format!("/api/cases/{case1}/members/{}", colleague.id),
        &lead,
        None,
    )
    .await;
    assert_eq!(removed.status, 204);
    assert_eq!(
        api(
            &relay,
            "DELETE",
            &format!("/api/cases/{case1}/members/{}", lead.id),
            &lead,
            None
        )
        .await
        .status,
        409,
        "the lead cannot remove themself"
    );
    let before = colleague_peer.syncs.get(&case1).copied().unwrap_or(0);
    lead_peer
        .client
        .document_mut(&case1)
        .unwrap()
        .put(ROOT, "probe", "after removal")
        .unwrap();
    lead_peer.flush(&case1).await;
    lead_peer
        .until("acknowledgement", |p| p.client.unsent_changes(&case1) == 0)
        .await;
    teacher_peer
        .until("the edit to reach a member", |p| {
            p.client
                .document(&case1)
                .unwrap()
                .get(ROOT, "probe")
                .unwrap()
                .is_some()
        })
        .await;
    colleague_peer.idle(Duration::from_millis(1500)).await;
    assert_eq!(
        colleague_peer.syncs.get(&case1).copied().unwrap_or(0),
        before
    );
    assert!(colleague_peer
        .client
        .document(&case1)
        .unwrap()
        .get(ROOT, "probe")
        .unwrap()
        .is_none());
    let mut colleague_again = Peer::connect(&url, &colleague, colleague.client("again")).await;
    assert_eq!(colleague_again.ask(case1).await, Holding::Unavailable);

    // A revoked session (lost laptop): the open connection closes with 4401; no new upgrade.
    let revoked = api(
        &relay,
        "POST",
        &format!("/api/professionals/{}/revoke-sessions", senco.id),
        &admin,
        None,
    )
    .await;
    assert_eq!(revoked.status, 204);
    assert_eq!(senco_peer.close_code().await, Some(4401));
    assert_eq!(upgrade_status(&url, Some(&senco.token)).await, 401);
    let ended = api(&relay, "GET", "/api/session", &senco, None).await;
    assert_eq!(ended.status, 401);
    assert_eq!(
        ended.json()["error"],
        "Your session has ended. Sign in again."
    );

    // An expired session cannot upgrade either.
    let later = sign_in(relay.addr, COLLEAGUE.email, PASSWORD).await;
    assert_eq!(upgrade_status(&url, Some(&later.token)).await, 101);
    sqlx::query("UPDATE sessions SET expires_at = 0 WHERE professional_id = $1")
        .bind(colleague.id)
        .execute(&relay.state.db)
        .await
        .unwrap();
    assert_eq!(upgrade_status(&url, Some(&later.token)).await, 401);
    assert_eq!(upgrade_status(&url, None).await, 401);

    // Exports are recorded for members only.
    assert_eq!(export(&relay, &lead, &case1).await.status, 204);
    assert_eq!(export(&relay, &nurse, &case1).await.status, 404);

    // Consent withdrawn: the school's members lose the case (the lead's agency keeps it).
    {
        let doc = lead_peer.client.document_mut(&case1).unwrap();
        let mut r = CaseRecord::load(doc).unwrap();
        r.consent.agencies[0].withdrawn_date = "2026-03-01".into();
        r.write(doc).unwrap();
    }
    lead_peer.flush(&case1).await;
    lead_peer
        .until("acknowledgement", |p| p.client.unsent_changes(&case1) == 0)
        .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while members(&relay, &lead, &case1).await.contains(&teacher.id) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the teacher was not removed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(members(&relay, &lead, &case1).await, vec![lead.id]);
    let mut teacher_again = Peer::connect(&url, &teacher, teacher.client("again")).await;
    assert_eq!(teacher_again.ask(case1).await, Holding::Unavailable);
    assert_eq!(teacher_again.ask(case2).await, Holding::Unavailable);

    // A leaver: deactivated, their connection closes, they cannot sign in.
    let mut nurse_open = Peer::connect(&url, &nurse, nurse.client("phone")).await;
    let gone = api(
        &relay,
        "POST",
        &format!("/api/professionals/{}/deactivate", nurse.id),
        &admin,
        None,
    )
    .await;
    assert_eq!(gone.status, 204);
    assert_eq!(nurse_open.close_code().await, Some(4401));
    let no = http(
        relay.addr,
        "POST",
        "/api/session",
        None,
        Some(&json!({"email": NURSE.email, "password": PASSWORD})),
    )
    .await;
    assert_eq!(no.status, 401);
    assert_eq!(no.json()["error"], "Email address or password is not right");

    // The audit trail: administrators only, every decision above, ids only.
    assert_eq!(
        api(
            &relay,
            "GET",
            &format!("/api/cases/{case1}/audit"),
            &lead,
            None
        )
        .await
        .status,
        403
    );
    // A removal for withdrawn consent is recorded just after it takes effect, by the task that
    // noticed the withdrawal: wait for its row (on a busy machine it can lag the removal).
    let audit_rows = || async {
        api(
            &relay,
            "GET",
            &format!("/api/cases/{case1}/audit"),
            &admin,
            None,
        )
        .await
        .json()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let rows = loop {
        let rows = audit_rows().await;
        let recorded = rows.as_array().unwrap().iter().any(|r| {
            r["outcome"] == "consent_withdrawn" && r["subject_professional_id"] == teacher.id
        });
        if recorded || tokio::time::Instant::now() > deadline {
            break rows;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let has = |event: &str, outcome: &str, actor: Option<i64>, subject: Option<i64>| {
        rows.as_array().unwrap().iter().any(|r| {
            r["event"] == event
                && r["outcome"] == outcome
                && actor.is_none_or(|a| r["actor_professional_id"] == a)
                && subject.is_none_or(|s| r["subject_professional_id"] == s)
        })
    };
    assert!(has("case_registered", "success", Some(lead.id), None));
    assert!(has("case_registered", "denied", Some(nurse.id), None));
    assert!(has(
        "member_added",
        "success",
        Some(lead.id),
        Some(teacher.id)
    ));
    assert!(has(
        "member_added",
        "denied_no_consent",
        Some(lead.id),
        Some(nurse.id)
    ));
    assert!(has(
        "member_removed",
        "success",
        Some(lead.id),
        Some(colleague.id)
    ));
    assert!(has(
        "member_removed",
        "consent_withdrawn",
        None,
        Some(teacher.id)
    ));
    assert!(has(
        "member_removed",
        "consent_withdrawn",
        None,
        Some(senco.id)
    ));
    assert!(has("sync_access", "served", Some(teacher.id), None));
    assert!(has("sync_access", "denied", Some(nurse.id), None));
    assert!(has("sync_access", "denied", Some(colleague.id), None));
    assert!(has("export_family_copy", "success", Some(lead.id), None));
    // Once per connection per case per outcome, not once per message.
    let served_to_lead = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["event"] == "sync_access" && r["actor_professional_id"] == lead.id)
        .count();
    assert!(
        served_to_lead <= 3,
        "{served_to_lead} rows for the lead's connections"
    );

    let csv = api(
        &relay,
        "GET",
        &format!("/api/cases/{case1}/audit.csv"),
        &admin,
        None,
    )
    .await;
    assert_eq!(csv.status, 200);
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    assert!(csv
        .header("content-disposition")
        .unwrap()
        .starts_with("attachment"));
    assert!(csv.body.starts_with("id,at,at_utc,event,"));
    let rows = audit_rows().await;
    assert!(rows
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["event"] == "export_audit_csv"));

    // Every column of every row, as stored.
    let all: Vec<server::audit::Row> = sqlx::query_as("SELECT * FROM audit")
        .fetch_all(&relay.state.db)
        .await
        .unwrap();
    assert!(all
        .iter()
        .any(|r| r.event == "professional_deactivated"
            && r.subject_professional_id == Some(nurse.id)));
    assert!(all
        .iter()
        .any(|r| r.event == "sessions_revoked" && r.subject_professional_id == Some(senco.id)));
    let text = format!("{all:?}").to_lowercase();
    for person in [&ADMIN, &LEAD, &TEACHER, &NURSE, &COLLEAGUE, &SENCO] {
        for secret in [person.name, person.email, person.agency] {
            assert!(
                !text.contains(&secret.to_lowercase()),
                "audit mentions {secret}"
            );
        }
    }
    for secret in [PASSWORD, CHILD, WORRY, PARENT, "127.0.0.1"] {
        assert!(
            !text.contains(&secret.to_lowercase()),
            "audit mentions {secret}"
        );
    }
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_sign_out_and_too_many_attempts() {
    let data = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(data.path()).await;
    let lead = account(&relay, &LEAD, "practitioner").await;

    let r = common::sign_in_response(relay.addr, LEAD.email, PASSWORD).await;
    let cookie = r.header("set-cookie").unwrap();
    for part in [
        "tac_session=",
        "HttpOnly",
        "SameSite=Strict",
        "Path=/",
        // 12 hours, then 90 days in which only a leaver's device may use it to hand over.
        "Max-Age=7819200",
    ] {
        assert!(cookie.contains(part), "{cookie} lacks {part}");
    }
    assert!(!cookie.contains("Secure"));

    // A peer id that is not the session's is refused at the handshake.
    {
        use futures::{SinkExt, StreamExt};
        use tokio_tungstenite::tungstenite::Message as WsMessage;
        let mut ws = common::ws_connect(&relay.ws_url(), Some(&lead.token))
            .await
            .unwrap();
        let spoof = shared::protocol::Message::Join {
            sender_id: "p999-someone-else".into(),
            supported_protocol_versions: vec!["1".into()],
            metadata: None,
        };
        ws.send(WsMessage::Binary(spoof.encode().into()))
            .await
            .unwrap();
        match ws.next().await {
            Some(Ok(WsMessage::Close(Some(frame)))) => assert_eq!(u16::from(frame.code), 1008),
            other => panic!("expected a close, got {other:?}"),
        }
    }

    // A session that expires while its sync connection is open: closed with 4401.
    {
        let soon = sign_in(relay.addr, LEAD.email, PASSWORD).await;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        sqlx::query("UPDATE sessions SET expires_at = $1 WHERE professional_id = $2")
            .bind(now + 2)
            .bind(soon.id)
            .execute(&relay.state.db)
            .await
            .unwrap();
        let mut peer = Peer::connect(&relay.ws_url(), &soon, soon.client("expiring")).await;
        assert_eq!(peer.close_code().await, Some(4401));
        assert_eq!(
            upgrade_status(&relay.ws_url(), Some(&soon.token)).await,
            401
        );
    }
    let lead = sign_in(relay.addr, LEAD.email, PASSWORD).await;

    let out = api(&relay, "DELETE", "/api/session", &lead, None).await;
    assert_eq!(out.status, 204);
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(
        api(&relay, "GET", "/api/session", &lead, None).await.status,
        401
    );

    let unknown = attempt(&relay, "nobody@example.org", "guess").await;
    assert_eq!(unknown.status, 401);
    assert_eq!(
        unknown.json()["error"],
        "Email address or password is not right"
    );
    for _ in 0..5 {
        assert_eq!(
            attempt(&relay, LEAD.email, "wrong password").await.status,
            401
        );
    }
    let limited = attempt(&relay, LEAD.email, PASSWORD).await;
    assert_eq!(limited.status, 429, "even the right password waits");
    assert!(limited.json()["error"]
        .as_str()
        .unwrap()
        .contains("Too many attempts"));
    let outcomes: Vec<String> =
        sqlx::query_scalar("SELECT outcome FROM audit WHERE event = 'sign_in'")
            .fetch_all(&relay.state.db)
            .await
            .unwrap();
    assert!(outcomes.iter().any(|o| o == "success"));
    assert!(outcomes.iter().filter(|o| *o == "failed").count() >= 6);
    assert!(outcomes.iter().any(|o| o == "rate_limited"));
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn administrators_manage_accounts_within_their_powers() {
    let data = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(data.path()).await;
    let admin = account(&relay, &ADMIN, "system_admin").await;
    let school_admin = account(&relay, &TEACHER, "agency_admin").await;
    let nurse = account(&relay, &NURSE, "practitioner").await;

    let made = api(
        &relay,
        "POST",
        "/api/agencies",
        &admin,
        Some(json!({"name": "Youth Service"})),
    )
    .await;
    assert_eq!(made.status, 201);
    assert_eq!(
        api(
            &relay,
            "POST",
            "/api/agencies",
            &admin,
            Some(json!({"name": "youth service"}))
        )
        .await
        .status,
        409
    );
    assert_eq!(
        api(
            &relay,
            "POST",
            "/api/agencies",
            &nurse,
            Some(json!({"name": "Mine"}))
        )
        .await
        .status,
        403
    );
    assert_eq!(
        api(&relay, "GET", "/api/agencies", &nurse, None)
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        4
    );

    let new = |agency_id: i64, role: &str, email: &str| json!({"name": "New Person", "email": email, "agency_id": agency_id, "role": role, "password": "a long enough password"});
    let own = school_admin.agency_id;
    assert_eq!(
        api(
            &relay,
            "POST",
            "/api/professionals",
            &school_admin,
            Some(new(own, "practitioner", "new1@example.org"))
        )
        .await
        .status,
        201
    );
    assert_eq!(
        api(
            &relay,
            "POST",
            "/api/professionals",
            &school_admin,
            Some(new(own, "system_admin", "new2@example.org"))
        )
        .await
        .status,
        403
    );
    assert_eq!(
        api(
            &relay,
            "POST",
            "/api/professionals",
            &school_admin,
            Some(new(nurse.agency_id, "practitioner", "new3@example.org"))
        )
        .await
        .status,
        403
    );
    assert_eq!(
        api(
            &relay,
            "POST",
            "/api/professionals",
            &admin,
            Some(new(nurse.agency_id, "practitioner", "NEW1@example.org"))
        )
        .await
        .status,
        409
    );
    assert_eq!(
        api(
            &relay,
            "POST",
            "/api/professionals",
            &nurse,
            Some(new(nurse.agency_id, "practitioner", "new4@example.org"))
        )
        .await
        .status,
        403
    );
    let short = json!({"name": "N", "email": "n@example.org", "agency_id": own, "role": "practitioner", "password": "short"});
    assert_eq!(
        api(&relay, "POST", "/api/professionals", &admin, Some(short))
            .await
            .status,
        400
    );
    let unknown = api(
        &relay,
        "POST",
        "/api/professionals",
        &admin,
        Some(new(own, "root", "new5@example.org")),
    )
    .await;
    assert_eq!(unknown.status, 400);
    assert_eq!(
        unknown.json()["error"],
        "Choose a role: practitioner, agency_admin or system_admin."
    );

    assert_eq!(
        api(
            &relay,
            "POST",
            &format!("/api/professionals/{}/deactivate", nurse.id),
            &school_admin,
            None
        )
        .await
        .status,
        403
    );
    assert_eq!(
        api(
            &relay,
            "POST",
            &format!("/api/professionals/{}/deactivate", admin.id),
            &admin,
            None
        )
        .await
        .status,
        409
    );
    // Practitioners see active colleagues; administrators see everyone.
    assert_eq!(
        api(
            &relay,
            "POST",
            &format!("/api/professionals/{}/deactivate", nurse.id),
            &admin,
            None
        )
        .await
        .status,
        204
    );
    let seen = |who: &Login| {
        let who = who.clone();
        let relay = &relay;
        async move {
            api(relay, "GET", "/api/professionals", &who, None)
                .await
                .json()
                .as_array()
                .unwrap()
                .len()
        }
    };
    assert_eq!(seen(&admin).await, 4);
    let practitioner = sign_in(relay.addr, "new1@example.org", "a long enough password").await;
    assert_eq!(seen(&practitioner).await, 3);
    assert_eq!(
        api(&relay, "GET", "/api/nothing-here", &admin, None)
            .await
            .status,
        404
    );
    let odd = api(
        &relay,
        "POST",
        "/api/professionals/abc/deactivate",
        &admin,
        None,
    )
    .await;
    assert_eq!(odd.status, 404);
    assert!(odd.json()["error"].is_string());
    let odd = api(
        &relay,
        "POST",
        "/api/agencies",
        &admin,
        Some(json!({"nom": "x"})),
    )
    .await;
    assert_eq!(odd.status, 400);
    assert!(odd.json()["error"].is_string());
    relay.stop().await;
}
