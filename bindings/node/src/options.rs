//! Options: `new Tollbooth({...})` and `Tollbooth.fromEnv({...})`, turned into a core
//! [`Config`] and validated at once (no store is touched here).

use std::time::Duration;

use napi::Env;
use napi::bindgen_prelude::{JsObjectValue, Object};
use napi_derive::napi;

use crate::args::{Num, Text, Texts};
use tollbooth::{Config, Durability, Error, ErrorCode, Result};

/// Options for `new Tollbooth(...)`.
#[napi(object)]
pub struct TollboothOptions {
    /// SQLite file path (its directory is created on first use), or `':memory:'` for a
    /// private in-memory database. A relative path is relative to the process's working
    /// directory (the project root under `next start`).
    #[napi(ts_type = "string")]
    pub database: Text,
    /// Active webhook signing secrets (`whsec_...`); pass two while rotating.
    #[napi(ts_type = "Array<string>")]
    pub webhook_secrets: Texts,
    /// Largest allowed `|now - t|` of a signature, seconds (default 300). Also rejects
    /// timestamps this far in the future.
    #[napi(ts_type = "number | undefined | null")]
    pub tolerance_seconds: Option<Num>,
    /// Access continues this many seconds after a subscription becomes past_due (default 0).
    #[napi(ts_type = "number | undefined | null")]
    pub past_due_grace_seconds: Option<Num>,
    /// One-time purchases that grant access: each a price id, product id or `'*'`, optionally
    /// `'=SECONDS'` of access from the payment (default: lifetime), e.g.
    /// `['price_lifetime', 'prod_pass=2592000']`. Default: none (purchases grant nothing).
    #[napi(ts_type = "Array<string> | undefined | null")]
    pub purchase_grants: Option<Texts>,
    /// `true`: accept live-mode events only; `false`: test-mode only; unset: both. Never
    /// derive it from `NODE_ENV`: a production build receiving test events (staging,
    /// `next start` locally) would refuse every one.
    pub livemode: Option<bool>,
    /// Attempts before a job moves to dead-letter (default 25).
    #[napi(ts_type = "number | undefined | null")]
    pub max_attempts: Option<Num>,
    /// `'normal'` (default; a commit survives a process crash) or `'full'` (fsync per commit,
    /// survives power loss).
    #[napi(ts_type = "'normal' | 'full'")]
    pub durability: Option<String>,
    /// The wait budget, ms (default 2000): the longest a call waits for the store (other
    /// calls and another process's write lock) before `STORE_BUSY`. Rejections and
    /// duplicates never wait.
    #[napi(ts_type = "number | undefined | null")]
    pub busy_timeout_ms: Option<Num>,
    /// Largest webhook body accepted, bytes (default 1 MiB); larger gives `PAYLOAD_TOO_LARGE`.
    #[napi(ts_type = "number | undefined | null")]
    pub max_body_bytes: Option<Num>,
    /// Whether this endpoint takes Connect events (a top-level `account`). `true` (default):
    /// each is kept in its connected account's scope (`accessForUserIn`). `false`: each is
    /// answered 2xx as `ignored` with reason `CONNECT_EVENT_REFUSED`; nothing moves.
    pub accept_connect_events: Option<bool>,
}

/// Options for `Tollbooth.fromEnv(...)`: any option given here wins over the environment.
#[napi(object)]
pub struct EnvOptions {
    /// Instead of `TOLLBOOTH_DB` (default `'data/tollbooth.db'`).
    #[napi(ts_type = "string | undefined | null")]
    pub database: Option<Text>,
    /// Instead of `STRIPE_WEBHOOK_SECRET`.
    #[napi(ts_type = "Array<string> | undefined | null")]
    pub webhook_secrets: Option<Texts>,
    /// Instead of `STRIPE_LIVEMODE` / the mode of `STRIPE_SECRET_KEY`.
    pub livemode: Option<bool>,
    /// As in `TollboothOptions`.
    #[napi(ts_type = "number | undefined | null")]
    pub tolerance_seconds: Option<Num>,
    /// As in `TollboothOptions`.
    #[napi(ts_type = "number | undefined | null")]
    pub past_due_grace_seconds: Option<Num>,
    /// Instead of `TOLLBOOTH_PURCHASE_GRANTS` (comma-separated, as in `TollboothOptions`).
    #[napi(ts_type = "Array<string> | undefined | null")]
    pub purchase_grants: Option<Texts>,
    /// As in `TollboothOptions`.
    #[napi(ts_type = "number | undefined | null")]
    pub max_attempts: Option<Num>,
    /// As in `TollboothOptions`.
    #[napi(ts_type = "'normal' | 'full'")]
    pub durability: Option<String>,
    /// As in `TollboothOptions`.
    #[napi(ts_type = "number | undefined | null")]
    pub busy_timeout_ms: Option<Num>,
    /// As in `TollboothOptions`.
    #[napi(ts_type = "number | undefined | null")]
    pub max_body_bytes: Option<Num>,
    /// As in `TollboothOptions`.
    pub accept_connect_events: Option<bool>,
}

