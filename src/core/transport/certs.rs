//! Certificates for IPFIX over TLS, as `flowctl certs create` makes them: a CA (or an existing
//! one, reused), a server certificate whose subject alternative names are every name the
//! collector is reached by, and one client certificate per exporter, all signed by the CA.
//!
//! Keys are ECDSA P-256 (rcgen with ring), written in PKCS#8 PEM with mode 0600, certificates
//! with mode 0644, in a directory of our own (see [`private_dir`] for what is refused).
//! Certificates start an hour in the past, so a peer whose clock is a little behind accepts them
//! at once.
//!
//! [`self_signed`] is what the aggregator does when TLS is on and it has no certificate.

use std::ffi::OsString;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PublicKeyData,
};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use tracing::warn;

use super::tls::parse_server_name;
use super::{ServerTls, TlsError, private_dir};

pub const DEFAULT_CA_NAME: &str = "flowctl-ca";
pub const DEFAULT_DAYS: u32 = 365;

/// What to create, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertsRequest {
    /// Directory that receives every file (created if missing).
    pub out: PathBuf,
    /// Common name of a new CA. An existing `ca.crt` + `ca.key` in `out` is used as it is.
    pub ca_name: String,
    /// DNS names and IP addresses of the server; all go into one server certificate.
    pub servers: Vec<String>,
    /// One client certificate per name (common name and subject alternative name).
    pub clients: Vec<String>,
    /// Validity of new certificates, in days.
    pub days: u32,
    /// Overwrite existing server and client files (the CA is never overwritten).
    pub force: bool,
}

impl CertsRequest {
    pub fn new(out: impl Into<PathBuf>) -> Self {
        CertsRequest {
            out: out.into(),
            ca_name: DEFAULT_CA_NAME.into(),
            servers: Vec::new(),
            clients: Vec::new(),
            days: DEFAULT_DAYS,
            force: false,
        }
    }
}

/// What [`create`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Created {
    pub ca_cert: PathBuf,
    pub ca_key: PathBuf,
    /// The CA files were there already and signed the new certificates.
    pub ca_reused: bool,
    /// Every file written, in order (the CA's first when it is new).
    pub files: Vec<PathBuf>,
}

/// Creates (or reuses) the CA and writes the server and client certificates with their keys.
/// Nothing is written when a server or client file exists and `force` is not set.
pub fn create(req: &CertsRequest) -> Result<Created, TlsError> {
    for name in req.servers.iter().chain(&req.clients) {
        if parse_server_name(name).is_err() {
            return Err(TlsError::CertName { name: name.clone() });
        }
    }
    let mut clients: Vec<&String> = Vec::with_capacity(req.clients.len());
    for c in &req.clients {
        if !clients.contains(&c) {
            clients.push(c);
        }
    }
    let validity = Validity::days(req.days.max(1));
    let ca_cert = req.out.join("ca.crt");
    let ca_key = req.out.join("ca.key");
    let mut leaves: Vec<Leaf> = Vec::new();
    if !req.servers.is_empty() {
        let mut names: Vec<String> = Vec::new();
        for s in &req.servers {
            if !names.contains(s) {
                names.push(s.clone());
            }
        }
        leaves.push(Leaf {
            what: "server certificate".into(),
            common_name: names[0].clone(),
            names,
            usage: ExtendedKeyUsagePurpose::ServerAuth,
            cert: req.out.join("server.crt"),
            key: req.out.join("server.key"),
        });
    }
    for c in clients {
        leaves.push(Leaf {
            what: format!("client certificate for {c}"),
            common_name: c.clone(),
            names: vec![c.clone()],
            usage: ExtendedKeyUsagePurpose::ClientAuth,
            cert: req.out.join(format!("client-{c}.crt")),
            key: req.out.join(format!("client-{c}.key")),
        });
    }
    private_dir::prepare(&req.out)?;
    // Every file is looked at before any is written, so a refused one leaves the others as they were.
    let mut existing = Vec::new();
    for path in leaves.iter().flat_map(|l| [&l.cert, &l.key]) {
        if private_dir::existing_file(path)?.is_some() {
            existing.push(path.clone());
        }
    }
    if !req.force
        && let Some(path) = existing.first()
    {
        return Err(TlsError::Exists { path: path.clone() });
    }

    let mut files = Vec::new();
    let (issuer, ca_reused) = match (private_dir::existing_file(&ca_cert)?, private_dir::existing_file(&ca_key)?) {
        (Some(_), Some(key_meta)) => {
            let mode = key_meta.mode() & 0o777;
            if mode & 0o077 != 0 {
                warn!(
                    "the CA key {} is open to group or others (mode {mode:04o}): anyone who read it can \
                     sign certificates the collector trusts; chmod 600 it, or make a new CA",
                    ca_key.display()
                );
            }
            (load_ca(&ca_cert, &ca_key)?, true)
        }
        (None, None) => {
            let key = new_key("CA key")?;
            let params = ca_params(&req.ca_name, &validity);
            let cert = params
                .self_signed(&key)
                .map_err(|error| TlsError::Generate { what: format!("CA certificate {}", req.ca_name), error })?;
            private_dir::create_new(&ca_key, &key.serialize_pem(), private_dir::KEY_MODE)?;
            private_dir::create_new(&ca_cert, &cert.pem(), private_dir::CERT_MODE)?;
            files.extend([ca_cert.clone(), ca_key.clone()]);
            (Issuer::new(params, key), false)
        }
        (Some(_), None) => return Err(TlsError::CaIncomplete { present: ca_cert, missing: ca_key }),
        (None, Some(_)) => return Err(TlsError::CaIncomplete { present: ca_key, missing: ca_cert }),
    };
    let write = |path: &PathBuf, contents: String, mode| {
        if existing.contains(path) {
            private_dir::replace(path, &contents, mode)
        } else {
            private_dir::create_new(path, &contents, mode)
        }
    };
    for leaf in &leaves {
        let key = new_key(&leaf.what)?;
        let cert = leaf
            .params(&validity)?
            .signed_by(&key, &issuer)
            .map_err(|error| TlsError::Generate { what: leaf.what.clone(), error })?;
        write(&leaf.cert, cert.pem(), private_dir::CERT_MODE)?;
        write(&leaf.key, key.serialize_pem(), private_dir::KEY_MODE)?;
        files.extend([leaf.cert.clone(), leaf.key.clone()]);
    }
    Ok(Created { ca_cert, ca_key, ca_reused, files })
}

