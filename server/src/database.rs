//! The relay's SQL database: SQLite (the default, a file in the data folder) or PostgreSQL
//! (`DATABASE_URL=postgres://…`, for a council that runs its own).
//!
//! Every query goes through sqlx's `Any` driver, so one set of queries serves both. They keep
//! to what both databases read alike: `$1`-style parameters, `ON CONFLICT`, `RETURNING`, and
//! 64-bit integers for numbers, times and flags (no booleans). Each database has its own
//! migrations folder (`migrations/sqlite`, `migrations/postgres`).

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, AnyPool, ConnectOptions, Connection, Executor};
use std::str::FromStr;
use std::time::Duration;

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    pub fn of_url(url: &str) -> Option<Dialect> {
        let scheme = url.split(':').next()?;
        match scheme {
            "sqlite" => Some(Dialect::Sqlite),
            "postgres" | "postgresql" => Some(Dialect::Postgres),
            _ => None,
        }
    }

    pub fn of(pool: &AnyPool) -> Dialect {
        // A pool exists only for a URL `open` accepted.
        Self::of_url(pool.connect_options().database_url.as_str()).unwrap_or(Dialect::Sqlite)
    }
}

/// Starts a transaction that will write, taking `lock` at once, so that two such
/// transactions (from any relay sharing the database) run one after the other. SQLite:
/// `BEGIN IMMEDIATE` (its one write lock). PostgreSQL: a transaction-scoped advisory lock on
/// `lock`, since every relay process shares the database and an in-process lock would not do.
pub async fn begin_writing(
    conn: &mut AnyConnection,
    dialect: Dialect,
    lock: Lock,
) -> Result<sqlx::Transaction<'_, sqlx::Any>, sqlx::Error> {
    match dialect {
        Dialect::Sqlite => conn.begin_with("BEGIN IMMEDIATE").await,
        Dialect::Postgres => {
            let mut tx = conn.begin().await?;
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(lock as i64)
                .execute(&mut *tx)
                .await?;
            Ok(tx)
        }
    }
}

/// Advisory lock keys, one per kind of serialised write. Arbitrary, fixed numbers.
#[derive(Debug, Clone, Copy)]
pub enum Lock {
    /// Held for its whole life by the one relay serving a PostgreSQL database.
    ActiveRelay = 7_100_000,
    /// The receipt journal and its actor bindings.
    Journal = 7_100_001,
    /// Sign-in attempt counts.
    SignIn = 7_100_002,
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("DATABASE_URL must start with sqlite:// or postgres://")]
    UnknownScheme,
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
    #[error("the database could not be migrated: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("the data folder could not be created: {0}")]
    DataDir(#[from] std::io::Error),
    #[error("the database does not run with the durability the relay promises: {0}")]
    NotDurable(String),
}

/// Opens (creating a SQLite file if needed) the database, checks it keeps what it commits,
/// and brings its schema up to date.
pub async fn open(url: &str) -> Result<AnyPool, OpenError> {
    sqlx::any::install_default_drivers();
    let dialect = Dialect::of_url(url).ok_or(OpenError::UnknownScheme)?;
    if dialect == Dialect::Sqlite {
        create_sqlite(url).await?;
    }
    let pool = AnyPoolOptions::new()
        .max_connections(match dialect {
            Dialect::Sqlite => 4,
            Dialect::Postgres => 8,
        })
        .acquire_timeout(Duration::from_secs(10))
        .after_connect(move |conn, _| Box::pin(prepare(conn, dialect)))
        .connect_with(options(url)?)
        .await?;
    check_durability(&pool, dialect).await?;
    match dialect {
        Dialect::Sqlite => sqlx::migrate!("./migrations/sqlite").run(&pool).await?,
        Dialect::Postgres => sqlx::migrate!("./migrations/postgres").run(&pool).await?,
    }
    Ok(pool)
}

/// How often the serving relay checks that it still holds the database, and how long a check
/// may take.
pub(crate) const PING_EVERY: Duration = Duration::from_secs(2);
pub(crate) const PING_TIMEOUT: Duration = Duration::from_secs(4);

