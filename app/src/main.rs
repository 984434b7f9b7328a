use std::process::ExitCode;
use std::time::Duration;

use foobar_app::config::Config;
use foobar_app::{admin, db, healthcheck, logging, startup::Application};

const USAGE: &str = "usage: foobar-app [serve|migrate|healthcheck|admin]
  serve        apply pending migrations, then serve HTTP (default)
  migrate      apply pending migrations and exit
  healthcheck  exit 0 if the local server answers /api/health
  admin        maintenance: foobar-app admin help";

fn main() -> ExitCode {
    if let Err(err) = dotenvy::dotenv() {
        if !err.not_found() {
            eprintln!("error: cannot read .env: {err}");
            return ExitCode::from(2);
        }
    }
    let _logs = logging::init("info");
    let command = std::env::args().nth(1);
    if matches!(command.as_deref(), Some("help" | "-h" | "--help")) {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    // Before the server's configuration: a command reads only the settings it needs.
    if command.as_deref() == Some("admin") {
        let args: Vec<String> = std::env::args().skip(2).collect();
        return admin::main(&args);
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("configuration error: {err}");
            return ExitCode::from(2);
        }
    };
    let result = match command.as_deref() {
        None | Some("serve") => serve(config),
        Some("migrate") => migrate(&config),
        Some("healthcheck") => healthcheck::check(config.addr.port(), Duration::from_secs(2)),
        Some(other) => {
            eprintln!("unknown command {other:?}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            log::error!("{err}");
            ExitCode::FAILURE
        }
    }
}

fn migrate(config: &Config) -> Result<(), String> {
    let applied = db::run_migrations(&config.database).map_err(|e| e.to_string())?;
    log::info!(
        "migrations applied: {}",
        if applied.is_empty() {
            "none pending".to_owned()
        } else {
            applied.join(", ")
        }
    );
    Ok(())
}

fn serve(config: Config) -> Result<(), String> {
    migrate(&config)?;
    let pool = db::build_pool(&config.database);
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(&config, pool)
            .map_err(|e| format!("cannot listen on {}: {e}", config.addr))?;
        log::info!(
            "foobar-app {} listening on port {} ({} workers), metrics on port {}",
            config.version(),
            app.port(),
            config.workers,
            app.metrics_port()
        );
        app.run_until_stopped().await.map_err(|e| e.to_string())?;
        log::info!("stopped");
        Ok(())
    })
}