/// The names the aggregator's own server certificate carries, besides the configured address.
const AGGREGATOR_NAMES: [&str; 4] = ["localhost", "127.0.0.1", "::1", "flow-aggregator.flow-aggregator.svc"];
/// The client certificate agents present to an aggregator that made its own CA.
const AGGREGATOR_CLIENT: &str = "flow-aggregator-client";

/// As Antrea's aggregator does when it has no certificate: a CA of its own in `dir`, a server
/// certificate (for `extra_name` too, when not empty) and a client certificate for the agents,
/// which must present it (mutual TLS). The CA is kept across restarts so agents keep trusting it;
/// the server and client certificates are made anew each time.
pub fn self_signed(dir: &Path, extra_name: &str) -> Result<ServerTls, TlsError> {
    let mut req = CertsRequest::new(dir);
    req.servers = AGGREGATOR_NAMES.map(String::from).to_vec();
    if !extra_name.is_empty() {
        req.servers.push(extra_name.to_owned());
    }
    req.clients = vec![AGGREGATOR_CLIENT.into()];
    req.force = true;
    let created = create(&req)?;
    crate::announce!(
        "TLS with a self-signed CA in {}: agents trust {} and present {} with its key {}",
        dir.display(),
        created.ca_cert.display(),
        dir.join(format!("client-{AGGREGATOR_CLIENT}.crt")).display(),
        dir.join(format!("client-{AGGREGATOR_CLIENT}.key")).display()
    );
    Ok(ServerTls { cert: dir.join("server.crt"), key: dir.join("server.key"), client_ca: Some(created.ca_cert) })
}

/// Where [`self_signed`] keeps its files when no directory is given: under the state directory
/// systemd gives the service (`$STATE_DIRECTORY/certs`), else `/var/lib/flowctl/certs` as root,
/// else the user's runtime directory (`$XDG_RUNTIME_DIR/flowctl`). Never a shared directory such
/// as /tmp, where another user could have made it first.
pub fn default_dir() -> Result<PathBuf, TlsError> {
    default_dir_for(
        nix::unistd::geteuid().is_root(),
        std::env::var_os("STATE_DIRECTORY"),
        std::env::var_os("XDG_RUNTIME_DIR"),
    )
}

fn default_dir_for(root: bool, state: Option<OsString>, runtime: Option<OsString>) -> Result<PathBuf, TlsError> {
    // systemd lists one directory per StateDirectory= entry, separated by colons.
    let first = |v: Option<OsString>| v.and_then(|v| std::env::split_paths(&v).next()).filter(|p| p.is_absolute());
    if let Some(state) = first(state) {
        return Ok(state.join("certs"));
    }
    if root {
        return Ok(PathBuf::from("/var/lib/flowctl/certs"));
    }
    match first(runtime) {
        Some(runtime) => Ok(runtime.join("flowctl")),
        None => Err(TlsError::NoCertDir(
            "no directory for the self-signed certificates: not root and neither STATE_DIRECTORY nor \
             XDG_RUNTIME_DIR is set; pass --cert-dir DIR (a directory of your own, mode 0700)",
        )),
    }
}

