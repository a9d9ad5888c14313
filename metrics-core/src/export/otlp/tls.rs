//! TLS of both transports: the trusted roots and the client identity, read from the
//! configured PEM files once, when the exporter is created (a bad file fails the creation,
//! naming it), and the reading of a handshake failure out of a transport's error.
//!
//! rustls on ring. The roots are built here for both transports, so that gRPC and HTTP trust
//! the same certificates: the configured CA file alone, or else the platform's roots and
//! Mozilla's (webpki-roots), the latter so that a container without a CA bundle still works.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use std::sync::atomic::{AtomicBool, Ordering};

use rustls::client::ResolvesClientCert;
use rustls::sign::CertifiedKey;
use rustls::{
    AlertDescription, CertificateError, ClientConfig, ConfigBuilder, RootCertStore,
    SignatureScheme, WantsVerifier,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::retry::Failure;
use crate::config::OtlpTlsConfig;

/// What a TLS connection to the collector needs, read from the configuration's files.
pub(super) struct Tls {
    /// The roots and the client certificate; each transport sets its own ALPN.
    config: ClientConfig,
    /// Whether the collector asked for a client certificate: a collector that refuses a
    /// client may close the connection without a TLS alert, and this says why.
    asked: Arc<AtomicBool>,
    has_identity: bool,
}

/// Shows which parts are set, never key material.
impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls")
            .field("client_certificate", &self.has_identity)
            .finish_non_exhaustive()
    }
}

impl Tls {
    /// Reads and checks the files `config` names. The error names the file and what is
    /// wrong with it, never its content.
    pub(super) fn load(config: &OtlpTlsConfig) -> Result<Tls, String> {
        let roots = match &config.certificate {
            Some(path) => custom_roots(path)?,
            None => default_roots(),
        };
        let key = match (&config.client_certificate, &config.client_key) {
            (Some(certificate), Some(key)) => Some(Arc::new(client_key(certificate, key)?)),
            // Validation refuses one without the other.
            _ => None,
        };
        let asked = Arc::new(AtomicBool::new(false));
        let has_identity = key.is_some();
        let resolver = ClientCertificate {
            key,
            asked: Arc::clone(&asked),
        };
        let config = config_builder()?
            .with_root_certificates(roots)
            .with_client_cert_resolver(Arc::new(resolver));
        Ok(Tls {
            config,
            asked,
            has_identity,
        })
    }

    /// The rustls configuration for a transport speaking `alpn` (`h2`, `http/1.1`).
    pub(super) fn client_config(&self, alpn: &[u8]) -> ClientConfig {
        let mut config = self.config.clone();
        config.alpn_protocols = vec![alpn.to_vec()];
        config
    }

    /// The TLS failure behind a transport's `error`: a failed handshake, which says so and
    /// is not retried (a certificate does not fix itself within a timeout); or, after the
    /// collector asked for a client certificate, a connection it closed, explained as such
    /// but retried (a collector restarting closes connections too). `None` if the failure is
    /// not TLS's.
    pub(super) fn failure(&self, error: &(dyn std::error::Error + 'static)) -> Option<Failure> {
        if let Some(message) = handshake_failure(error) {
            return Some(Failure::Permanent(message));
        }
        if !self.asked.load(Ordering::Relaxed) || never_connected(error) {
            return None;
        }
        let cause = super::cause(error);
        let message = if self.has_identity {
            format!("TLS handshake failed: the collector asked for a client certificate, then closed the connection ({cause}) (certificate problem: it may not trust the client certificate sent, `otlp.tls.client_certificate`)")
        } else {
            format!("TLS handshake failed: the collector asked for a client certificate and none is configured, then closed the connection ({cause}) (certificate problem: set `otlp.tls.client_certificate` and `client_key`, or OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE and OTEL_EXPORTER_OTLP_CLIENT_KEY)")
        };
        Some(Failure::Transient {
            message,
            after: None,
        })
    }
}

/// Whether `error` happened before any handshake: no connection was made.
fn never_connected(error: &(dyn std::error::Error + 'static)) -> bool {
    use std::io::ErrorKind;
    let mut next = Some(error);
    while let Some(error) = next {
        let mut inner = error;
        while let Some(io) = inner.downcast_ref::<std::io::Error>() {
            if matches!(
                io.kind(),
                ErrorKind::ConnectionRefused
                    | ErrorKind::TimedOut
                    | ErrorKind::NotFound
                    | ErrorKind::AddrNotAvailable
                    | ErrorKind::HostUnreachable
                    | ErrorKind::NetworkUnreachable
            ) {
                return true;
            }
            match io.get_ref() {
                Some(wrapped) => inner = wrapped,
                None => break,
            }
        }
        next = error.source();
    }
    false
}

/// The client certificate, sent when the collector asks; records that it asked.
#[derive(Debug)]
struct ClientCertificate {
    key: Option<Arc<CertifiedKey>>,
    asked: Arc<AtomicBool>,
}

impl ResolvesClientCert for ClientCertificate {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _schemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        self.asked.store(true, Ordering::Relaxed);
        self.key.clone()
    }

    /// True even without a certificate, so that rustls tells when a collector asks for one.
    fn has_certs(&self) -> bool {
        true
    }
}

/// The client certificate chain and its key, checked to go together.
fn client_key(certificate: &Path, key: &Path) -> Result<CertifiedKey, String> {
    let chain = certificates(
        &read(certificate, "client certificate")?,
        certificate,
        "client certificate",
    )?;
    let private_key = PrivateKeyDer::from_pem_slice(&read(key, "client key")?).map_err(|e| {
        format!(
            "the client key file {} holds no usable PEM private key (PKCS#8, PKCS#1 or SEC1): {}",
            key.display(),
            pem_problem(&e)
        )
    })?;
    CertifiedKey::from_der(
        chain,
        private_key,
        &rustls::crypto::ring::default_provider(),
    )
    .map_err(|e| {
        format!(
            "the client certificate {} and key {} do not go together: {e}",
            certificate.display(),
            key.display()
        )
    })
}

/// A rustls configuration trusting nothing, for a client of `http://` endpoints: reqwest
/// always builds a TLS connector, and without one given it would need a default crypto
/// provider installed in the process.
#[cfg(feature = "otlp-http")]
pub(crate) fn plain_http_config() -> Result<ClientConfig, String> {
    Ok(config_builder()?
        .with_root_certificates(RootCertStore::empty())
        .with_no_client_auth())
}

/// rustls on ring, with its safe protocol versions.
fn config_builder() -> Result<ConfigBuilder<ClientConfig, WantsVerifier>, String> {
    ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))
}

