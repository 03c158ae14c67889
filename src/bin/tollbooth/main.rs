//! `tollbooth`: the operator CLI. Start with `tollbooth demo`.

mod copy;
mod customer;
mod demo;
mod doctor;
mod events;
mod import;
mod jobs;
mod output;
mod retention;
mod scenarios;
mod send;
mod sim;
mod status;
mod stripe;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use tollbooth::{Config, Engine};

use output::Out;
use scenarios::{ApiVersion, Scenario};

/// Any failure a command reports (exit code 1).
pub type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// A plain error message.
pub fn fail(msg: impl Into<String>) -> Box<dyn std::error::Error> {
    msg.into().into()
}

/// Exit codes scripts can rely on.
pub const EXIT_OK: u8 = 0;
pub const EXIT_ERROR: u8 = 1;
/// Bad arguments (clap exits with the same code for its own).
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_ALERTS: u8 = 3;

const AFTER_HELP: &str = "\
Exit codes:
  0  ok
  1  error (the message says what; with --json also {\"error\": {...}} on stdout)
  2  usage error (bad arguments)
  3  health alerts are firing (status, health)
  4  doctor found a problem (a FAIL line)

Start with `tollbooth demo`: a whole customer history on a throwaway database.";

#[derive(Debug, Parser)]
#[command(
    name = "tollbooth",
    version,
    about = "Operate tollbooth: Stripe webhooks in, billing state and a job outbox out.",
    after_help = AFTER_HELP
)]
struct Cli {
    /// SQLite database [default: tollbooth.db; demo: a fresh temporary file]
    #[arg(long, global = true, env = "TOLLBOOTH_DB", value_name = "PATH")]
    db: Option<PathBuf>,
    /// Webhook signing secret for sign/send (never printed)
    #[arg(
        long,
        global = true,
        env = "STRIPE_WEBHOOK_SECRET",
        hide_env_values = true,
        value_name = "WHSEC"
    )]
    secret: Option<String>,
    /// One-time purchases that grant access: price or product ids (or *), each optionally
    /// =SECONDS of access from the payment (default: forever), comma-separated
    #[arg(
        long,
        global = true,
        env = "TOLLBOOTH_PURCHASE_GRANTS",
        value_name = "ID[=SECS],..."
    )]
    purchase_grants: Option<String>,
    /// Machine-readable JSON on stdout
    #[arg(long, global = true)]
    json: bool,
    /// The current time, unix seconds [default: the clock]
    #[arg(
        long,
        global = true,
        value_name = "UNIX",
        allow_negative_numbers = true
    )]
    now: Option<i64>,
    /// The wait budget: the longest a command waits for a busy SQLite store [default: 2000]
    #[arg(
        long,
        global = true,
        env = "TOLLBOOTH_BUSY_TIMEOUT_MS",
        value_name = "MS",
        value_parser = clap::value_parser!(u32).range(0..=i64::from(i32::MAX))
    )]
    busy_timeout_ms: Option<u32>,
    /// Refuse Connect events (with a top-level `account`) in catch-up, import and
    /// ingest: they are stored as `ignored` with reason CONNECT_EVENT_REFUSED
    #[arg(long, global = true, env = "TOLLBOOTH_REFUSE_CONNECT_EVENTS")]
    refuse_connect_events: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Play a whole customer history through the engine, with workers, retries and a replay
    Demo {
        /// Keep the database file afterwards (always kept with --db)
        #[arg(long)]
        keep: bool,
    },
    /// Health, firing alerts, failure rate, queue by kind, last deliveries (exit 3 on alerts)
    Status,
    /// One customer's timeline: events, access decision, invoices, jobs and attempts
    Customer {
        /// Stripe customer id, email or app user id
        who: String,
    },
    /// A customer's active Stripe Entitlements (feature lookup keys), or whether it has one
    Features {
        /// Stripe customer id or app user id
        who: String,
        /// Answer whether this feature is active (prints yes or no)
        #[arg(long, value_name = "LOOKUP_KEY")]
        has: Option<String>,
    },
    /// Stored events, newest first
    Events(events::Filter),
    /// Jobs in the outbox, newest first
    Jobs(jobs::ListArgs),
    /// Put a dead-lettered job back in the queue
    ReplayJob {
        /// Job id
        id: i64,
    },
    /// Re-apply a stored event through the same rules (a no-op when nothing would change);
    /// `--quarantined` replays every quarantined event (after an upgrade that reads them)
    Reprocess {
        /// Stripe event id
        #[arg(
            required_unless_present = "quarantined",
            conflicts_with = "quarantined"
        )]
        event_id: Option<String>,
        /// Every quarantined event instead of one id
        #[arg(long)]
        quarantined: bool,
    },
    /// Backfill from a Stripe events export (JSON lines, a JSON array, or a list object)
    Import {
        /// The export file (trusted input: no signatures are checked)
        file: PathBuf,
        /// Import an export of the other Stripe mode than the store's (refused otherwise)
        #[arg(long)]
        allow_livemode_mismatch: bool,
    },
    /// Drop history older than the given ages; never billing state, unfinished jobs or
    /// quarantined events
    Prune {
        /// Keep raw event bodies this many days
        #[arg(long, default_value_t = 30)]
        body_days: u32,
        /// Keep event ids (dedupe, catch-up) this many days (at least 30)
        #[arg(long, default_value_t = 90)]
        event_days: u32,
        /// Keep the delivery log this many days
        #[arg(long, default_value_t = 30)]
        delivery_days: u32,
        /// Keep finished jobs and their attempts this many days
        #[arg(long, default_value_t = 30)]
        job_days: u32,
    },
    /// Write a consistent copy of the SQLite store to FILE while the app keeps running
    Backup {
        /// A new file
        file: PathBuf,
    },
    /// Replace the SQLite store (--db) with a backup; stop the app first
    Restore {
        /// A file written by `backup`
        file: PathBuf,
    },
    /// Copy a whole store to another database (e.g. SQLite to PostgreSQL), then verify every
    /// table on both sides; safe to run again
    Copy {
        /// Source database (a SQLite path or a postgres:// URL)
        #[arg(long, value_name = "DB")]
        from: String,
        /// Destination database (created and migrated if needed)
        #[arg(long, value_name = "DB")]
        to: String,
    },
    /// Print the Stripe-Signature header for a payload (with --json: body and header)
    Sign {
        #[command(flatten)]
        body: BodyArgs,
    },
    /// POST a signed event to a URL (e.g. a local `next dev` webhook route)
    Send {
        /// Where to POST (http://...)
        #[arg(long)]
        url: String,
        #[command(flatten)]
        body: BodyArgs,
    },
    /// The metrics report as JSON, or Prometheus text
    Metrics {
        /// Prometheus text exposition instead of JSON
        #[arg(long)]
        prometheus: bool,
    },
    /// Firing alerts (exit 3 when any fires)
    Health,
    /// Adopt an existing Stripe account: apply every customer, subscription, invoice,
    /// checkout session, product and price as a snapshot (resumable; running it twice changes nothing)
    Sync {
        /// Only these types (comma-separated): customers, products, prices, subscriptions,
        /// invoices, checkout_sessions
        #[arg(long, value_delimiter = ',', value_name = "TYPES")]
        only: Vec<String>,
        /// Only objects created at or after this unix second
        #[arg(long, value_name = "UNIX", allow_negative_numbers = true)]
        since: Option<i64>,
        /// Start over instead of resuming an unfinished sync
        #[arg(long)]
        restart: bool,
        #[command(flatten)]
        stripe: stripe::StripeArgs,
    },
    /// After an outage: fetch the events Stripe stopped retrying (its last 30 days) and ingest them
    CatchUp {
        /// Start here (unix seconds) instead of the newest stored event minus --margin
        #[arg(long, value_name = "UNIX", allow_negative_numbers = true)]
        since: Option<i64>,
        /// Seconds before the newest stored event to start at
        #[arg(long, default_value_t = stripe::MARGIN_DEFAULT, value_name = "SECS")]
        margin: i64,
        /// Start a new window instead of resuming an unfinished catch-up
        #[arg(long)]
        restart: bool,
        #[command(flatten)]
        stripe: stripe::StripeArgs,
    },
    /// Work off due stripe.reconcile jobs: fetch each object from Stripe and apply it
    Reconcile(stripe::WorkArgs),
    /// Work off due Stripe jobs: stripe.reconcile (fetch the object) and stripe.fetch_event (fetch
    /// the full event a thin event announced), with each job's Stripe-Account
    WorkStripe(stripe::WorkArgs),
    /// Pace claims of a job kind (e.g. crm.sync_customer: --max 100 --per 10); no args: list
    Throttle {
        /// The job kind
        kind: Option<String>,
        /// Claims allowed per window
        #[arg(long, requires = "per")]
        max: Option<u32>,
        /// The window, seconds
        #[arg(long, requires = "max")]
        per: Option<u32>,
        /// Claims allowed at once [default: --max]
        #[arg(long, requires = "max")]
        burst: Option<u32>,
        /// Remove the kind's throttle
        #[arg(long, conflicts_with_all = ["max", "per", "burst"], requires = "kind")]
        remove: bool,
    },
    /// Check a deployed webhook route (--url) and the store (--db): what is wrong and what to
    /// change (exit 4 when a check fails)
    Doctor {
        /// The deployed webhook route, e.g. https://app.example.com/api/webhooks/stripe
        #[arg(long)]
        url: Option<String>,
        /// Per-request time limit, seconds
        #[arg(long, default_value_t = 15, value_name = "SECS")]
        timeout: u64,
        /// An unsigned POST answered slower than this is a warning, milliseconds
        #[arg(long, default_value_t = 1000, value_name = "MS")]
        fast_ms: u64,
        /// ... and slower than this a failure
        #[arg(long, default_value_t = 5000, value_name = "MS")]
        slow_ms: u64,
    },
}

