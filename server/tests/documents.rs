//! The family's plan as a PDF from the relay: drawn for members only, read back with
//! `pdftotext` (Debian's poppler-utils, installed by `scripts/setup.sh --tests`), audited.

mod common;

use autosurgeon::Text;
use common::{http_bytes, pdf_text, practitioner, register, TestRelay};
use shared::documents::{family_plan, Block, Document, Section};
use shared::record::dates::Day;
use shared::record::family::{Person, Role};
use shared::record::plan::{Action, Outcome};
use shared::record::CaseRecord;
use std::net::SocketAddr;

async fn post_for_bytes(
    addr: SocketAddr,
    path: &str,
    token: &str,
    body: &serde_json::Value,
) -> (u16, String, Vec<u8>) {
    http_bytes(addr, "POST", path, token, Some(body)).await
}

/// `pdfinfo` (poppler-utils) with `args` on the PDF: its details, then its structure.
fn poppler(args: &[&str], pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plan.pdf");
    std::fs::write(&file, pdf).unwrap();
    let out = std::process::Command::new("pdfinfo")
        .args(args)
        .arg(&file)
        .output()
        .expect("pdfinfo (poppler-utils)");
    assert!(out.status.success(), "pdfinfo failed on the PDF");
    let info = std::process::Command::new("pdfinfo")
        .arg(&file)
        .output()
        .expect("pdfinfo (poppler-utils)");
    format!(
        "{}{}",
        String::from_utf8_lossy(&info.stdout),
        String::from_utf8_lossy(&out.stdout)
    )
}

fn plan() -> Document {
    let mut r = CaseRecord::new("Łukasz Nowak");
    r.family
        .people
        .push(Person::new(Role::ParentCarer, "Zoë Nowak"));
    r.assessment.working_well = Text::with_value(
        "Łukasz has made friends at the after-school club and enjoys football. ".repeat(30),
    );
    let mut outcome = Outcome::new("Łukasz sleeps well and is ready for school");
    for n in 0..25 {
        let mut a = Action::new(&format!(
            "Action number {n}: a bedtime routine with the SENCO"
        ));
        a.owner = "Zoë Nowak".into();
        a.due = "2027-01-15".into();
        outcome.actions.push(a);
    }
    r.plan.outcomes.push(outcome);
    family_plan::build(&r, &[], Day::parse("2026-11-26").unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_gets_the_family_plan_as_a_pdf_that_reads_back() {
    let data = tempfile::tempdir().unwrap();
    let relay = TestRelay::start(data.path()).await;
    let lead = practitioner(&relay, "lead").await;
    let stranger = practitioner(&relay, "stranger").await;
    let id = shared::DocumentId::random();
    assert_eq!(register(&relay, &lead, &id).await, 201);
    let path = format!("/api/cases/{id}/documents/family-plan");
    let doc = plan();
    let body = serde_json::to_value(&doc).unwrap();

    let (status, head, pdf) = post_for_bytes(relay.addr, &path, &lead.token, &body).await;
    assert_eq!(status, 200, "{head}");
    assert!(head
        .to_lowercase()
        .contains("content-type: application/pdf"));
    assert!(
        head.contains("attachment; filename=\"family-plan-"),
        "{head}"
    );
    assert!(pdf.starts_with(b"%PDF-"));
    // Kept for a person to look at.
    std::fs::write(
        concat!(env!("CARGO_TARGET_TMPDIR"), "/family-plan.pdf"),
        &pdf,
    )
    .unwrap();

    let text = pdf_text(&pdf);
    let squashed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(squashed.contains("The Nowak family's plan"), "{text}");
    assert!(squashed.contains("Who is helping"));
    assert!(squashed.contains("Your goals and what will happen"));
    // Letters outside the standard fonts lose their accent, not the letter; é and ë stay.
    assert!(squashed.contains("Lukasz sleeps well and is ready for school"));
    assert!(squashed.contains("Zoë Nowak"));
    assert!(squashed.contains("Action number 24: a bedtime routine with the SENCO"));
    assert!(squashed.contains("SENCO (Special Educational Needs Co-ordinator)"));
    assert!(squashed.contains("15 January 2027"));
    assert!(squashed.contains("call 999"));
    // Long enough for several pages, each numbered.
    let pages = text
        .lines()
        .filter(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            words.len() == 4
                && words[0] == "Page"
                && words[2] == "of"
                && words[1].parse::<u32>().is_ok()
                && words[3].parse::<u32>().is_ok()
        })
        .count();
    assert!(pages >= 3, "{pages} pages");
    assert!(squashed.contains(&format!("Page {pages} of {pages}")));

    // Tagged for screen readers: headings and paragraphs in reading order.
    let structure = poppler(&["-struct-text"], &pdf);
    assert!(structure.contains("Tagged:          yes"), "{structure}");
    assert!(
        structure.contains("H1 (block)\n    \"The Nowak family's plan\""),
        "{structure}"
    );
    assert!(structure.contains("H2 (block)\n    \"Who is helping\""));
    assert!(structure.contains("Title:           The Nowak family's plan"));

    // Someone not on the case gets nothing, and learns nothing.
    let (status, _, _) = post_for_bytes(relay.addr, &path, &stranger.token, &body).await;
    assert_eq!(status, 404);

    // A kind of document the relay does not make.
    let (status, _, _) = post_for_bytes(
        relay.addr,
        &format!("/api/cases/{id}/documents/anything"),
        &lead.token,
        &body,
    )
    .await;
    assert_eq!(status, 404);

    // A document past the limits is refused with words a person can act on.
    let huge = Document {
        title: "Too long".into(),
        subtitle: String::new(),
        sections: vec![Section {
            heading: "Everything".into(),
            blocks: vec![Block::Paragraph { text: "x".into() }; shared::documents::MAX_BLOCKS + 1],
        }],
    };
    let (status, _, answer) = post_for_bytes(
        relay.addr,
        &path,
        &lead.token,
        &serde_json::to_value(&huge).unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&answer).contains("Print the page instead"));

    // Each copy made is in the audit, by ids only.
    let rows: Vec<(String, Option<i64>)> = sqlx::query_as(
        "SELECT outcome, actor_professional_id FROM audit WHERE event = 'export_family_plan_pdf'",
    )
    .fetch_all(&relay.state.db)
    .await
    .unwrap();
    assert_eq!(rows, vec![("success".to_string(), Some(lead.id))]);
    relay.stop().await;
}