/// The tuning knobs both option objects share.
struct Tuning<'a> {
    tolerance_seconds: &'a Option<Num>,
    past_due_grace_seconds: &'a Option<Num>,
    max_attempts: &'a Option<Num>,
    durability: Option<&'a str>,
    busy_timeout_ms: &'a Option<Num>,
    max_body_bytes: &'a Option<Num>,
    accept_connect_events: Option<bool>,
}

/// The `Tuning` of an options object: both structs name these fields alike, so one literal
/// serves both (the structs themselves stay written out, since napi-rs makes the `.d.ts` from
/// them).
macro_rules! tuning {
    ($o:expr) => {
        Tuning {
            tolerance_seconds: &$o.tolerance_seconds,
            past_due_grace_seconds: &$o.past_due_grace_seconds,
            max_attempts: &$o.max_attempts,
            durability: $o.durability.as_deref(),
            busy_timeout_ms: &$o.busy_timeout_ms,
            max_body_bytes: &$o.max_body_bytes,
            accept_connect_events: $o.accept_connect_events,
        }
    };
}

fn bad(m: impl Into<String>) -> Error {
    Error::new(ErrorCode::ConfigInvalid, m)
}

/// A numeric option in `min..=max` (NaN, infinities and fractions refused), as
/// `CONFIG_INVALID` with a fixed message.
fn number(v: &Option<Num>, name: &str, min: i64, max: i64) -> Result<Option<i64>> {
    v.as_ref()
        .map(|n| n.whole(name, min, max).map_err(|e| bad(e.message())))
        .transpose()
}

impl Tuning<'_> {
    fn apply(&self, c: &mut Config) -> Result<()> {
        if let Some(a) = self.accept_connect_events {
            c.accept_connect_events = a;
        }
        const YEAR: i64 = 366 * 86_400;
        if let Some(t) = number(self.tolerance_seconds, "toleranceSeconds", 1, YEAR)? {
            c.verify.tolerance_secs = t;
        }
        if let Some(g) = number(self.past_due_grace_seconds, "pastDueGraceSeconds", 0, YEAR)? {
            c.past_due_grace_secs = g;
        }
        if let Some(m) = number(self.max_attempts, "maxAttempts", 1, 10_000)? {
            c.max_attempts = m as u32;
        }
        let most_ms = i64::from(i32::MAX);
        if let Some(ms) = number(self.busy_timeout_ms, "busyTimeoutMs", 0, most_ms)? {
            c.sqlite.busy_timeout = Duration::from_millis(ms as u64);
        }
        if let Some(b) = number(self.max_body_bytes, "maxBodyBytes", 1, 1 << 30)? {
            c.verify.max_body_bytes = b as usize;
        }
        c.sqlite.durability = match self.durability {
            None | Some("normal") => Durability::Normal,
            Some("full") => Durability::Full,
            Some(_) => return Err(bad("durability must be 'normal' or 'full'")),
        };
        c.validate()
    }
}

/// The configuration of `new Tollbooth(options)`, validated.
pub fn config(o: &TollboothOptions) -> Result<Config> {
    let secrets = o.webhook_secrets.get("webhookSecrets")?;
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let mut c = Config::new(o.database.get("database")?, &secrets)?;
    c.livemode = o.livemode;
    c.purchase_grants = match &o.purchase_grants {
        Some(list) => grants(&list.get("purchaseGrants")?)?,
        None => Vec::new(),
    };
    tuning!(o).apply(&mut c)?;
    Ok(c)
}

