//! Where the relay keeps its data and where it listens, from flags or the environment.

use std::net::SocketAddr;
use std::path::PathBuf;

/// The relay's settings. Flags win over environment variables, which win over defaults.
#[derive(Debug, Clone)]
pub struct Config {
    /// `--data-dir` / `DATA_DIR`: folder for the embedded database (default `./data`).
    pub data_dir: PathBuf,
    /// `--database-url` / `DATABASE_URL`: defaults to a SQLite file in the data folder.
    pub database_url: String,
    /// `--bind` / `BIND`: address to listen on (default `127.0.0.1:8080`).
    pub bind: SocketAddr,
    /// `--dist` / `DIST_DIR`: the built app to serve (default `./dist`).
    pub dist_dir: PathBuf,
    /// `--session-hours` / `SESSION_HOURS`: how long a sign-in lasts (default 12, a working day).
    pub session_hours: u32,
    /// `--secure-cookies` / `SECURE_COOKIES=1`: mark the session cookie `Secure` (behind HTTPS).
    pub secure_cookies: bool,
    /// `--decoder` / `DECODER`: the relay binary to run decode workers from (default: this
    /// program, when it is `tac-relay`; see [`crate::untrusted`]).
    pub decoder: Option<PathBuf>,
    /// `--closed-case-days` / `CLOSED_CASE_DAYS`: a case closed for longer than this leaves
    /// professionals' devices (default 90; it stays on the relay).
    pub closed_case_days: u32,
    /// `--trusted-proxies` / `TRUSTED_PROXIES` (addresses or networks, comma-separated) and
    /// `--client-address-header` / `CLIENT_ADDRESS_HEADER` (default `X-Forwarded-For`): whose
    /// word to take for the client's address (see [`crate::proxy`]). Default: nobody's.
    pub trusted_proxies: crate::proxy::TrustedProxies,
    /// `--unload-after-secs` / `UNLOAD_AFTER_SECS`: cases nobody has had open this long leave
    /// the relay's memory (default 300; see [`crate::repos`]). They stay stored.
    pub unload_after_secs: u32,
    /// `--public-url` / `PUBLIC_URL`: the address people reach the app at (e.g.
    /// `https://tac.council.gov.uk`), for the address providers send them back to after
    /// signing in. Unset: `http://` and the request's own host (fine on one machine).
    pub public_url: Option<String>,
    /// `--relay-url` / `RELAY_URL`: this relay's own address as the other relays sharing its
    /// PostgreSQL database reach it (e.g. `http://10.0.0.5:8080`). Set on every relay, they all
    /// serve at once, each case worked on by one of them (see [`crate::cluster`]). Unset, one
    /// relay serves and the others stand by.
    pub relay_url: Option<String>,
}

/// A setting that could not be understood.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} needs a value")]
    MissingValue(String),
    #[error("unknown option {0} (try --help)")]
    Unknown(String),
    #[error("{0} is not an address like 127.0.0.1:8080")]
    BadAddress(String),
    #[error("{0} is not a number of hours between 1 and 168")]
    BadHours(String),
    #[error("{0} is not a number of days between 1 and 3650")]
    BadDays(String),
    #[error("{0} is not a number of seconds between 1 and 86400")]
    BadSeconds(String),
    #[error(
        "--relay-url is for relays sharing a PostgreSQL database (--database-url postgres://…)"
    )]
    RelayUrlNeedsPostgres,
    #[error("trusted proxies: {0}")]
    BadProxies(String),
}

pub const USAGE: &str = "tac-relay [--bind ADDR] [--data-dir DIR] [--database-url URL] [--dist DIR]
          [--session-hours N] [--secure-cookies] [--closed-case-days N]
          [--trusted-proxies LIST] [--client-address-header NAME] [--unload-after-secs N]
          [--public-url URL] [--relay-url URL]
tac-relay create-admin --agency NAME --name NAME --email EMAIL [--data-dir DIR] [--database-url URL]

