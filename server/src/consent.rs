//! Consent as the relay enforces it: a professional joins a case only if the family agreed to
//! share with their agency (or a safeguarding override says why it is shared without
//! agreement), and when consent is withdrawn that agency's members lose the case.
//!
//! The relay reads the `consent` part of its own copy of the case document (what members have
//! synced to it), so the record the practitioners keep is the single source of truth.

use crate::access::Access;
use crate::audit::{Audit, Event};
use crate::repos::Repos;
use automerge::ROOT;
use shared::api::CaseRole;
use shared::record::consent::Consent;
use sqlx::AnyPool;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// Agency names match trimmed and ignoring case: "oak primary school " is "Oak Primary School".
fn same_agency(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

/// A safeguarding override that says what it must: lawful basis, reason and decider.
fn has_override(consent: &Consent, agency: &str) -> bool {
    consent.overrides.iter().any(|o| {
        same_agency(&o.agency, agency)
            && !o.lawful_basis.trim().is_empty()
            && !o.reason.as_str().trim().is_empty()
            && !o.decided_by.trim().is_empty()
    })
}

/// Whether the record allows sharing the case with this agency.
pub fn allows(consent: &Consent, agency: &str) -> bool {
    if has_override(consent, agency) {
        return true;
    }
    let refused = consent
        .do_not_share
        .iter()
        .any(|d| same_agency(&d.with, agency));
    let agreed = consent
        .agencies
        .iter()
        .any(|c| same_agency(&c.agency, agency) && c.is_current());
    agreed && !refused
}

/// Whether the record now withholds the case from an agency that had it: consent withdrawn
/// (and none current), or the family asked not to share with it, and no override either way.
/// Consent that is merely not recorded yet does not remove anyone: a half-typed date must not
/// throw colleagues off a case.
pub fn withholds(consent: &Consent, agency: &str) -> bool {
    if has_override(consent, agency) {
        return false;
    }
    let mine = || {
        consent
            .agencies
            .iter()
            .filter(|c| same_agency(&c.agency, agency))
    };
    let withdrawn =
        mine().any(|c| !c.withdrawn_date.trim().is_empty()) && !mine().any(|c| c.is_current());
    let refused = consent
        .do_not_share
        .iter()
        .any(|d| same_agency(&d.with, agency));
    withdrawn || refused
}

/// Whether the record could withhold the case from any agency: some consent was withdrawn or
/// the family asked not to share with someone. When not, nobody needs looking up; that is
/// nearly every change, as the relay checks after each one.
fn may_withhold_from_anyone(consent: &Consent) -> bool {
    !consent.do_not_share.is_empty()
        || consent
            .agencies
            .iter()
            .any(|c| !c.withdrawn_date.trim().is_empty())
}

/// The consent part of a case document; empty if it has none (or cannot be read).
pub fn read(doc: &automerge::Automerge) -> Consent {
    autosurgeon::hydrate_prop::<_, Option<Consent>, _, _>(doc, ROOT, "consent")
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// The relay's copy of a case's consent, or `None` if the relay holds no copy of the case.
pub async fn of_case(repos: &Repos, case_id: &str) -> Option<Consent> {
    repos.copy(case_id).await.ok()??.read(read).await
}

/// Watches the consent of cases being synced and removes members whose agency lost consent.
#[derive(Clone)]
pub struct Watcher {
    repos: Repos,
    pool: AnyPool,
    access: Access,
    audit: Audit,
    watched: Arc<Mutex<HashSet<String>>>,
}

impl Watcher {
    pub fn new(repos: Repos, pool: AnyPool, access: Access, audit: Audit) -> Self {
        Self {
            repos,
            pool,
            access,
            audit,
            watched: Arc::default(),
        }
    }

    /// Starts watching a case (once). Called when a member syncs it: a case's document only
    /// changes on the relay through members' sync messages, so every change is seen.
    pub fn watch(&self, case_id: &str) {
        if !self
            .watched
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(case_id.to_string())
        {
            return;
        }
        let me = self.clone();
        let case_id = case_id.to_string();
        tokio::spawn(async move {
            if case_id.parse::<samod::DocumentId>().is_err() {
                return;
            }
            // The first sync message may still be on its way into the document: wait a while
            // for it. If it never comes, forget the case so that its next sync message retries.
            let mut unloaded = me.repos.unloads(&case_id);
            let mut handle = None;
            for _ in 0..60 {
                // Only where the case is worked on: never claim it just to watch.
                match me.repos.find_loaded(&case_id).await {
                    Ok(Some(h)) => {
                        handle = Some(h);
                        break;
                    }
                    Ok(None) => tokio::time::sleep(std::time::Duration::from_millis(500)).await,
                    Err(_) => break, // the repo stopped
                }
            }
            let Some(handle) = handle else {
                me.forget(&case_id);
                return;
            };
            use futures::StreamExt;
            let mut changes = handle.changes();
            loop {
                // A document that cannot be read now (its shard stopping) says nothing about
                // consent: enforcing an empty default would remove people for no reason.
                let Ok(consent) = handle.with_document_async(|doc| read(doc)).await else {
                    break;
                };
                if let Err(e) = me.enforce(&case_id, &consent).await {
                    tracing::error!(case = %case_id, error = %e, "could not apply consent withdrawal");
                }
                // The shard unloaded (nobody had the case open): let go of the document; the
                // next sync message about the case watches it again.
                tokio::select! {
                    next = changes.next() => if next.is_none() { break },
                    _ = unloaded.changed() => break,
                }
            }
            me.forget(&case_id);
        });
    }

    fn forget(&self, case_id: &str) {
        self.watched
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(case_id);
    }

    /// Removes members whose agency the record now withholds the case from, except members of
    /// the lead professional's own agency (the agency holding the case).
    pub async fn enforce(&self, case_id: &str, consent: &Consent) -> Result<(), sqlx::Error> {
        if !may_withhold_from_anyone(consent) {
            return Ok(());
        }
        let members = self.access.members(case_id);
        if members.is_empty() {
            return Ok(());
        }
        let ids: Vec<i64> = members.iter().map(|(p, _)| *p).collect();
        let agencies = agencies_of(&self.pool, &ids).await?;
        let lead_agencies: HashSet<i64> = members
            .iter()
            .filter(|(_, r)| *r == CaseRole::Lead)
            .filter_map(|(p, _)| agencies.iter().find(|a| a.0 == *p).map(|a| a.1))
            .collect();
        let withheld: Vec<(i64, i64)> = agencies
            .into_iter()
            .filter(|(_, agency_id, name)| {
                !lead_agencies.contains(agency_id) && withholds(consent, name)
            })
            .map(|(professional, agency_id, _)| (professional, agency_id))
            .collect();
        let ids: Vec<i64> = withheld.iter().map(|(p, _)| *p).collect();
        // All of the agency's people go in one step: nobody reads a team half-removed.
        let removed = self.access.remove_all(case_id, &ids).await?;
        for (professional, agency_id) in withheld {
            if !removed.contains(&professional) {
                continue;
            }
            tracing::info!(case = %case_id, professional, agency = agency_id, "member removed: consent withdrawn");
            self.audit
                .record(
                    Event::new("member_removed", "consent_withdrawn")
                        .case(case_id)
                        .professional(professional)
                        .agency(agency_id),
                )
                .await;
        }
        Ok(())
    }
}

/// (professional id, agency id, agency name) for each professional.
async fn agencies_of(pool: &AnyPool, ids: &[i64]) -> Result<Vec<(i64, i64, String)>, sqlx::Error> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(p) = crate::accounts::professional(pool, *id).await? {
            out.push((p.id, p.agency_id, p.agency_name));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::record::consent::{AgencyConsent, ConsentOverride, DoNotShare};

    fn consent_for(agency: &str) -> AgencyConsent {
        AgencyConsent {
            date: "2026-01-05".into(),
            ..AgencyConsent::new(agency)
        }
    }

    #[test]
    fn sharing_needs_current_consent_or_a_complete_override() {
        let mut c = Consent::default();
        assert!(!allows(&c, "Oak Primary School"));
        c.agencies.push(consent_for("Oak Primary School"));
        assert!(allows(&c, " oak primary school "));
        assert!(!allows(&c, "Health visiting"));
        c.do_not_share.push(DoNotShare::new("OAK PRIMARY SCHOOL"));
        assert!(
            !allows(&c, "Oak Primary School"),
            "do not share wins over consent"
        );
        let mut o = ConsentOverride::new("Oak Primary School");
        o.lawful_basis = "Children Act 1989 s.47".into();
        o.decided_by = "A. Manager, team manager".into();
        c.overrides.push(o.clone());
        assert!(
            !allows(&c, "Oak Primary School"),
            "an override needs a reason"
        );
        o.reason = autosurgeon::Text::with_value("Risk of significant harm");
        c.overrides = vec![o];
        assert!(allows(&c, "Oak Primary School"));
    }

    #[test]
    fn withdrawal_withholds_but_missing_consent_does_not() {
        let mut c = Consent::default();
        assert!(!withholds(&c, "Oak Primary School"));
        let mut given = consent_for("Oak Primary School");
        c.agencies.push(given.clone());
        assert!(!withholds(&c, "Oak Primary School"));
        given.withdrawn_date = "2026-02-01".into();
        c.agencies = vec![given];
        assert!(withholds(&c, "oak primary school"));
        c.agencies.push(consent_for("Oak Primary School"));
        assert!(!withholds(&c, "Oak Primary School"), "consent given again");
    }

    #[test]
    fn only_withdrawals_and_refusals_send_the_relay_looking_up_members() {
        let mut c = Consent::default();
        c.agencies.push(consent_for("Oak Primary School"));
        assert!(!may_withhold_from_anyone(&c));
        let mut withdrawn = consent_for("Health visiting");
        withdrawn.withdrawn_date = "2026-02-01".into();
        c.agencies.push(withdrawn);
        assert!(withholds(&c, "Health visiting"));
        assert!(may_withhold_from_anyone(&c));
        c.agencies.pop();
        c.do_not_share.push(DoNotShare::new("Police"));
        assert!(withholds(&c, "Police"));
        assert!(may_withhold_from_anyone(&c));
    }
}
