//! TLS through rustls (ring provider; no OpenSSL): the bundled Mozilla roots, or the PEM
//! CA file of `sslrootcert`. Verification is never switched off (see `config.rs`).

use std::sync::Arc;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::config::{PgOptions, SslMode};
use crate::error::{Error, ErrorCode, Result};

/// The connector for [`PgOptions`]: `None` for `sslmode=disable`.
pub(super) fn connector(opts: &PgOptions) -> Result<Option<MakeRustlsConnect>> {
    if opts.ssl == SslMode::Disable {
        return Ok(None);
    }
    let mut roots = rustls::RootCertStore::empty();
    match &opts.root_cert {
        Some(path) => {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                .and_then(|it| it.collect::<Result<_, _>>())
                .map_err(|e| {
                    Error::new(
                        ErrorCode::ConfigInvalid,
                        format!("sslrootcert {}: {e}", path.display()),
                    )
                })?;
            let (added, _ignored) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(Error::new(
                    ErrorCode::ConfigInvalid,
                    format!("sslrootcert {}: no usable CA certificate", path.display()),
                ));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::new(ErrorCode::StoreOpenFailed, format!("TLS setup: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Some(MakeRustlsConnect::new(config)))
}