/// What to sign: a file's exact bytes or a built-in scenario.
#[derive(Debug, clap::Args)]
pub struct BodyArgs {
    /// A file whose exact bytes are signed
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "scenario",
        conflicts_with = "scenario"
    )]
    pub payload: Option<PathBuf>,
    /// A built-in Stripe-shaped event
    #[arg(long, value_enum)]
    pub scenario: Option<Scenario>,
    /// API shape of the scenario's event
    #[arg(long, value_enum, default_value = "2025-03-31.basil")]
    pub api_version: ApiVersion,
    /// Signature timestamp [default: --now or the clock]
    #[arg(long, value_name = "UNIX", allow_negative_numbers = true)]
    pub timestamp: Option<i64>,
}

/// What every command gets.
pub struct App {
    pub db: PathBuf,
    pub secret: Option<String>,
    pub now: i64,
    /// `--now`, when given (the Stripe commands stamp snapshots with it).
    pub now_given: Option<i64>,
    /// `--purchase-grants` / `TOLLBOOTH_PURCHASE_GRANTS`, parsed.
    pub purchase_grants: Vec<tollbooth::PurchaseGrant>,
    /// `--busy-timeout-ms`, when given.
    pub busy_timeout_ms: Option<u32>,
    /// `--refuse-connect-events`.
    pub refuse_connect_events: bool,
    pub out: Out,
}