/// A PostgreSQL session that holds advisory locks for this relay. A client that vanishes
/// without closing (its machine died) is noticed in ~20 s, whether the connection was idle
/// (keepalives) or had data in flight (user timeout), and its locks freed.
pub(crate) async fn connect_watched(url: &str) -> Result<AnyConnection, sqlx::Error> {
    let mut conn = connect(url).await?;
    conn.execute(
        "SET tcp_keepalives_idle = 5; SET tcp_keepalives_interval = 5; \
         SET tcp_keepalives_count = 3; SET tcp_user_timeout = 20000",
    )
    .await?;
    Ok(conn)
}

/// Waits until this relay is the only one serving the database, and stays so.
///
/// Each relay keeps its cases in memory (samod loads a case once and never sees another
/// process's writes), so two relays serving one database at once would each show people an
/// incomplete case. On PostgreSQL the serving relay holds a session advisory lock: a second
/// relay waits here, as a standby, until the first one's session ends (it died, or lost the
/// database), then takes over with everything the first one stored. The relay that holds the
/// lock checks its connection every few seconds and stops the process if it cannot reach the
/// database, before PostgreSQL (which notices a dead client within about 20 seconds, through
/// the keepalives set here) lets a standby take over. SQLite is one file on one machine:
/// nothing to wait for.
pub async fn become_active(url: &str) -> Result<Active, OpenError> {
    if Dialect::of_url(url) != Some(Dialect::Postgres) {
        return Ok(Active(None));
    }
    let mut conn = connect_watched(url).await?;
    let mut waiting = false;
    loop {
        let active: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(Lock::ActiveRelay as i64)
            .fetch_one(&mut conn)
            .await?;
        if active {
            break;
        }
        if !waiting {
            tracing::info!("another relay is serving this database; standing by to take over");
            waiting = true;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    if waiting {
        // The lock can come free while the other relay still runs (its database session was
        // ended from the server's side): it stops itself within one ping interval and
        // timeout. Wait that out before serving, so that two never serve at once.
        tokio::time::sleep(PING_EVERY + PING_TIMEOUT + Duration::from_secs(1)).await;
        tracing::info!("the other relay has gone; taking over");
    }
    let (release, mut released) = tokio::sync::mpsc::channel::<tokio::sync::oneshot::Sender<()>>(1);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(PING_EVERY) => {}
                asked = released.recv() => {
                    let _ = conn.close().await;
                    if let Some(done) = asked {
                        let _ = done.send(());
                    }
                    return;
                }
            }
            let alive = tokio::time::timeout(PING_TIMEOUT, conn.ping()).await;
            if !matches!(alive, Ok(Ok(()))) {
                // Serving on would risk two relays serving at once: stop, and let the
                // service manager start this one again as a standby.
                tracing::error!(
                    "lost the database connection that makes this relay the serving one; stopping"
                );
                std::process::exit(3);
            }
        }
    });
    Ok(Active(Some(release)))
}

/// This relay's standing as the one serving its database (see [`become_active`]).
#[derive(Clone)]
pub struct Active(Option<tokio::sync::mpsc::Sender<tokio::sync::oneshot::Sender<()>>>);

impl Active {
    /// For relays that serve together ([`crate::cluster`]): nothing to wait for or give back.
    pub fn together() -> Active {
        Active(None)
    }

    /// Lets a standby take over now, as a relay that stops does.
    pub async fn release(&self) {
        if let Some(release) = &self.0 {
            let (done, wait) = tokio::sync::oneshot::channel();
            if release.send(done).await.is_ok() {
                let _ = wait.await;
            }
        }
    }
}

fn options(url: &str) -> Result<AnyConnectOptions, sqlx::Error> {
    AnyConnectOptions::from_str(url)
}

/// A connection of its own, outside the pool (the document writer's, see [`crate::storage`]).
pub async fn connect(url: &str) -> Result<AnyConnection, sqlx::Error> {
    sqlx::any::install_default_drivers();
    let mut conn = options(url)?.connect().await?;
    prepare(&mut conn, Dialect::of_url(url).unwrap_or(Dialect::Sqlite)).await?;
    Ok(conn)
}

/// Settings every connection needs. SQLite's `synchronous` is per connection; FULL is its
/// default, said here so that no build of SQLite with another default weakens it.
async fn prepare(conn: &mut AnyConnection, dialect: Dialect) -> Result<(), sqlx::Error> {
    if dialect == Dialect::Sqlite {
        conn.execute("PRAGMA synchronous = FULL").await?;
        // Deleted rows are overwritten, not left in free pages: a destroyed case must not
        // linger in the file (see crate::records).
        conn.execute("PRAGMA secure_delete = ON").await?;
    }
    Ok(())
}