/// A certificate to sign with the CA, and where it goes.
struct Leaf {
    what: String,
    common_name: String,
    names: Vec<String>,
    usage: ExtendedKeyUsagePurpose,
    cert: PathBuf,
    key: PathBuf,
}

impl Leaf {
    fn params(&self, validity: &Validity) -> Result<CertificateParams, TlsError> {
        let mut params = CertificateParams::new(self.names.clone())
            .map_err(|error| TlsError::Generate { what: self.what.clone(), error })?;
        params.distinguished_name = common_name(&self.common_name);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![self.usage.clone()];
        params.use_authority_key_identifier_extension = true;
        validity.apply(&mut params);
        Ok(params)
    }
}

struct Validity {
    not_before: Duration,
    not_after: Duration,
}

impl Validity {
    /// From an hour ago until `days` from now (at the latest the end of year 9999, the last date
    /// a certificate can carry), as times since the UNIX epoch.
    fn days(days: u32) -> Self {
        const END_OF_9999: Duration = Duration::from_secs(253_402_300_799);
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        Validity {
            not_before: now.saturating_sub(Duration::from_secs(3600)),
            not_after: (now + Duration::from_secs(u64::from(days) * 86_400)).min(END_OF_9999),
        }
    }

    fn apply(&self, params: &mut CertificateParams) {
        // rcgen takes `time` dates; the epoch plus a duration needs no direct `time` dependency.
        let epoch = rcgen::date_time_ymd(1970, 1, 1);
        params.not_before = epoch + self.not_before;
        params.not_after = epoch + self.not_after;
    }
}

fn common_name(name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, name);
    dn
}

fn ca_params(name: &str, validity: &Validity) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = common_name(name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    validity.apply(&mut params);
    params
}

fn new_key(what: &str) -> Result<KeyPair, TlsError> {
    KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
        .map_err(|error| TlsError::Generate { what: what.to_owned(), error })
}

