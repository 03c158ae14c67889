//! Output for people (aligned tables, colour on a terminal only) and for scripts (`--json`).

use std::io::{IsTerminal, Write};

use serde::Serialize;

/// Where and how a command prints.
#[derive(Debug, Clone)]
pub struct Out {
    /// `--json`: one JSON document on stdout, nothing else.
    pub json: bool,
    colour: bool,
    /// Strings that must never be printed (the webhook secret); replaced by `[redacted]`.
    secrets: Vec<String>,
}

impl Out {
    pub fn new(json: bool, secrets: Vec<String>) -> Out {
        let colour = !json
            && std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        let secrets = secrets.into_iter().filter(|s| !s.is_empty()).collect();
        Out {
            json,
            colour,
            secrets,
        }
    }

    /// Removes every configured secret and anything shaped like a Stripe credential.
    pub fn redact(&self, text: &str) -> String {
        let mut s = text.to_owned();
        for secret in &self.secrets {
            s = s.replace(secret.as_str(), "[redacted]");
        }
        tollbooth::outbox::redact_secrets(&s, |_| false)
    }

    /// Prints one line for people (never in `--json` mode).
    pub fn line(&self, text: impl AsRef<str>) {
        if !self.json {
            let mut stdout = std::io::stdout().lock();
            let _ = writeln!(stdout, "{}", terminal_safe(&self.redact(text.as_ref())));
        }
    }

    /// Prints a section heading.
    pub fn heading(&self, text: &str) {
        self.line("");
        self.line(self.bold(text));
    }

    /// Prints the JSON document (only in `--json` mode).
    pub fn json<T: Serialize>(&self, value: &T) {
        if self.json {
            let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".into());
            let mut stdout = std::io::stdout().lock();
            let _ = writeln!(stdout, "{}", self.redact(&text));
        }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    pub fn bold(&self, t: &str) -> String {
        self.paint("1", t)
    }
    pub fn dim(&self, t: &str) -> String {
        self.paint("2", t)
    }
    pub fn green(&self, t: &str) -> String {
        self.paint("32", t)
    }
    pub fn yellow(&self, t: &str) -> String {
        self.paint("33", t)
    }
    pub fn red(&self, t: &str) -> String {
        self.paint("31", t)
    }

    /// "has access" in green or "no access" in red: the verdict of an access check.
    pub fn access(&self, has_access: bool) -> String {
        if has_access {
            self.green("has access")
        } else {
            self.red("no access")
        }
    }

    /// Colours a status word by what it means to an operator.
    pub fn status(&self, word: &str) -> String {
        match word {
            "processed" | "done" | "active" | "trialing" | "ok" | "completed" | "complete"
            | "paid" => self.green(word),
            "duplicate" | "ignored" | "superseded" => self.dim(word),
            "stale" | "quarantined" | "due" | "leased" | "past_due" | "warning" | "open"
            | "incomplete" | "lease_expired" => self.yellow(word),
            "dead" | "rejected" | "failed" | "critical" | "canceled" | "unpaid" => self.red(word),
            _ => word.to_owned(),
        }
    }

    /// Prints a table; prints `empty` instead when there are no rows.
    pub fn table(&self, table: &Table, empty: &str) {
        if table.rows.is_empty() {
            self.line(format!("  {}", self.dim(empty)));
        } else {
            for l in table.render(self) {
                self.line(l);
            }
        }
    }
}

/// The colour codes `paint` writes: the only escape sequences a line may keep.
const OUR_SGR: &[&str] = &["0", "1", "2", "31", "32", "33"];

/// Makes a line safe for the operator's terminal: stored fields (a customer's name, an error
/// message) are attacker-controlled, so every control character is shown escaped (`\u{1b}`)
/// instead of reaching the terminal, except the colour codes tollbooth itself writes.
pub fn terminal_safe(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        if c == '\x1b' {
            // Keep `ESC [ code m` for our own codes only.
            let tail = &rest[1..];
            if let Some(body) = tail.strip_prefix('[') {
                if let Some(end) = body.find('m') {
                    if OUR_SGR.contains(&&body[..end]) {
                        out.push_str(&rest[..end + 3]);
                        rest = &body[end + 1..];
                        continue;
                    }
                }
            }
        }
        if c.is_control() && c != '\t' {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// A table of text cells, aligned on display width (ANSI colour codes do not count).
#[derive(Debug, Default)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

/// Width of a cell as displayed: without ANSI escapes, in characters.
fn width(s: &str) -> usize {
    let mut n = 0;
    let mut in_escape = false;
    for c in s.chars() {
        match (in_escape, c) {
            (false, '\x1b') => in_escape = true,
            (true, 'm') => in_escape = false,
            (true, _) => {}
            (false, _) => n += 1,
        }
    }
    n
}

impl Table {
    pub fn new(headers: &[&str]) -> Table {
        Table {
            headers: headers.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn render(&self, out: &Out) -> Vec<String> {
        let n = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| width(h)).collect();
        for r in &self.rows {
            for (i, c) in r.iter().enumerate().take(n) {
                widths[i] = widths[i].max(width(c));
            }
        }
        let fmt_row = |cells: &[String]| {
            let mut line = String::from(" ");
            for (i, c) in cells.iter().enumerate().take(n) {
                line.push(' ');
                line.push_str(c);
                if i + 1 < n {
                    line.push_str(&" ".repeat(widths[i] - width(c) + 1));
                }
            }
            line.trim_end().to_owned()
        };
        let mut lines = vec![out.dim(&fmt_row(&self.headers))];
        lines.extend(self.rows.iter().map(|r| fmt_row(r)));
        lines
    }
}

/// `2026-01-02 03:04:05` (UTC), for unix seconds.
pub fn time(unix: i64) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&fmt).ok())
        .unwrap_or_else(|| unix.to_string())
}

/// `2026-01-02` (UTC).
pub fn date(unix: i64) -> String {
    tollbooth::billing::access::format_date(unix)
}

/// A short duration: `45s`, `12m`, `3h`, `2d`.
pub fn age(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

/// `$29.00 USD` style amounts from minor units.
/// An amount in its currency's own minor units (`1500 JPY`, `1.250 KWD`).
pub fn money(minor: i64, currency: &str) -> String {
    tollbooth::billing::money::format_amount(minor, currency)
}

pub fn opt(v: Option<&str>) -> String {
    v.unwrap_or("-").to_owned()
}

#[cfg(test)]
mod tests {
    use super::terminal_safe;

    #[test]
    fn stored_control_characters_never_reach_the_terminal() {
        // A customer named to clear the screen, retitle the window and hide a line.
        let evil = "Ada\x1b[2J\x1b]0;pwned\x07\x1b[8mhidden\r\u{9b}31m";
        let safe = terminal_safe(evil);
        assert!(!safe.chars().any(|c| c.is_control()), "{safe:?}");
        assert!(safe.contains("\\u{1b}[2J") && safe.contains("\\u{7}"));
        // Our own colours survive.
        let ours = "\x1b[31mdead\x1b[0m\tok";
        assert_eq!(terminal_safe(ours), ours);
    }
}