/// Creates the SQLite file (and its folder) in write-ahead mode. WAL is kept in the file, so
/// every later connection, pooled or not, uses it.
async fn create_sqlite(url: &str) -> Result<(), OpenError> {
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal);
    if let Some(parent) = options.get_filename().parent() {
        if !parent.as_os_str().is_empty() {
            std::fs::create_dir_all(parent)?;
        }
    }
    let mut conn = options.connect().await?;
    conn.execute("SELECT 1").await?;
    sqlx::Connection::close(conn).await?;
    Ok(())
}

/// Refuses to run unless a commit is on disk when the database says it is: the relay
/// acknowledges a change only once it is committed, and that promise is only true then.
/// SQLite: write-ahead log (WAL) and `synchronous = FULL` (sqlx's default) or stricter.
/// PostgreSQL: `fsync` and `synchronous_commit` on. A filesystem that cannot do WAL, or a
/// server tuned for speed over safety, fails here at start instead of losing acknowledged
/// changes at the next power cut.
async fn check_durability(pool: &AnyPool, dialect: Dialect) -> Result<(), OpenError> {
    let mut conn = pool.acquire().await?;
    let found = match dialect {
        Dialect::Sqlite => {
            let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
                .fetch_one(&mut *conn)
                .await?;
            let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(&mut *conn)
                .await?;
            sqlite_durable(&journal, synchronous)
        }
        Dialect::Postgres => {
            let fsync: String = sqlx::query_scalar("SELECT current_setting('fsync')")
                .fetch_one(&mut *conn)
                .await?;
            let commit: String = sqlx::query_scalar("SELECT current_setting('synchronous_commit')")
                .fetch_one(&mut *conn)
                .await?;
            postgres_durable(&fsync, &commit)
        }
    };
    found.map_err(OpenError::NotDurable)
}

/// WAL and FULL (2) or stricter (EXTRA, 3).
fn sqlite_durable(journal: &str, synchronous: i64) -> Result<(), String> {
    if !journal.eq_ignore_ascii_case("wal") {
        return Err(format!("journal mode is {journal}, not wal"));
    }
    if synchronous < 2 {
        return Err(format!("synchronous is {synchronous}, not FULL (2)"));
    }
    Ok(())
}

/// `fsync = on` and `synchronous_commit` at `on` or stricter (`remote_write` and `local` also
/// flush locally; `off` does not).
fn postgres_durable(fsync: &str, synchronous_commit: &str) -> Result<(), String> {
    if fsync != "on" {
        return Err(format!("fsync is {fsync}, not on"));
    }
    if synchronous_commit == "off" {
        return Err("synchronous_commit is off".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_wal_with_full_sync_counts_as_durable() {
        assert!(sqlite_durable("wal", 2).is_ok());
        assert!(sqlite_durable("WAL", 3).is_ok());
        assert!(sqlite_durable("delete", 2)
            .unwrap_err()
            .contains("journal mode"));
        assert!(sqlite_durable("wal", 1)
            .unwrap_err()
            .contains("synchronous"));
    }

    #[test]
    fn postgres_must_flush_commits() {
        assert!(postgres_durable("on", "on").is_ok());
        assert!(postgres_durable("on", "remote_apply").is_ok());
        assert!(postgres_durable("off", "on").unwrap_err().contains("fsync"));
        assert!(postgres_durable("on", "off")
            .unwrap_err()
            .contains("synchronous_commit"));
    }

    #[test]
    fn urls_name_their_database() {
        assert_eq!(Dialect::of_url("sqlite://data/x.db"), Some(Dialect::Sqlite));
        assert_eq!(
            Dialect::of_url("postgres://u@h/db"),
            Some(Dialect::Postgres)
        );
        assert_eq!(
            Dialect::of_url("postgresql://u@h/db"),
            Some(Dialect::Postgres)
        );
        assert_eq!(Dialect::of_url("mysql://u@h/db"), None);
    }

    #[tokio::test]
    async fn the_relay_opens_sqlite_durable() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("sub/t.db").display());
        let pool = open(&url).await.unwrap();
        check_durability(&pool, Dialect::Sqlite).await.unwrap();
    }
}