/// `purchaseGrants`, each `ID` or `ID=SECONDS`.
fn grants(list: &[String]) -> Result<Vec<tollbooth::PurchaseGrant>> {
    list.iter()
        .map(|g| {
            tollbooth::PurchaseGrant::parse(g)
                .map_err(|e| bad(format!("purchaseGrants: {}", e.message())))
        })
        .collect()
}

/// The default database of `fromEnv`: a file under the app's `data/` folder.
pub const DEFAULT_DATABASE: &str = "data/tollbooth.db";

/// The configuration of `Tollbooth.fromEnv(options)`, validated. Reads `process.env` (what
/// Next.js fills from `.env*` files), so every missing or malformed variable is reported by
/// name with a stable code.
pub fn from_env(env: &Env, o: Option<&EnvOptions>) -> Result<Config> {
    let var = |name: &str| -> Result<Option<String>> {
        process_env(env, name).map_err(|e| {
            bad(format!(
                "could not read process.env.{name}: {}",
                e.reason.as_str()
            ))
        })
    };
    let database = match o.and_then(|o| o.database.as_ref()) {
        Some(d) => d.get("database")?,
        None => var("TOLLBOOTH_DB")?.unwrap_or_else(|| DEFAULT_DATABASE.to_owned()),
    };
    let secrets: Vec<String> = match o.and_then(|o| o.webhook_secrets.as_ref()) {
        Some(s) => s.get("webhookSecrets")?,
        None => {
            let Some(list) = var("STRIPE_WEBHOOK_SECRET")? else {
                return Err(bad(
                    "STRIPE_WEBHOOK_SECRET is not set: set it to the webhook endpoint's signing \
                     secret (whsec_..., from the Stripe dashboard or `stripe listen`); while \
                     rotating, list both, comma-separated",
                ));
            };
            list.split(',').map(|s| s.trim().to_owned()).collect()
        }
    };
    let refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let mut c = Config::new(database, &refs)
        .map_err(|e| Error::new(e.code(), format!("STRIPE_WEBHOOK_SECRET: {}", e.message())))?;
    c.livemode = match o.and_then(|o| o.livemode) {
        Some(l) => Some(l),
        None => livemode_from_env(var("STRIPE_LIVEMODE")?, var("STRIPE_SECRET_KEY")?)?,
    };
    c.purchase_grants = match o.and_then(|o| o.purchase_grants.as_ref()) {
        Some(list) => grants(&list.get("purchaseGrants")?)?,
        None => tollbooth::PurchaseGrant::parse_list(
            var("TOLLBOOTH_PURCHASE_GRANTS")?.as_deref().unwrap_or(""),
        )
        .map_err(|e| bad(format!("TOLLBOOTH_PURCHASE_GRANTS: {}", e.message())))?,
    };
    match o {
        Some(o) => tuning!(o).apply(&mut c)?,
        None => c.validate()?,
    }
    Ok(c)
}

/// `STRIPE_LIVEMODE=true|false` decides; otherwise the mode of the Stripe API key the app
/// already has (`sk_live_`/`rk_live_` → live only, `sk_test_`/`rk_test_` → test only);
/// otherwise both modes are accepted. Never `NODE_ENV`. The key itself is only looked at for
/// its prefix and never appears in a message.
fn livemode_from_env(explicit: Option<String>, key: Option<String>) -> Result<Option<bool>> {
    if let Some(v) = explicit {
        return match v.as_str() {
            "true" => Ok(Some(true)),
            "false" => Ok(Some(false)),
            _ => Err(bad(
                "STRIPE_LIVEMODE must be 'true' (live events only) or 'false' (test events \
                 only); leave it unset to follow STRIPE_SECRET_KEY's mode",
            )),
        };
    }
    let key = key.unwrap_or_default();
    Ok(
        if key.starts_with("sk_live_") || key.starts_with("rk_live_") {
            Some(true)
        } else if key.starts_with("sk_test_") || key.starts_with("rk_test_") {
            Some(false)
        } else {
            None
        },
    )
}

/// `process.env[name]`, trimmed; an empty value counts as unset.
fn process_env(env: &Env, name: &str) -> napi::Result<Option<String>> {
    let process: Object = env.get_global()?.get_named_property("process")?;
    let vars: Object = process.get_named_property("env")?;
    let value: Option<String> = vars.get_named_property(name)?;
    Ok(value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()))
}