/// Commands that only read or write the store never verify a signature; the engine still
/// wants a secret, so they get this one (never used to verify anything).
const NO_VERIFY_SECRET: &str = "tollbooth-cli-never-verifies";

impl App {
    /// Opens the database, which must exist already (a PostgreSQL URL is checked by opening).
    pub fn engine(&self) -> Res<Engine> {
        let url = tollbooth::store::is_postgres_url(&self.db.to_string_lossy());
        if !url && !self.db.exists() {
            return Err(fail(format!(
                "no database at {} (give --db or TOLLBOOTH_DB; `tollbooth demo --db PATH` makes one)",
                self.db.display()
            )));
        }
        self.engine_create()
    }

    /// Opens (creating if needed) the database.
    pub fn engine_create(&self) -> Res<Engine> {
        let mut config = Config::new(self.db.to_string_lossy(), &[NO_VERIFY_SECRET])?;
        config.accept_connect_events = !self.refuse_connect_events;
        config.purchase_grants = self.purchase_grants.clone();
        if let Some(ms) = self.busy_timeout_ms {
            config.sqlite.busy_timeout = std::time::Duration::from_millis(ms.into());
        }
        Ok(Engine::open(config)?)
    }

    /// The signing secret for sign/send.
    pub fn signing_secret(&self) -> Res<&str> {
        self.secret
            .as_deref()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| fail("no webhook secret: give --secret or set STRIPE_WEBHOOK_SECRET"))
    }
}

