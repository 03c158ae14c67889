//! `sign` and `send`: Stripe-signed deliveries for testing a webhook route without Stripe.

use std::time::Duration;

use serde_json::json;
use tollbooth::verify::sign_for_test;

use crate::scenarios::scenario_body;
use crate::{App, BodyArgs, EXIT_ERROR, EXIT_OK, Res, fail};

/// The body to sign, its timestamp and its `Stripe-Signature` header.
struct Signed {
    body: Vec<u8>,
    timestamp: i64,
    header: String,
}

fn signed(app: &App, args: &BodyArgs) -> Res<Signed> {
    let secret = app.signing_secret()?;
    let timestamp = args.timestamp.unwrap_or(app.now);
    let body = match (&args.payload, args.scenario) {
        (Some(path), _) => {
            std::fs::read(path).map_err(|e| fail(format!("cannot read {}: {e}", path.display())))?
        }
        (None, Some(s)) => scenario_body(s, args.api_version, timestamp),
        (None, None) => return Err(fail("give --payload FILE or --scenario NAME")),
    };
    let header = sign_for_test(&body, secret, timestamp);
    Ok(Signed {
        body,
        timestamp,
        header,
    })
}

pub fn sign(app: &App, args: &BodyArgs) -> Res<u8> {
    let s = signed(app, args)?;
    if app.out.json {
        app.out.json(&json!({
            "header": s.header,
            "timestamp": s.timestamp,
            "body": String::from_utf8_lossy(&s.body),
        }));
    } else {
        app.out.line(&s.header);
    }
    Ok(EXIT_OK)
}

pub fn send(app: &App, url: &str, args: &BodyArgs) -> Res<u8> {
    let s = signed(app, args)?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let mut resp = agent
        .post(url)
        .header("Content-Type", "application/json")
        .header("Stripe-Signature", &s.header)
        .send(&s.body[..])
        .map_err(|e| fail(format!("POST {url} failed: {e}")))?;
    let status = resp.status();
    let text = resp
        .body_mut()
        .read_to_string()
        .map_err(|e| fail(format!("reading the response from {url} failed: {e}")))?;
    let ok = status.is_success();
    app.out.json(&json!({
        "url": url,
        "status": status.as_u16(),
        "ok": ok,
        "response": text,
        "event_bytes": s.body.len(),
        "timestamp": s.timestamp,
    }));
    let word = if ok {
        app.out.green(&status.to_string())
    } else {
        app.out.red(&status.to_string())
    };
    app.out.line(format!("POST {url} → {word}"));
    if !text.is_empty() {
        app.out.line(text.trim_end());
    }
    Ok(if ok { EXIT_OK } else { EXIT_ERROR })
}
