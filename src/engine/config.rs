//! Engine configuration: everything a deployment decides, validated once at `Engine::open`.

use super::AlertThresholds;
use crate::error::{Error, ErrorCode, Result};
use crate::outbox::DEFAULT_MAX_ATTEMPTS;
use crate::retention::Retention;
use crate::store::SqliteOptions;
use crate::verify::{Secret, VerifyOptions};

/// Engine configuration.
#[derive(Clone)]
pub struct Config {
    /// Which database: a SQLite file path, `:memory:`, or a `postgres://` URL (whose password
    /// `Debug` redacts).
    pub database: String,
    /// Settings that only a SQLite store has (durability, busy timeout, checkpoints).
    pub sqlite: SqliteOptions,
    /// Active webhook signing secrets (several while rotating). `Debug` redacts them.
    pub webhook_secrets: Vec<Secret>,
    /// Signature tolerance and body size limit.
    pub verify: VerifyOptions,
    /// Access continues this many seconds after a subscription becomes past_due (default 0).
    pub past_due_grace_secs: i64,
    /// Which one-time purchases grant access, forever or for a duration from the payment
    /// (empty by default: purchases are recorded but grant nothing).
    pub purchase_grants: Vec<crate::billing::PurchaseGrant>,
    /// `Some(true)`: only live events are accepted; `Some(false)`: only test events;
    /// `None`: both (the default, for development).
    pub livemode: Option<bool>,
    /// Attempts before a job moves to dead-letter.
    pub max_attempts: u32,
    /// When `health` fires alerts.
    pub alerts: AlertThresholds,
    /// Prune history automatically (at most hourly, from `claim`, i.e. on a worker, never on
    /// the webhook path) under this policy; `None` (the default) leaves it to
    /// `Engine::prune` / `tollbooth prune`.
    pub retention: Option<Retention>,
    /// Whether this endpoint takes Connect events (a top-level `account`: a connected
    /// account's event). `true` (the default): each is kept in its account's own scope (user
    /// links, access, jobs carry the account). `false`: each is stored and answered 2xx as
    /// `ignored` with reason `CONNECT_EVENT_REFUSED`, and counted; nothing moves.
    pub accept_connect_events: bool,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database", &crate::store::redact_database(&self.database))
            .field("sqlite", &self.sqlite)
            .field("webhook_secrets", &self.webhook_secrets)
            .field("verify", &self.verify)
            .field("past_due_grace_secs", &self.past_due_grace_secs)
            .field("purchase_grants", &self.purchase_grants)
            .field("livemode", &self.livemode)
            .field("max_attempts", &self.max_attempts)
            .field("alerts", &self.alerts)
            .field("accept_connect_events", &self.accept_connect_events)
            .finish()
    }
}

impl Config {
    /// A configuration with defaults, for a database path and the given secrets.
    pub fn new(database: impl Into<String>, secrets: &[&str]) -> Result<Config> {
        Ok(Config {
            database: database.into(),
            webhook_secrets: secrets
                .iter()
                .map(|s| Secret::new(*s))
                .collect::<Result<_>>()?,
            verify: VerifyOptions::default(),
            past_due_grace_secs: 0,
            purchase_grants: Vec::new(),
            livemode: None,
            sqlite: SqliteOptions::default(),
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            alerts: AlertThresholds::default(),
            retention: None,
            accept_connect_events: true,
        })
    }

    /// Checks the settings that need no store (secrets, tolerance, limits). `Engine::open` calls
    /// it first; a binding that opens lazily calls it up front so bad options fail at once.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(Error::new(ErrorCode::ConfigInvalid, m));
        if self.webhook_secrets.is_empty() {
            return bad("at least one webhook secret is required");
        }
        if self.verify.tolerance_secs <= 0 {
            return bad(
                "tolerance must be positive (a zero tolerance would accept replays forever)",
            );
        }
        if self.verify.max_body_bytes == 0 {
            return bad("max_body_bytes must be positive");
        }
        if self.past_due_grace_secs < 0 {
            return bad("past_due_grace_secs must not be negative");
        }
        if self
            .purchase_grants
            .iter()
            .any(|g| g.id.is_empty() || g.duration_secs.is_some_and(|d| d <= 0))
        {
            return bad("a purchase grant needs an id and a positive duration (or none)");
        }
        if self.max_attempts == 0 {
            return bad("max_attempts must be at least 1");
        }
        if let Some(r) = &self.retention {
            r.validate()?;
        }
        Ok(())
    }
}