/// The file's bytes; the error names the file and its role.
fn read(path: &Path, role: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read the {role} file {}: {e}", path.display()))
}

/// The certificates of a PEM file, at least one.
fn certificates(
    pem: &[u8],
    path: &Path,
    role: &str,
) -> Result<Vec<CertificateDer<'static>>, String> {
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            format!(
                "the {role} file {} is not valid PEM: {}",
                path.display(),
                pem_problem(&e)
            )
        })?;
    if certificates.is_empty() {
        return Err(format!(
            "the {role} file {} holds no PEM certificate (`-----BEGIN CERTIFICATE-----`)",
            path.display()
        ));
    }
    Ok(certificates)
}

/// The CA certificates of the configured file, trusted alone.
fn custom_roots(path: &Path) -> Result<RootCertStore, String> {
    let role = "CA certificate";
    let mut roots = RootCertStore::empty();
    for certificate in certificates(&read(path, role)?, path, role)? {
        roots.add(certificate).map_err(|e| {
            format!(
                "the {role} file {} holds a certificate that cannot be a trust anchor: {e}",
                path.display()
            )
        })?;
    }
    Ok(roots)
}

/// The platform's roots (what it offers; unreadable ones are skipped, as browsers do) and
/// Mozilla's.
fn default_roots() -> RootCertStore {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let native = rustls_native_certs::load_native_certs();
    if !native.errors.is_empty() {
        tracing::debug!(errors = ?native.errors, "some of the platform's root certificates could not be read");
    }
    roots.add_parsable_certificates(native.certs);
    roots
}

/// A PEM error without the file's content (a key's bytes must not reach an error).
fn pem_problem(error: &rustls_pki_types::pem::Error) -> String {
    use rustls_pki_types::pem::Error;
    match error {
        Error::MissingSectionEnd { .. } => "a section has no `-----END` line".to_owned(),
        Error::IllegalSectionStart { .. } => "a `-----BEGIN` line is malformed".to_owned(),
        Error::Base64Decode(_) => "a section is not valid base64".to_owned(),
        Error::Io(e) => e.to_string(),
        Error::NoItemsFound => "no item of the expected kind".to_owned(),
        _ => "malformed".to_owned(),
    }
}

/// The TLS failure among the causes of a transport's `error`, as a message that says it is a
/// TLS problem and what to check.
fn handshake_failure(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(tls) = rustls_error(error) {
            return Some(format!("TLS handshake failed: {tls}{}", hint(tls)));
        }
        next = error.source();
    }
    None
}

/// `error` as rustls' error, looking inside `io::Error`s (rustls' errors reach the
/// transports wrapped in one, or in several, and an `io::Error`'s `source` skips the error
/// it wraps).
fn rustls_error<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut error = error;
    for _ in 0..8 {
        if let Some(tls) = error.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        error = error.downcast_ref::<std::io::Error>()?.get_ref()?;
    }
    None
}

/// What to check for the usual certificate problems.
fn hint(error: &rustls::Error) -> &'static str {
    use rustls::Error as E;
    use CertificateError as C;
    match error {
        E::InvalidCertificate(C::UnknownIssuer | C::BadSignature) => {
            " (certificate problem: the collector's certificate is not signed by a trusted CA; \
             check `otlp.tls.certificate` / OTEL_EXPORTER_OTLP_CERTIFICATE)"
        }
        E::InvalidCertificate(
            C::Expired | C::ExpiredContext { .. } | C::NotValidYet | C::NotValidYetContext { .. },
        ) => " (certificate problem: the collector's certificate is not valid at this time)",
        E::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. }) => {
            " (certificate problem: the collector's certificate does not name the endpoint's host)"
        }
        E::InvalidCertificate(_) => " (certificate problem: the collector's certificate)",
        E::AlertReceived(
            AlertDescription::CertificateRequired
            | AlertDescription::HandshakeFailure
            | AlertDescription::BadCertificate
            | AlertDescription::CertificateUnknown
            | AlertDescription::UnknownCA
            | AlertDescription::AccessDenied,
        ) => {
            " (certificate problem: the collector refused this client; it may require a client \
             certificate, `otlp.tls.client_certificate` and `client_key`, or not trust the one sent)"
        }
        _ => "",
    }
}