/// Resolves `--customer` (id, email or user id) to a customer id; unknown values pass as-is.
pub fn resolve_customer(engine: &Engine, who: Option<&str>) -> Res<Option<String>> {
    Ok(match who {
        None => None,
        Some(w) => Some(
            engine
                .find_customer(w)?
                .map_or_else(|| w.to_owned(), |c| c.id),
        ),
    })
}

/// Secrets to scrub from any output, even clap's errors: the webhook secret and the Stripe
/// API key, from the environment and the command line.
fn secrets_in_args() -> Vec<String> {
    let mut out: Vec<String> = ["STRIPE_WEBHOOK_SECRET", "STRIPE_API_KEY"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .collect();
    let args: Vec<String> = std::env::args().collect();
    for (i, a) in args.iter().enumerate() {
        for flag in ["--secret", "--stripe-key"] {
            if a == flag {
                out.extend(args.get(i + 1).cloned());
            } else if let Some(v) = a.strip_prefix(flag).and_then(|r| r.strip_prefix('=')) {
                out.push(v.to_owned());
            }
        }
    }
    out
}

fn main() -> ExitCode {
    let secrets = secrets_in_args();
    let (matches, cli) = match parse_cli(&secrets) {
        Ok(parsed) => parsed,
        Err(code) => return code,
    };
    let mut all_secrets = secrets;
    all_secrets.extend(cli.secret.clone());
    let out = Out::new(cli.json, all_secrets);
    // The demo never touches `tollbooth.db` or TOLLBOOTH_DB: only a --db given on its command line.
    let db_on_cli = matches.value_source("db") == Some(ValueSource::CommandLine)
        || matches
            .subcommand()
            .is_some_and(|(_, m)| m.value_source("db") == Some(ValueSource::CommandLine));
    let demo_db = db_on_cli.then(|| cli.db.clone()).flatten();
    let purchase_grants =
        match tollbooth::PurchaseGrant::parse_list(cli.purchase_grants.as_deref().unwrap_or("")) {
            Ok(g) => g,
            Err(e) => {
                eprintln!("error: --purchase-grants: {}", e.message());
                return ExitCode::from(EXIT_USAGE);
            }
        };
    let app = App {
        db: cli.db.unwrap_or_else(|| PathBuf::from("tollbooth.db")),
        secret: cli.secret,
        now: cli.now.unwrap_or_else(tollbooth::unix_now),
        now_given: cli.now,
        purchase_grants,
        busy_timeout_ms: cli.busy_timeout_ms,
        refuse_connect_events: cli.refuse_connect_events,
        out,
    };
    // doctor checks the store when one was named (flag or env), or the default file exists.
    let db_named = db_on_cli || std::env::var_os("TOLLBOOTH_DB").is_some_and(|v| !v.is_empty());
    let store_named = db_named || app.db.exists();
    match run(&app, cli.cmd, demo_db, store_named) {
        Ok(code) => ExitCode::from(code),
        Err(e) => report_error(&app.out, &*e),
    }
}

/// The command line, parsed; a usage error or `--help` / `--version` is printed (with any
/// secret given on the command line redacted) and becomes the exit code.
fn parse_cli(secrets: &[String]) -> Result<(clap::ArgMatches, Cli), ExitCode> {
    let matches = Cli::command().try_get_matches().map_err(|e| {
        let text = Out::new(false, secrets.to_vec()).redact(&e.to_string());
        if e.use_stderr() {
            eprint!("{text}");
        } else {
            print!("{text}");
        }
        ExitCode::from(e.exit_code().clamp(0, 255) as u8)
    })?;
    let cli = Cli::from_arg_matches(&matches).map_err(|e| {
        eprint!(
            "{}",
            Out::new(false, secrets.to_vec()).redact(&e.to_string())
        );
        ExitCode::from(2)
    })?;
    Ok((matches, cli))
}

/// A failed command: the error on stderr (and as `{"error": {code, message}}` with `--json`),
/// secrets redacted, exit code `EXIT_ERROR`.
fn report_error(out: &Out, e: &(dyn std::error::Error + 'static)) -> ExitCode {
    let code = e
        .downcast_ref::<tollbooth::Error>()
        .map(|e| e.code().as_str());
    let msg = out.redact(&e.to_string());
    if out.json {
        out.json(&serde_json::json!({
            "error": { "code": code, "message": msg }
        }));
    }
    eprintln!("error: {msg}");
    ExitCode::from(EXIT_ERROR)
}

/// Runs one subcommand. Long only because it has an arm per subcommand: each arm just moves
/// the parsed arguments into the module that does the work.
fn run(app: &App, cmd: Cmd, demo_db: Option<PathBuf>, store_named: bool) -> Res<u8> {
    match cmd {
        Cmd::Demo { keep } => demo::run(app, demo_db, keep),
        Cmd::Status => status::status(app),
        Cmd::Customer { who } => customer::run(app, &who),
        Cmd::Features { who, has } => customer::features(app, &who, has.as_deref()),
        Cmd::Events(filter) => events::run(app, filter),
        Cmd::Jobs(args) => jobs::list(app, args),
        Cmd::ReplayJob { id } => jobs::replay(app, id),
        Cmd::Reprocess {
            event_id: Some(id), ..
        } => jobs::reprocess(app, &id),
        Cmd::Reprocess { .. } => jobs::reprocess_quarantined(app),
        Cmd::Import {
            file,
            allow_livemode_mismatch,
        } => import::run(
            app,
            &file,
            tollbooth::import::ImportOptions {
                allow_livemode_mismatch,
            },
        ),
        Cmd::Copy { from, to } => copy::run(app, &from, &to),
        Cmd::Prune {
            body_days,
            event_days,
            delivery_days,
            job_days,
        } => retention::prune(
            app,
            tollbooth::retention::Retention {
                body_days,
                event_days,
                delivery_days,
                job_days,
            },
        ),
        Cmd::Backup { file } => retention::backup(app, &file),
        Cmd::Restore { file } => retention::restore(app, &file),
        Cmd::Sign { body } => send::sign(app, &body),
        Cmd::Send { url, body } => send::send(app, &url, &body),
        Cmd::Metrics { prometheus } => status::metrics(app, prometheus),
        Cmd::Health => status::health(app),
        Cmd::Sync {
            only,
            since,
            restart,
            stripe,
        } => stripe::sync_cmd(app, &only, since, restart, &stripe),
        Cmd::CatchUp {
            since,
            margin,
            restart,
            stripe,
        } => stripe::catch_up_cmd(app, since, margin, restart, &stripe),
        Cmd::Reconcile(w) => stripe::reconcile_cmd(app, &w, false),
        Cmd::WorkStripe(w) => stripe::reconcile_cmd(app, &w, true),
        Cmd::Throttle {
            kind,
            max,
            per,
            burst,
            remove,
        } => stripe::throttle_cmd(app, kind, max, per, burst, remove),
        Cmd::Doctor {
            url,
            timeout,
            fast_ms,
            slow_ms,
        } => doctor::run(
            app,
            doctor::Args {
                url,
                store: store_named,
                timeout: std::time::Duration::from_secs(timeout.max(1)),
                limits: doctor::Limits { fast_ms, slow_ms },
            },
        ),
    }
}
