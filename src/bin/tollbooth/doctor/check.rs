//! A doctor check's verdict: what was found, and what to change when it is wrong.

use serde::Serialize;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Fine.
    Pass,
    /// Works today, but worth a look.
    Warn,
    /// Broken: Stripe's deliveries fail or are not what they seem (exit code 4).
    Fail,
    /// Could not be judged (an earlier problem, or no facts for it).
    Skip,
}

/// One check's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Stable name, e.g. `no_redirect`.
    pub name: &'static str,
    /// The verdict.
    pub status: Status,
    /// What was observed, with the figures.
    pub summary: String,
    /// What to change, when it is not a pass.
    pub fix: Option<String>,
}

impl Check {
    pub fn pass(name: &'static str, summary: impl Into<String>) -> Check {
        Check {
            name,
            status: Status::Pass,
            summary: summary.into(),
            fix: None,
        }
    }

    pub fn warn(name: &'static str, summary: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            name,
            status: Status::Warn,
            summary: summary.into(),
            fix: Some(fix.into()),
        }
    }

    pub fn fail(name: &'static str, summary: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            name,
            status: Status::Fail,
            summary: summary.into(),
            fix: Some(fix.into()),
        }
    }

    pub fn skip(name: &'static str, summary: impl Into<String>) -> Check {
        Check {
            name,
            status: Status::Skip,
            summary: summary.into(),
            fix: None,
        }
    }
}