Serves the TAC Planner app and syncs cases between browsers.
  --bind ADDR          address to listen on (BIND, default 127.0.0.1:8080)
  --data-dir DIR       folder for the database (DATA_DIR, default ./data)
  --database-url URL   database (DATABASE_URL, default sqlite://DIR/tac-planner.db)
  --dist DIR           built app to serve (DIST_DIR, default ./dist)
  --session-hours N    how long a sign-in lasts (SESSION_HOURS, default 12)
  --secure-cookies     send the session cookie only over HTTPS (SECURE_COOKIES=1)
  --closed-case-days N a case closed this many days ago leaves devices (CLOSED_CASE_DAYS,
                       default 90); it stays here, and members can still open it
  --trusted-proxies LIST  your reverse proxies' addresses or networks, comma-separated
                       (TRUSTED_PROXIES, e.g. 127.0.0.1,10.0.0.0/8); from them, and only them,
                       the client's address is taken from the header below
  --client-address-header NAME  the header those proxies write it in
                       (CLIENT_ADDRESS_HEADER, default X-Forwarded-For)
  --unload-after-secs N  cases nobody has open leave memory after this long
                       (UNLOAD_AFTER_SECS, default 300); they stay stored
  --public-url URL     the address people open the app at (PUBLIC_URL, e.g.
                       https://tac.council.gov.uk): organisations' sign-in providers send
                       people back to it, so register URL/api/oidc/callback with them
  --relay-url URL      this relay's address as the other relays on the same PostgreSQL reach
                       it (RELAY_URL, e.g. http://10.0.0.5:8080): set on each, they all serve
                       at once; unset, one serves and the others stand by

create-admin makes the agency if needed and a system administrator in it; the password is read
from TAC_ADMIN_PASSWORD or, if that is not set, from standard input.";

impl Config {
    /// Reads flags (without the program name) and the environment.
    pub fn from_args(
        args: impl IntoIterator<Item = String>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let mut bind = env("BIND");
        let mut data_dir = env("DATA_DIR");
        let mut database_url = env("DATABASE_URL");
        let mut dist = env("DIST_DIR");
        let mut decoder = env("DECODER");
        let mut hours = env("SESSION_HOURS");
        let mut closed_days = env("CLOSED_CASE_DAYS");
        let mut proxies = env("TRUSTED_PROXIES");
        let mut address_header = env("CLIENT_ADDRESS_HEADER");
        let mut unload = env("UNLOAD_AFTER_SECS");
        let mut public_url = env("PUBLIC_URL");
        let mut relay_url = env("RELAY_URL");
        let mut secure_cookies = env("SECURE_COOKIES").is_some_and(|v| v == "1" || v == "true");
        let mut args = args.into_iter();
        while let Some(flag) = args.next() {
            let slot = match flag.as_str() {
                "--secure-cookies" => {
                    secure_cookies = true;
                    continue;
                }
                "--session-hours" => &mut hours,
                "--closed-case-days" => &mut closed_days,
                "--bind" => &mut bind,
                "--data-dir" => &mut data_dir,
                "--database-url" => &mut database_url,
                "--dist" => &mut dist,
                "--decoder" => &mut decoder,
                "--trusted-proxies" => &mut proxies,
                "--client-address-header" => &mut address_header,
                "--unload-after-secs" => &mut unload,
                "--public-url" => &mut public_url,
                "--relay-url" => &mut relay_url,
                _ => return Err(ConfigError::Unknown(flag)),
            };
            *slot = Some(args.next().ok_or(ConfigError::MissingValue(flag))?);
        }
        let data_dir = PathBuf::from(data_dir.unwrap_or_else(|| "data".into()));
        let bind_text = bind.unwrap_or_else(|| "127.0.0.1:8080".into());
        let session_hours = match hours {
            None => 12,
            Some(h) => h
                .parse()
                .ok()
                .filter(|n| (1..=168).contains(n))
                .ok_or(ConfigError::BadHours(h))?,
        };
        let closed_case_days = match closed_days {
            None => 90,
            Some(d) => d
                .parse()
                .ok()
                .filter(|n| (1..=3650).contains(n))
                .ok_or(ConfigError::BadDays(d))?,
        };
        let trusted_proxies = crate::proxy::TrustedProxies::parse(
            proxies.as_deref().unwrap_or(""),
            address_header.as_deref().unwrap_or("x-forwarded-for"),
        )
        .map_err(ConfigError::BadProxies)?;
        let unload_after_secs = match unload {
            None => 300,
            Some(s) => s
                .parse()
                .ok()
                .filter(|n| (1..=86_400).contains(n))
                .ok_or(ConfigError::BadSeconds(s))?,
        };
        let web_address = |u: Option<String>| match u {
            None => Ok(None),
            Some(u) => url::Url::parse(&u)
                .ok()
                .filter(|p| matches!(p.scheme(), "http" | "https") && p.host().is_some())
                .map(|p| Some(p.as_str().trim_end_matches('/').to_string()))
                .ok_or(ConfigError::BadAddress(u)),
        };
        let public_url = web_address(public_url)?;
        let relay_url = web_address(relay_url)?;
        let database_url = database_url
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("tac-planner.db").display()));
        if relay_url.is_some()
            && crate::database::Dialect::of_url(&database_url)
                != Some(crate::database::Dialect::Postgres)
        {
            return Err(ConfigError::RelayUrlNeedsPostgres);
        }
        Ok(Config {
            relay_url,
            public_url,
            unload_after_secs,
            trusted_proxies,
            session_hours,
            closed_case_days,
            secure_cookies,
            database_url,
            bind: bind_text
                .parse()
                .map_err(|_| ConfigError::BadAddress(bind_text))?,
            dist_dir: PathBuf::from(dist.unwrap_or_else(|| "dist".into())),
            decoder: decoder.map(PathBuf::from),
            data_dir,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_environment_and_defaults() {
        let env = |k: &str| (k == "DATA_DIR").then(|| "/srv/tac".to_string());
        let c = Config::from_args(["--bind".to_string(), "127.0.0.1:9000".into()], env).unwrap();
        assert_eq!(c.bind.port(), 9000);
        assert_eq!(c.database_url, "sqlite:///srv/tac/tac-planner.db");
        assert!(Config::from_args(["--nope".to_string()], |_| None).is_err());
        assert!(Config::from_args(["--bind".to_string()], |_| None).is_err());
        assert_eq!(c.session_hours, 12);
        assert_eq!(c.closed_case_days, 90);
        assert!(
            Config::from_args(["--closed-case-days".to_string(), "0".into()], |_| None).is_err()
        );
        assert!(!c.secure_cookies);
        let c = Config::from_args(
            [
                "--secure-cookies".to_string(),
                "--session-hours".into(),
                "8".into(),
            ],
            |_| None,
        )
        .unwrap();
        assert!(c.secure_cookies && c.session_hours == 8);
        assert!(Config::from_args(["--session-hours".to_string(), "0".into()], |_| None).is_err());
    }
}
