//! Limits on guessing passwords: sign-in attempts per account and per client address in a
//! sliding window (5 per account and 20 per address in 15 minutes; a success forgives its own
//! attempt).
//!
//! The counts live in the database, so every relay sharing it counts the same attempts, and
//! a restart forgets nothing. Emails and addresses are kept only as salted hashes
//! ([`Audit::pseudonym`]). An attempt is counted when it is allowed, in the same transaction
//! as the check, with writers taken one at a time, so parallel requests (to one relay or
//! several) cannot all pass before any failure is recorded.

use crate::accounts::now_ms;
use crate::audit::Audit;
use crate::database::{Dialect, Lock};
use sqlx::AnyPool;
use std::net::IpAddr;
use std::time::Duration;

/// What [`SignInLimit::allows`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Go ahead: the attempt is counted.
    Allowed,
    /// Too many attempts; `audit` is true for the first refusal of a key in a window.
    Limited { audit: bool },
}

#[derive(Clone)]
pub struct SignInLimit {
    pool: AnyPool,
    audit: Audit,
    window: Duration,
    per_account: i64,
    per_address: i64,
    /// Keeps the counts of different kinds of attempt apart in the one table.
    kind: &'static str,
}

impl SignInLimit {
    /// 5 attempts per account and 20 per address in 15 minutes.
    pub fn new(pool: AnyPool, audit: Audit) -> Self {
        Self::with_limits(pool, audit, Duration::from_secs(15 * 60), 5, 20)
    }

    pub fn with_limits(
        pool: AnyPool,
        audit: Audit,
        window: Duration,
        per_account: i64,
        per_address: i64,
    ) -> Self {
        Self {
            pool,
            audit,
            window,
            per_account,
            per_address,
            kind: "",
        }
    }

    /// Starts of a sign-in at an organisation's provider (each writes a row and asks the
    /// provider): 20 per account and 60 per address in 15 minutes, counted apart from
    /// passwords, since people may well click Continue more than once.
    pub fn provider_starts(pool: AnyPool, audit: Audit) -> Self {
        Self {
            kind: "provider-start:",
            ..Self::with_limits(pool, audit, Duration::from_secs(15 * 60), 20, 60)
        }
    }

    fn account_key(&self, email: &str) -> String {
        // Any case, any surrounding spaces: one account.
        self.audit.pseudonym(&format!(
            "{}account:{}",
            self.kind,
            email.trim().to_lowercase()
        ))
    }

    fn address_key(&self, addr: Option<IpAddr>) -> String {
        let addr = addr.map(|a| a.to_string()).unwrap_or_default();
        self.audit
            .pseudonym(&format!("{}address:{addr}", self.kind))
    }

