//! Parsing a `postgres://` / `postgresql://` URL into the client's config plus tollbooth's own
//! settings. libpq-style parameters pass through to the client (`options`, `application_name`,
//! `connect_timeout`, `keepalives`, ...); tollbooth takes out the ones the client does not know:
//!
//! - `sslmode=disable|prefer|require|verify-ca|verify-full` (default `prefer`). TLS is rustls,
//!   and rustls always verifies: `require` and `verify-ca` check the chain *and* the host name
//!   like `verify-full` (stricter than libpq, which sends the password over unverified TLS under
//!   `require`). Hosted servers verify against the bundled Mozilla roots; `sslrootcert=<file>`
//!   (PEM) replaces them for a private CA. `prefer` tries TLS (verified) and falls back to plain
//!   only when the server has no TLS at all.
//! - `schema=<name>`: the namespace tollbooth's tables live in (default `tollbooth`).
//! - `pool_size=<n>` (default 3), `pool_timeout=<secs>` (default 5): the connection pool.
//! - `statement_timeout=<ms>` (default 10000): set with `SET LOCAL` in every transaction.
//!
//! The password is never part of an error or of `Debug` output.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, ErrorCode, Result};

/// How the connection is encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// Plain TCP.
    Disable,
    /// TLS (verified) when the server offers it, plain otherwise.
    Prefer,
    /// TLS required, chain and host name verified.
    VerifyFull,
}

/// Everything needed to open a PostgreSQL store.
#[derive(Clone)]
pub struct PgOptions {
    /// The client's config (host, port, user, password, database, pass-through params).
    pub(crate) client: postgres::Config,
    /// TLS mode.
    pub ssl: SslMode,
    /// PEM file of the CA(s) to trust instead of the bundled roots.
    pub root_cert: Option<PathBuf>,
    /// The schema (namespace) of tollbooth's tables.
    pub schema: String,
    /// Most connections the pool holds.
    pub pool_size: usize,
    /// How long a call waits for a free connection before `STORE_UNAVAILABLE`.
    pub pool_timeout: Duration,
    /// `statement_timeout` of every transaction.
    pub statement_timeout: Duration,
}

impl fmt::Debug for PgOptions {
    /// Host, port, user, database and settings; never the password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hosts: Vec<String> = self
            .client
            .get_hosts()
            .iter()
            .map(|h| match h {
                postgres::config::Host::Tcp(s) => s.clone(),
                #[cfg(unix)]
                postgres::config::Host::Unix(p) => p.display().to_string(),
            })
            .collect();
        f.debug_struct("PgOptions")
            .field("hosts", &hosts)
            .field("ports", &self.client.get_ports())
            .field("user", &self.client.get_user())
            .field("dbname", &self.client.get_dbname())
            .field("ssl", &self.ssl)
            .field("root_cert", &self.root_cert)
            .field("schema", &self.schema)
            .field("pool_size", &self.pool_size)
            .field("pool_timeout", &self.pool_timeout)
            .field("statement_timeout", &self.statement_timeout)
            .finish_non_exhaustive()
    }
}

pub use crate::store::is_postgres_url;

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorCode::ConfigInvalid, msg)
}

/// Decodes `%XX` escapes and `+` (a space in query strings).
fn percent_decode(s: &str) -> Result<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = s
                    .get(i + 1..i + 3)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| invalid("database URL: bad %-escape in a parameter"))?;
                out.push(hex);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| invalid("database URL: a parameter is not UTF-8"))
}

/// A schema name tollbooth can put in SQL unquoted: lowercase letters, digits, `_`.
fn valid_schema(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !s.starts_with("pg_")
}

fn number<T: std::str::FromStr>(name: &str, v: &str) -> Result<T> {
    v.parse()
        .map_err(|_| invalid(format!("database URL: {name}={v} is not a number")))
}

impl PgOptions {
    /// Parses a `postgres://` URL. Errors are `CONFIG_INVALID` and never quote the URL (it may
    /// hold the password), only the parameter at fault.
    pub fn parse(url: &str) -> Result<PgOptions> {
        if !is_postgres_url(url) {
            return Err(invalid(
                "database URL must start with postgres:// or postgresql://",
            ));
        }
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut own = OwnParams::default();
        let mut passthrough = Vec::new();
        let mut connect_timeout_set = false;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let key = percent_decode(k)?;
            if !own.read(&key, percent_decode(v)?)? {
                // The client handles these itself; ours are dropped before it sees them.
                connect_timeout_set |= key == "connect_timeout";
                passthrough.push(pair);
            }
        }
        let client = client_config(base, &passthrough, own.ssl, connect_timeout_set)?;
        Ok(PgOptions {
            client,
            ssl: own.ssl,
            root_cert: own.root_cert,
            schema: own.schema,
            pool_size: own.pool_size,
            pool_timeout: own.pool_timeout,
            statement_timeout: own.statement_timeout,
        })
    }
}