/// An existing CA: its certificate (for the issuer name) and the key that signs.
fn load_ca(cert_path: &Path, key_path: &Path) -> Result<Issuer<'static, KeyPair>, TlsError> {
    let cert_pem = private_dir::read(cert_path, "CA certificate")?;
    let key_pem = private_dir::read(key_path, "CA private key")?;
    let bad = |what, path: &Path, problem: String| TlsError::Pem { what, path: path.to_owned(), problem };
    let key = KeyPair::from_pem(&key_pem).map_err(|e| bad("CA private key", key_path, e.to_string()))?;
    let der = CertificateDer::from_pem_slice(cert_pem.as_bytes())
        .map_err(|_| bad("CA certificate", cert_path, "no PEM certificate in it".into()))?;
    // The certificate holds its subject's public key verbatim; a key that signs for this CA must
    // have exactly that public key, or nothing signed with it would verify.
    let spki = key.subject_public_key_info();
    if !der.windows(spki.len()).any(|w| w == spki.as_slice()) {
        return Err(TlsError::CaKeyMismatch { cert: cert_path.to_owned(), key: key_path.to_owned() });
    }
    Issuer::from_ca_cert_der(&der, key).map_err(|e| bad("CA certificate", cert_path, e.to_string()))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn request(dir: &Path) -> CertsRequest {
        CertsRequest {
            servers: vec!["collector.example".into(), "127.0.0.1".into()],
            clients: vec!["node-1".into(), "node-2".into()],
            ..CertsRequest::new(dir)
        }
    }

    #[test]
    fn writes_ca_server_and_clients_with_private_keys() {
        let dir = tempfile::tempdir().unwrap();
        let made = create(&request(dir.path())).unwrap();
        assert!(!made.ca_reused);
        let names: Vec<_> = made.files.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
        assert_eq!(
            names,
            [
                "ca.crt",
                "ca.key",
                "server.crt",
                "server.key",
                "client-node-1.crt",
                "client-node-1.key",
                "client-node-2.crt",
                "client-node-2.key"
            ]
        );
        for f in &made.files {
            let mode = std::fs::metadata(f).unwrap().permissions().mode() & 0o777;
            if f.extension().unwrap() == "key" {
                assert_eq!(mode, 0o600, "{}", f.display());
            }
            let pem = std::fs::read_to_string(f).unwrap();
            assert!(pem.starts_with("-----BEGIN"), "{}", f.display());
        }
    }

    #[test]
    fn refuses_to_overwrite_unless_forced_and_reuses_the_ca() {
        let dir = tempfile::tempdir().unwrap();
        create(&request(dir.path())).unwrap();
        let ca_before = std::fs::read(dir.path().join("ca.crt")).unwrap();
        let server_before = std::fs::read(dir.path().join("server.crt")).unwrap();

        let err = create(&request(dir.path())).unwrap_err();
        assert!(matches!(&err, TlsError::Exists { path } if path.ends_with("server.crt")), "{err}");
        assert_eq!(std::fs::read(dir.path().join("server.crt")).unwrap(), server_before, "nothing written");

        let made = create(&CertsRequest { force: true, ca_name: "other".into(), ..request(dir.path()) }).unwrap();
        assert!(made.ca_reused);
        assert!(!made.files.contains(&made.ca_cert));
        assert_eq!(std::fs::read(dir.path().join("ca.crt")).unwrap(), ca_before, "the CA is never rewritten");
        assert_ne!(std::fs::read(dir.path().join("server.crt")).unwrap(), server_before);

        // A new client alone does not touch the existing server files.
        let more = CertsRequest { clients: vec!["node-3".into()], ..CertsRequest::new(dir.path()) };
        assert_eq!(create(&more).unwrap().files.len(), 2);
    }

    #[test]
    fn ca_problems_are_named() {
        let dir = tempfile::tempdir().unwrap();
        create(&CertsRequest::new(dir.path())).unwrap();
        let other = tempfile::tempdir().unwrap();
        create(&CertsRequest::new(other.path())).unwrap();
        std::fs::copy(other.path().join("ca.key"), dir.path().join("ca.key")).unwrap();
        let err = create(&request(dir.path())).unwrap_err().to_string();
        assert!(err.contains("does not belong to the CA certificate") && err.contains("ca.crt"), "{err}");

        std::fs::remove_file(dir.path().join("ca.key")).unwrap();
        let err = create(&request(dir.path())).unwrap_err().to_string();
        assert!(err.contains("ca.crt exists but") && err.contains("ca.key does not"), "{err}");

        std::fs::write(dir.path().join("ca.key"), "not a key").unwrap();
        let err = create(&request(dir.path())).unwrap_err().to_string();
        assert!(err.contains("CA private key") && err.contains("ca.key"), "{err}");
    }

    #[test]
    fn validity_runs_from_an_hour_ago_for_the_days_asked() {
        let dir = tempfile::tempdir().unwrap();
        let made = create(&CertsRequest { days: 30, clients: vec!["a".into()], ..CertsRequest::new(dir.path()) });
        assert!(made.is_ok());
        let v = Validity::days(30);
        assert_eq!(v.not_after - v.not_before, Duration::from_secs(30 * 86_400 + 3600));
        // Any number of days gives a certificate, ending with year 9999 at the latest.
        let made = create(&CertsRequest { days: u32::MAX, clients: vec!["b".into()], ..CertsRequest::new(dir.path()) });
        assert!(made.is_ok(), "{made:?}");
    }

    #[test]
    fn names_must_be_dns_names_or_addresses() {
        let dir = tempfile::tempdir().unwrap();
        for bad in ["../evil", "a b", ""] {
            let req = CertsRequest { clients: vec![bad.into()], ..CertsRequest::new(dir.path()) };
            let err = create(&req).unwrap_err().to_string();
            assert!(err.contains(&format!("'{bad}'")) && err.contains("DNS name or an IP address"), "{err}");
        }
        assert!(!dir.path().join("ca.crt").exists(), "nothing written for a bad request");
    }

    /// Issue #20: a CA another user planted was reused, so the certificates it signed were trusted.
    #[test]
    fn a_ca_planted_by_another_user_does_not_sign() {
        let dir = tempfile::tempdir().unwrap();
        create(&CertsRequest::new(dir.path())).unwrap();
        for f in ["ca.crt", "ca.key"] {
            std::os::unix::fs::chown(dir.path().join(f), Some(65534), Some(65534)).unwrap();
        }
        let err = create(&request(dir.path())).unwrap_err().to_string();
        assert!(err.contains("ca.crt") && err.contains("owned by uid 65534"), "{err}");
        assert!(!dir.path().join("server.crt").exists());
    }

    /// Issue #20: the default was /tmp/flowctl-aggregator-certs, which any local user can make first.
    #[test]
    fn the_default_directory_is_private_to_the_service_or_the_user() {
        let os = |s: &str| Some(OsString::from(s));
        let dir = |root, state, runtime| default_dir_for(root, state, runtime).map_err(|e| e.to_string());
        assert_eq!(dir(true, os("/var/lib/flowctl:/var/lib/other"), None), Ok("/var/lib/flowctl/certs".into()));
        assert_eq!(dir(false, os("/srv/state"), os("/run/user/1000")), Ok("/srv/state/certs".into()));
        assert_eq!(dir(true, None, os("/run/user/0")), Ok("/var/lib/flowctl/certs".into()));
        assert_eq!(dir(false, None, os("/run/user/1000")), Ok("/run/user/1000/flowctl".into()));
        for (state, runtime) in [(None, None), (os(""), os("relative"))] {
            let err = dir(false, state, runtime).unwrap_err();
            assert!(err.contains("--cert-dir"), "{err}");
        }
    }
}
