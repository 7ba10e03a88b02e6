//! rustls configurations for IPFIX over TLS, from PEM files.
//!
//! Every configuration is built with the ring provider passed explicitly
//! (`builder_with_provider`), never the process-level default, so no code path can trip over two
//! installed providers or none. Protocol versions are rustls's safe defaults, TLS 1.2 and 1.3,
//! which matches go-ipfix (its minimum is TLS 1.2).

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};

use super::{Endpoint, TlsError};

/// A TLS collector's identity and, for mutual TLS, the CA its clients' certificates must chain to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerTls {
    /// PEM certificate chain, the server's own certificate first.
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, SEC1 or PKCS#1).
    pub key: PathBuf,
    /// PEM CA certificates. When set, every client must present a certificate signed by one.
    pub client_ca: Option<PathBuf>,
}

/// A TLS exporter's trust anchors and, for mutual TLS, its own identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientTls {
    /// PEM CA certificates the server's certificate must chain to.
    pub ca: PathBuf,
    /// PEM certificate chain presented to the server (with `key`).
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// The name to check the server's certificate against, when not the host connected to.
    pub server_name: Option<String>,
}

impl ClientTls {
    /// The name the server's certificate must carry: `server_name` when set, else the host name
    /// in `input` (the endpoint as the user wrote it, see [`Endpoint::host_name`]), else the IP
    /// address `to` resolved to.
    pub fn server_name_for(&self, input: &str, to: &Endpoint) -> Result<ServerName<'static>, TlsError> {
        match self.server_name.as_deref().or_else(|| Endpoint::host_name(input)) {
            Some(name) => parse_server_name(name),
            None => Ok(ServerName::IpAddress(to.addr().ip().into())),
        }
    }
}

/// A DNS name or an IP address, as rustls checks it against certificates.
pub fn parse_server_name(name: &str) -> Result<ServerName<'static>, TlsError> {
    if let Ok(ip) = name.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
        return Ok(ServerName::IpAddress(ip.into()));
    }
    ServerName::try_from(name.to_owned()).map_err(|_| TlsError::ServerName { name: name.to_owned() })
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A server configuration: the certificate chain and key, and client authentication when
/// `client_ca` is set.
pub fn server_config(tls: &ServerTls) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = provider();
    let chain = load_certs(&tls.cert, "TLS certificate")?;
    let key = load_key(&tls.key)?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|error| TlsError::Rustls { what: "the ring provider's protocol versions".into(), error })?;
    let builder = match &tls.client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let roots = load_roots(ca)?;
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|error| TlsError::ClientVerifier { path: ca.clone(), error })?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let config = builder.with_single_cert(chain, key).map_err(|error| TlsError::Rustls {
        what: format!("the certificate {} with the key {}", tls.cert.display(), tls.key.display()),
        error,
    })?;
    Ok(Arc::new(config))
}

/// A client configuration: the CA to verify servers with, and a client certificate when both
/// `cert` and `key` are set.
pub fn client_config(tls: &ClientTls) -> Result<Arc<ClientConfig>, TlsError> {
    let roots = load_roots(&tls.ca)?;
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|error| TlsError::Rustls { what: "the ring provider's protocol versions".into(), error })?
        .with_root_certificates(roots);
    let config = match (&tls.cert, &tls.key) {
        (None, None) => builder.with_no_client_auth(),
        (Some(cert), Some(key)) => builder
            .with_client_auth_cert(load_certs(cert, "TLS certificate")?, load_key(key)?)
            .map_err(|error| TlsError::Rustls {
                what: format!("the client certificate {} with the key {}", cert.display(), key.display()),
                error,
            })?,
        (Some(_), None) => return Err(TlsError::HalfClientIdentity { given: "certificate" }),
        (None, Some(_)) => return Err(TlsError::HalfClientIdentity { given: "key" }),
    };
    Ok(Arc::new(config))
}

fn read(path: &Path, what: &'static str) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|io| TlsError::Read { what, path: path.to_owned(), io })
}

fn pem_problem(what: &'static str, path: &Path, e: pem::Error, none: &str) -> TlsError {
    let problem = match e {
        pem::Error::NoItemsFound => none.to_owned(),
        e => format!("bad PEM: {e}"),
    };
    TlsError::Pem { what, path: path.to_owned(), problem }
}

/// Every certificate in a PEM file, in order; at least one.
pub(super) fn load_certs(path: &Path, what: &'static str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    const NONE: &str = "no PEM certificate in it";
    let bytes = read(path, what)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_problem(what, path, e, NONE))?;
    if certs.is_empty() {
        return Err(TlsError::Pem { what, path: path.to_owned(), problem: NONE.into() });
    }
    Ok(certs)
}

fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    const WHAT: &str = "TLS private key";
    let bytes = read(path, WHAT)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| pem_problem(WHAT, path, e, "no PEM private key in it"))
}

fn load_roots(path: &Path) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in load_certs(path, "CA certificate")? {
        roots
            .add(cert)
            .map_err(|error| TlsError::Rustls { what: format!("the CA certificate in {}", path.display()), error })?;
    }
    Ok(roots)
}