    /// Whether another attempt may be made now; if so, it is counted at once.
    pub async fn allows(&self, email: &str, addr: Option<IpAddr>) -> Result<Verdict, sqlx::Error> {
        let keys = [
            (self.account_key(email), self.per_account),
            (self.address_key(addr), self.per_address),
        ];
        let now = now_ms();
        let since = now - self.window.as_millis() as i64;
        let dialect = Dialect::of(&self.pool);
        let mut conn = self.pool.acquire().await?;
        let mut tx = crate::database::begin_writing(&mut conn, dialect, Lock::SignIn).await?;
        // Whatever has left the window, for everyone: the tables stay small.
        sqlx::query("DELETE FROM sign_in_attempts WHERE at < $1")
            .bind(since)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sign_in_refusals WHERE audited_at < $1")
            .bind(since)
            .execute(&mut *tx)
            .await?;
        let mut over = Vec::new();
        for (key, limit) in &keys {
            let count: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM sign_in_attempts WHERE key = $1")
                    .bind(key)
                    .fetch_one(&mut *tx)
                    .await?;
            if count >= *limit {
                over.push(key);
            }
        }
        let verdict = if over.is_empty() {
            for (key, _) in &keys {
                sqlx::query("INSERT INTO sign_in_attempts (key, at) VALUES ($1, $2)")
                    .bind(key)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
            Verdict::Allowed
        } else {
            // Audited once per key per window: a row comes back only when it was written.
            let mut audit = false;
            for key in over {
                let written: Option<String> = sqlx::query_scalar(
                    "INSERT INTO sign_in_refusals (key, audited_at) VALUES ($1, $2)
                     ON CONFLICT (key) DO UPDATE SET audited_at = excluded.audited_at
                     WHERE sign_in_refusals.audited_at < $3
                     RETURNING key",
                )
                .bind(key)
                .bind(now)
                .bind(since)
                .fetch_optional(&mut *tx)
                .await?;
                audit |= written.is_some();
            }
            Verdict::Limited { audit }
        };
        tx.commit().await?;
        Ok(verdict)
    }

    /// A successful sign-in clears the account's attempts and forgives its own attempt on the
    /// address (the address keeps its failures).
    pub async fn succeeded(&self, email: &str, addr: Option<IpAddr>) -> Result<(), sqlx::Error> {
        let account = self.account_key(email);
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM sign_in_attempts WHERE key = $1")
            .bind(&account)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sign_in_refusals WHERE key = $1")
            .bind(&account)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "DELETE FROM sign_in_attempts WHERE id =
                (SELECT id FROM sign_in_attempts WHERE key = $1 ORDER BY id DESC LIMIT 1)",
        )
        .bind(self.address_key(addr))
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn limit(per_account: i64, per_address: i64) -> (tempfile::TempDir, SignInLimit) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let pool = crate::database::open(&url).await.unwrap();
        let audit = Audit::open(pool.clone()).await.unwrap();
        let limit = SignInLimit::with_limits(
            pool,
            audit,
            Duration::from_secs(60),
            per_account,
            per_address,
        );
        (dir, limit)
    }

    #[tokio::test]
    async fn the_limit_counts_failures_per_account_and_address() {
        let (_dir, limit) = limit(2, 3).await;
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let allows = |email: &'static str, ip: IpAddr| {
            let limit = limit.clone();
            async move { limit.allows(email, Some(ip)).await.unwrap() }
        };
        assert_eq!(allows("a@x.org", ip).await, Verdict::Allowed);
        assert_eq!(allows(" A@x.org", ip).await, Verdict::Allowed);
        assert_eq!(
            allows("a@x.org", ip).await,
            Verdict::Limited { audit: true },
            "per account, any case"
        );
        assert_eq!(
            allows("a@x.org", ip).await,
            Verdict::Limited { audit: false },
            "audited once per window"
        );
        assert_eq!(allows("b@x.org", ip).await, Verdict::Allowed);
        assert_ne!(allows("c@x.org", ip).await, Verdict::Allowed, "per address");
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        assert_eq!(allows("c@x.org", other).await, Verdict::Allowed);
    }

    #[tokio::test]
    async fn a_success_forgives_its_attempt() {
        let (_dir, limit) = limit(2, 2).await;
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        for _ in 0..5 {
            assert_eq!(
                limit.allows("a@x.org", Some(ip)).await.unwrap(),
                Verdict::Allowed
            );
            limit.succeeded("a@x.org", Some(ip)).await.unwrap();
        }
    }

    /// Parallel guesses cannot all pass: exactly the limit gets through.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn parallel_attempts_are_counted_one_by_one() {
        let (_dir, limit) = limit(5, 100).await;
        let tries = (0..20).map(|_| {
            let limit = limit.clone();
            tokio::spawn(async move { limit.allows("a@x.org", None).await.unwrap() })
        });
        let verdicts = futures::future::join_all(tries).await;
        let allowed = verdicts
            .into_iter()
            .filter(|v| *v.as_ref().unwrap() == Verdict::Allowed)
            .count();
        assert_eq!(allowed, 5);
    }

    /// The counts are in the database: a second relay (or a restarted one) sees them.
    #[tokio::test]
    async fn counts_are_shared_by_everyone_on_the_database() {
        let (_dir, first) = limit(2, 100).await;
        let second = first.clone();
        assert_eq!(
            first.allows("a@x.org", None).await.unwrap(),
            Verdict::Allowed
        );
        assert_eq!(
            second.allows("a@x.org", None).await.unwrap(),
            Verdict::Allowed
        );
        assert!(matches!(
            first.allows("a@x.org", None).await.unwrap(),
            Verdict::Limited { .. }
        ));
    }
}
