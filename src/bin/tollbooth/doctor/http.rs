//! The doctor's I/O against a route: three requests (an unsigned POST, a GET, and with a
//! secret one signed probe), no redirect followed, bodies read to a bound. The verdicts are
//! in `route.rs`.

use std::io::Read;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use tollbooth::probe::probe_body;
use tollbooth::verify::compute_signature;

use super::route::{Exchange, Failure, FailureKind, Observed, RouteFacts};
use crate::{Res, fail};

/// Most bytes of an answer read.
const BODY_LIMIT: u64 = 64 * 1024;

/// `(https, loopback)` for a URL, or an error for one that is not http(s).
pub fn classify(url: &str) -> Res<(bool, bool)> {
    let uri: ureq::http::Uri = url
        .parse()
        .map_err(|e| fail(format!("not a URL: {url} ({e})")))?;
    let https = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(fail(format!("not an http(s) URL: {url}"))),
    };
    let host = uri
        .host()
        .ok_or_else(|| fail(format!("no host in {url}")))?;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    Ok((https, loopback))
}

fn agent(loopback: bool, timeout: Duration) -> ureq::Agent {
    // Certificates are verified (webpki roots) except on loopback, where dev servers use
    // self-signed ones.
    let tls = ureq::tls::TlsConfig::builder()
        .disable_verification(loopback)
        .build();
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(timeout))
        .tls_config(tls)
        .user_agent("tollbooth-doctor")
        .build()
        .into()
}

fn observe(
    result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    started: Instant,
) -> Observed {
    let mut resp = match result {
        Ok(r) => r,
        Err(e) => {
            return Observed::Failed(Failure {
                kind: failure_kind(&e),
                message: e.to_string(),
                elapsed_ms: started.elapsed().as_millis() as u64,
            });
        }
    };
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut buf = Vec::new();
    // A body cut short is still judged on what arrived.
    let _ = resp
        .body_mut()
        .as_reader()
        .take(BODY_LIMIT)
        .read_to_end(&mut buf);
    Observed::Answered(Exchange {
        status,
        headers,
        body: String::from_utf8_lossy(&buf).into_owned(),
        elapsed_ms: started.elapsed().as_millis() as u64,
    })
}

fn failure_kind(e: &ureq::Error) -> FailureKind {
    let text = e.to_string().to_ascii_lowercase();
    match e {
        ureq::Error::Timeout(_) => FailureKind::Timeout,
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) => FailureKind::Tls,
        ureq::Error::HostNotFound | ureq::Error::ConnectionFailed => FailureKind::Connect,
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => FailureKind::Timeout,
        // rustls errors reach us inside io errors: classify them by their text.
        _ if [
            "certificate",
            "tls",
            "handshake",
            "corrupt message",
            "peer sent",
            "alert",
        ]
        .iter()
        .any(|m| text.contains(m)) =>
        {
            FailureKind::Tls
        }
        ureq::Error::Io(_) => FailureKind::Connect,
        _ => FailureKind::Other,
    }
}

/// A `Stripe-Signature` header with one `v1` per secret (the route accepts any of them).
fn signature_header(body: &[u8], secrets: &[String], t: i64) -> String {
    let mut h = format!("t={t}");
    for s in secrets {
        let sig = compute_signature(body, s.as_bytes(), t);
        h.push_str(",v1=");
        for b in sig {
            h.push_str(&format!("{b:02x}"));
        }
    }
    h
}

/// Makes the requests and returns what they observed. `nonce` marks this run's probe and
/// unsigned body; `now` is the probe's signature time.
pub fn gather(
    url: &str,
    secrets: &[String],
    now: i64,
    nonce: &str,
    timeout: Duration,
) -> Res<RouteFacts> {
    let (https, loopback) = classify(url)?;
    let agent = agent(loopback, timeout);
    // Stripe-shaped, so a route that parses before verifying shows it; the marker shows echoes.
    let marker = format!("doctor-marker-{nonce}");
    let unsigned = serde_json::json!({
        "id": format!("evt_{marker}"), "object": "event", "type": "tollbooth.probe",
        "created": now, "livemode": false, "data": { "object": { "id": marker } }
    })
    .to_string();
    let started = Instant::now();
    let unsigned_post = observe(
        agent
            .post(url)
            .header("content-type", "application/json")
            .send(unsigned.as_bytes()),
        started,
    );
    let started = Instant::now();
    let get = observe(agent.get(url).call(), started);
    let probe = if secrets.is_empty() {
        None
    } else {
        let body = probe_body(nonce, now);
        let header = signature_header(&body, secrets, now);
        let started = Instant::now();
        Some(observe(
            agent
                .post(url)
                .header("content-type", "application/json")
                .header("stripe-signature", &header)
                .send(&body[..]),
            started,
        ))
    };
    Ok(RouteFacts {
        url: url.to_owned(),
        https,
        loopback,
        marker,
        unsigned_post,
        get,
        probe,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_scheme_and_loopback() {
        assert_eq!(classify("https://example.com/api").unwrap(), (true, false));
        assert_eq!(classify("http://localhost:3000/x").unwrap(), (false, true));
        assert_eq!(classify("http://127.0.0.2/x").unwrap(), (false, true));
        assert_eq!(classify("https://[::1]:8443/x").unwrap(), (true, true));
        assert_eq!(classify("http://10.0.0.1/x").unwrap(), (false, false));
        assert!(classify("ftp://example.com").is_err());
        assert!(classify("example.com/api").is_err());
    }

    #[test]
    fn the_probe_header_carries_one_v1_per_secret_and_verifies() {
        let body = probe_body("x", 1_700_000_000);
        let secrets = vec!["whsec_a".to_owned(), "whsec_b".to_owned()];
        let h = signature_header(&body, &secrets, 1_700_000_000);
        assert_eq!(h.matches("v1=").count(), 2);
        for s in &secrets {
            let only = [tollbooth::verify::Secret::new(s.as_str()).unwrap()];
            tollbooth::verify::verify(
                &body,
                &h,
                &only,
                1_700_000_000,
                &tollbooth::verify::VerifyOptions::default(),
            )
            .unwrap();
        }
    }
}
