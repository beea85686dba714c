//! `tac-relay`: config → database → samod repos → router → serve.

use server::config::{Config, USAGE};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("RUST_LOG")
                .unwrap_or_else(|_| EnvFilter::new("info,samod=warn,samod_core=warn,sqlx=warn")),
        )
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return std::process::ExitCode::SUCCESS;
    }
    match run(args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tac-relay: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Vec<String>) -> Result<(), Box<dyn std::error::Error>> {
    if args.first().map(String::as_str) == Some("decode-worker") {
        return Ok(server::untrusted::run_worker()?);
    }
    if args.first().map(String::as_str) == Some("create-admin") {
        return create_admin(args[1..].to_vec()).await;
    }
    let config = Config::from_args(args, |k| std::env::var(k).ok())?;
    let (router, state) = server::build(&config).await?;
    let listener = tokio::net::TcpListener::bind(config.bind).await?;
    let addr = listener.local_addr()?;
    // Each keystroke is a small frame: send it now rather than waiting to batch (Nagle's
    // algorithm held frames back ~30-40 ms in the latency benchmark).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    if !config.dist_dir.join("index.html").exists() {
        tracing::warn!(dist = %config.dist_dir.display(), "no built app found; run `trunk build --release` first");
    }
    // Tests and scripts read this line to find the relay.
    println!("TAC Planner relay listening on http://{addr}/");
    tracing::info!(data_dir = %config.data_dir.display(), "relay started");
    // Connect info gives the client address for sign-in limits and audit hashes.
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    // Ctrl-C, or SIGTERM from a service manager: finish the writes and let a standby take
    // over at once.
    .with_graceful_shutdown(async {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async {
                match term.as_mut() {
                    Some(t) => { t.recv().await; }
                    None => std::future::pending::<()>().await,
                }
            } => {}
        }
    })
    .await?;
    state.repos.stop().await;
    state.active.release().await;
    Ok(())
}

/// `tac-relay create-admin --agency NAME --name NAME --email EMAIL [relay flags]`.
async fn create_admin(args: Vec<String>) -> Result<(), Box<dyn std::error::Error>> {
    let (mut agency, mut name, mut email) = (None, None, None);
    let mut rest = Vec::new();
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let slot = match flag.as_str() {
            "--agency" => &mut agency,
            "--name" => &mut name,
            "--email" => &mut email,
            _ => {
                rest.push(flag);
                continue;
            }
        };
        *slot = Some(args.next().ok_or(format!("{flag} needs a value"))?);
    }
    let (Some(agency), Some(name), Some(email)) = (agency, name, email) else {
        return Err("create-admin needs --agency, --name and --email (try --help)".into());
    };
    let config = Config::from_args(rest, |k| std::env::var(k).ok())?;
    let password = match std::env::var("TAC_ADMIN_PASSWORD") {
        Ok(p) => p,
        Err(_) => {
            eprint!("Password for the new administrator: ");
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    let health = std::sync::Arc::new(server::health::Health::default());
    let store = server::storage::SqlStorage::open(&config.database_url, health).await?;
    let admin =
        server::accounts::create_admin(store.pool(), &agency, &name, &email, &password).await?;
    // Ids only in output that may end up in logs.
    println!(
        "Created system administrator {} in agency {}.",
        admin.id, admin.agency_id
    );
    Ok(())
}