/// tollbooth's own URL parameters (the client never sees them), with their defaults.
struct OwnParams {
    ssl: SslMode,
    root_cert: Option<PathBuf>,
    schema: String,
    pool_size: usize,
    pool_timeout: Duration,
    statement_timeout: Duration,
}

impl Default for OwnParams {
    fn default() -> Self {
        OwnParams {
            ssl: SslMode::Prefer,
            root_cert: None,
            schema: "tollbooth".to_owned(),
            pool_size: 3,
            pool_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(10),
        }
    }
}

impl OwnParams {
    /// Reads one decoded parameter if it is ours (`Ok(false)`: the client's); errors name
    /// the parameter, never the URL.
    fn read(&mut self, key: &str, val: String) -> Result<bool> {
        match key {
            "sslmode" => self.ssl = ssl_mode(&val)?,
            "sslrootcert" => self.root_cert = Some(PathBuf::from(val)),
            "schema" => {
                if !valid_schema(&val) {
                    return Err(invalid(format!(
                        "database URL: schema={val} must be 1-63 lowercase letters, digits or _ (not starting with a digit or pg_)"
                    )));
                }
                self.schema = val;
            }
            "pool_size" => {
                self.pool_size = number("pool_size", &val)?;
                if !(1..=64).contains(&self.pool_size) {
                    return Err(invalid("database URL: pool_size must be 1..=64"));
                }
            }
            "pool_timeout" => {
                self.pool_timeout = Duration::from_secs(number("pool_timeout", &val)?);
            }
            "statement_timeout" => {
                let ms: u64 = number("statement_timeout", &val)?;
                if ms == 0 {
                    return Err(invalid("database URL: statement_timeout must be > 0 ms"));
                }
                self.statement_timeout = Duration::from_millis(ms);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// libpq's `sslmode` values, reduced to what tollbooth does with them.
fn ssl_mode(val: &str) -> Result<SslMode> {
    match val {
        "disable" => Ok(SslMode::Disable),
        "prefer" | "allow" => Ok(SslMode::Prefer),
        "require" | "verify-ca" | "verify-full" => Ok(SslMode::VerifyFull),
        other => Err(invalid(format!(
            "database URL: sslmode={other} is not one of disable, prefer, require, verify-ca, verify-full"
        ))),
    }
}

/// The client's configuration from the URL without our parameters, with tollbooth's
/// defaults where the URL sets none.
fn client_config(
    base: &str,
    passthrough: &[&str],
    ssl: SslMode,
    connect_timeout_set: bool,
) -> Result<postgres::Config> {
    let rebuilt = if passthrough.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", passthrough.join("&"))
    };
    let mut client: postgres::Config = rebuilt.parse().map_err(|e: postgres::Error| {
        // The client's parse errors name the parameter, never echo the URL.
        invalid(format!("database URL: {e}"))
    })?;
    if client.get_hosts().is_empty() {
        return Err(invalid("database URL: no host"));
    }
    if client.get_user().is_none() {
        return Err(invalid("database URL: no user"));
    }
    if !connect_timeout_set {
        client.connect_timeout(Duration::from_secs(5));
    }
    // A server that vanished without closing the connection (a host gone, a network path
    // cut) is noticed in about 30 s instead of TCP's defaults (hours): unacknowledged writes
    // give up after `tcp_user_timeout`, idle pooled connections are probed by keepalives.
    if client.get_tcp_user_timeout().is_none() {
        client.tcp_user_timeout(Duration::from_secs(30));
    }
    if !passthrough
        .iter()
        .any(|p| p.starts_with("keepalives_idle="))
    {
        client.keepalives_idle(Duration::from_secs(30));
    }
    // tollbooth drives TLS itself (rustls) and asks the client for it explicitly.
    client.ssl_mode(match ssl {
        SslMode::Disable => postgres::config::SslMode::Disable,
        SslMode::Prefer => postgres::config::SslMode::Prefer,
        SslMode::VerifyFull => postgres::config::SslMode::Require,
    });
    if client.get_application_name().is_none() {
        client.application_name("tollbooth");
    }
    Ok(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_postgres_urls_only() {
        assert!(is_postgres_url("postgres://u@h/db"));
        assert!(is_postgres_url("PostgreSQL://u@h/db"));
        assert!(!is_postgres_url("/var/lib/tb.db"));
        assert!(!is_postgres_url(":memory:"));
        assert!(!is_postgres_url("postgres.db"));
    }

    #[test]
    fn parses_tollbooth_and_libpq_parameters() {
        let o = PgOptions::parse(
            "postgresql://app:s3cr%40t@db.example.com:6543/main?sslmode=verify-full&sslrootcert=%2Ftmp%2Fca.pem\
             &schema=billing_1&pool_size=2&statement_timeout=2500&application_name=web&connect_timeout=3",
        )
        .unwrap();
        assert_eq!(o.ssl, SslMode::VerifyFull);
        assert_eq!(
            o.root_cert.as_deref(),
            Some(std::path::Path::new("/tmp/ca.pem"))
        );
        assert_eq!(o.schema, "billing_1");
        assert_eq!(o.pool_size, 2);
        assert_eq!(o.statement_timeout, Duration::from_millis(2500));
        assert_eq!(o.client.get_user(), Some("app"));
        assert_eq!(o.client.get_password(), Some(&b"s3cr@t"[..]));
        assert_eq!(o.client.get_dbname(), Some("main"));
        assert_eq!(o.client.get_ports(), &[6543]);
        assert_eq!(o.client.get_application_name(), Some("web"));
        assert_eq!(
            o.client.get_connect_timeout(),
            Some(&Duration::from_secs(3))
        );
    }

    #[test]
    fn defaults() {
        let o = PgOptions::parse("postgres://u:p@localhost/db").unwrap();
        assert_eq!(o.ssl, SslMode::Prefer);
        assert_eq!(o.schema, "tollbooth");
        assert_eq!(o.pool_size, 3);
        assert_eq!(
            o.client.get_connect_timeout(),
            Some(&Duration::from_secs(5))
        );
        assert_eq!(o.client.get_application_name(), Some("tollbooth"));
        assert_eq!(
            o.client.get_tcp_user_timeout(),
            Some(&Duration::from_secs(30))
        );
        assert_eq!(o.client.get_keepalives_idle(), Duration::from_secs(30));
        for mode in ["require", "verify-ca", "verify-full"] {
            let o = PgOptions::parse(&format!("postgres://u@h/db?sslmode={mode}")).unwrap();
            assert_eq!(o.ssl, SslMode::VerifyFull, "{mode} verifies");
        }
    }

    #[test]
    fn bad_urls_are_config_invalid_and_never_show_the_password() {
        for url in [
            "mysql://u:hunter2secret@h/db",
            "postgres://u:hunter2secret@h/db?sslmode=sometimes",
            "postgres://u:hunter2secret@h/db?schema=Drop%20Table",
            "postgres://u:hunter2secret@h/db?schema=pg_catalog",
            "postgres://u:hunter2secret@h/db?pool_size=0",
            "postgres://u:hunter2secret@h/db?pool_size=many",
            "postgres://u:hunter2secret@h/db?statement_timeout=0",
            "postgres://u:hunter2secret@h/db?nosuchparam=1",
            "postgres://u:hunter2secret@h:notaport/db",
            "postgres://u:hunter2secret@h/db?x=%zz",
            "postgres://:hunter2secret@/db",
        ] {
            let e = PgOptions::parse(url).unwrap_err();
            assert_eq!(e.code(), ErrorCode::ConfigInvalid, "{url}: {e}");
            assert!(!e.to_string().contains("hunter2secret"), "{e}");
            assert!(!format!("{e:?}").contains("hunter2secret"), "{e:?}");
        }
    }

    #[test]
    fn redact_database_hides_only_the_password() {
        use crate::store::redact_database;
        assert_eq!(
            redact_database("postgres://app:hunter2@db:5432/main?sslmode=require"),
            "postgres://app:***@db:5432/main?sslmode=require"
        );
        assert_eq!(
            redact_database("postgresql://app@db/main"),
            "postgresql://app@db/main"
        );
        assert_eq!(redact_database("/var/lib/tb:x@y.db"), "/var/lib/tb:x@y.db");
        let cfg = crate::Config::new("postgres://app:hunter2secret@db/main", &["whsec_x"]).unwrap();
        let shown = format!("{cfg:?}");
        assert!(shown.contains("app:***@db"), "{shown}");
        assert!(!shown.contains("hunter2secret"), "{shown}");
    }

    #[test]
    fn debug_never_shows_the_password() {
        let o = PgOptions::parse("postgres://app:hunter2secret@h/db").unwrap();
        let d = format!("{o:?}");
        assert!(d.contains("app") && d.contains("\"db\""), "{d}");
        assert!(!d.contains("hunter2secret"), "{d}");
    }
}
