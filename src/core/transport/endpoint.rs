//! Where to listen or send: the two address forms flowctl accepts, parsed into one [`Endpoint`].
//!
//! - URLs: `udp://HOST:PORT`, `tcp://HOST:PORT`, `tls://HOST:PORT` (flowctl's own listen form).
//! - Antrea's collector address: `HOST:PORT[:PROTO]` with PROTO `tcp` (the default), `udp` or
//!   `tls`, as in the Flow Exporter's `flowCollectorAddr`.
//!
//! A listener ([`Endpoint::parse_listen`]) also takes `PORT` and `:PORT` (every IPv4 address, as
//! the default listeners do), and reads `HOST:PORT` and `PORT` without a protocol as UDP *and* TCP,
//! like the default; a sender keeps Antrea's reading of `HOST:PORT` as TCP.
//!
//! In both, IPv6 addresses go in brackets (`[fd00::1]:4739`), the port defaults to 4739 (IANA's
//! IPFIX port) when left out, and an empty host means every local address (`udp://:4739`). Host
//! names are resolved when parsing; the first address the resolver gives is used.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::str::FromStr;

use super::TransportError;

/// IANA's port for IPFIX over UDP, TCP and TLS (RFC 7011 §10.3).
pub const DEFAULT_PORT: u16 = 4739;

/// What the forms accept, quoted in every parse error.
const FORMS: &str = "expected udp://HOST:PORT, tcp://HOST:PORT, tls://HOST:PORT or HOST:PORT[:udp|tcp|tls]";

/// What a listener's address accepts, quoted in its parse errors.
const LISTEN_FORMS: &str =
    "expected PORT, :PORT, HOST:PORT, HOST:PORT:udp|tcp|tls, udp://HOST:PORT, tcp://HOST:PORT or tls://HOST:PORT";

/// A transport and a socket address: where a collector listens or where an exporter sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Udp(SocketAddr),
    Tcp(SocketAddr),
    Tls(SocketAddr),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Proto {
    Udp,
    Tcp,
    Tls,
}

/// An endpoint string taken apart, before the host is resolved.
struct Parts<'a> {
    proto: Proto,
    host: &'a str,
    port: u16,
}

impl Endpoint {
    pub fn addr(&self) -> SocketAddr {
        match *self {
            Endpoint::Udp(a) | Endpoint::Tcp(a) | Endpoint::Tls(a) => a,
        }
    }

    /// The IP protocol number of the transport: 17 for UDP, 6 for TCP and TLS.
    pub fn ip_protocol(&self) -> u8 {
        match self {
            Endpoint::Udp(_) => 17,
            Endpoint::Tcp(_) | Endpoint::Tls(_) => 6,
        }
    }

    /// `udp`, `tcp` or `tls`.
    pub fn scheme(&self) -> &'static str {
        match self {
            Endpoint::Udp(_) => "udp",
            Endpoint::Tcp(_) => "tcp",
            Endpoint::Tls(_) => "tls",
        }
    }

    /// The host name in an endpoint string, when it is a name rather than an IP address.
    ///
    /// An [`Endpoint`] keeps only the resolved address, but a TLS client must check the server's
    /// certificate against the name it asked for: `tls://collector.example:4739` is verified as
    /// `collector.example`, not as whatever address that name resolved to.
    pub fn host_name(input: &str) -> Option<&str> {
        let parts = split(input).ok()?;
        (!parts.host.is_empty() && parts.host.parse::<IpAddr>().is_err()).then_some(parts.host)
    }

    /// Reads a listener's address: one endpoint when it names its protocol, else a UDP and a TCP
    /// listener on the same address. A bare `PORT` or `:PORT` listens on every IPv4 address.
    pub fn parse_listen(input: &str) -> Result<Vec<Endpoint>, TransportError> {
        let s = input.trim();
        let named_proto = s.contains("://") || s.rsplit_once(':').is_some_and(|(_, last)| proto(last).is_some());
        let port_only = s.strip_prefix(':').unwrap_or(s);
        let endpoint = if !port_only.is_empty() && port_only.bytes().all(|b| b.is_ascii_digit()) {
            let port = port(input, port_only)?;
            Endpoint::Tcp(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port))
        } else {
            s.parse::<Endpoint>().map_err(|e| match e {
                TransportError::Address { input, problem } => {
                    TransportError::Address { problem: problem.replace(FORMS, LISTEN_FORMS), input }
                }
                other => other,
            })?
        };
        Ok(if named_proto {
            vec![endpoint]
        } else {
            vec![Endpoint::Udp(endpoint.addr()), Endpoint::Tcp(endpoint.addr())]
        })
    }

    fn new(proto: Proto, addr: SocketAddr) -> Self {
        match proto {
            Proto::Udp => Endpoint::Udp(addr),
            Proto::Tcp => Endpoint::Tcp(addr),
            Proto::Tls => Endpoint::Tls(addr),
        }
    }
}

impl fmt::Display for Endpoint {
    /// The URL form, which `FromStr` reads back: `udp://127.0.0.1:4739`, `tls://[::1]:4739`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme(), self.addr())
    }
}

impl FromStr for Endpoint {
    type Err = TransportError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let Parts { proto, host, port } = split(input)?;
        if host.is_empty() {
            return Ok(Endpoint::new(proto, SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port)));
        }
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(Endpoint::new(proto, SocketAddr::new(ip, port)));
        }
        // The resolver reads `4739` as the address 0.0.18.131: a number alone is a port given
        // where HOST:PORT was expected, never a host.
        if host.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(input, format!("'{host}' is a port, not a host; give HOST:{host}")));
        }
        let resolve_error = |io| TransportError::Resolve { input: input.to_owned(), host: host.to_owned(), io };
        let addr = (host, port)
            .to_socket_addrs()
            .map_err(resolve_error)?
            .next()
            .ok_or_else(|| resolve_error(std::io::Error::other("the name has no addresses")))?;
        Ok(Endpoint::new(proto, addr))
    }
}

fn invalid(input: &str, problem: impl Into<String>) -> TransportError {
    TransportError::Address { input: input.to_owned(), problem: problem.into() }
}

/// Takes an endpoint string apart into protocol, host (brackets removed, not yet resolved) and port.
fn split(input: &str) -> Result<Parts<'_>, TransportError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(invalid(input, format!("the address is empty; {FORMS}")));
    }
    if let Some((scheme, rest)) = s.split_once("://") {
        let proto = proto(scheme).ok_or_else(|| invalid(input, format!("unknown scheme '{scheme}://'; {FORMS}")))?;
        let (host, after) = host(input, rest)?;
        let port = match after {
            None => DEFAULT_PORT,
            Some(p) => port(input, p)?,
        };
        return Ok(Parts { proto, host, port });
    }
    // Antrea's HOST:PORT[:PROTO].
    let (host, after) = host(input, s)?;
    let Some(after) = after else {
        return Ok(Parts { proto: Proto::Tcp, host, port: DEFAULT_PORT });
    };
    let (port_str, proto_str) = match after.split_once(':') {
        Some((p, q)) => (p, Some(q)),
        None => (after, None),
    };
    let port = if port_str.is_empty() { DEFAULT_PORT } else { port(input, port_str)? };
    let proto = match proto_str {
        None => Proto::Tcp,
        Some(q) => proto(q).ok_or_else(|| {
            invalid(input, format!("unknown transport '{q}' after the port; expected udp, tcp or tls"))
        })?,
    };
    Ok(Parts { proto, host, port })
}

fn proto(s: &str) -> Option<Proto> {
    [("udp", Proto::Udp), ("tcp", Proto::Tcp), ("tls", Proto::Tls)]
        .into_iter()
        .find_map(|(name, p)| s.eq_ignore_ascii_case(name).then_some(p))
}

/// Splits `HOST[:REST]` or `[V6][:REST]`; returns the host and what follows its colon, if any.
fn host<'a>(input: &str, s: &'a str) -> Result<(&'a str, Option<&'a str>), TransportError> {
    if let Some(bracketed) = s.strip_prefix('[') {
        let (inside, rest) = bracketed
            .split_once(']')
            .ok_or_else(|| invalid(input, "'[' without a closing ']'; expected [IPv6]:PORT"))?;
        if inside.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(invalid(input, format!("'{inside}' in brackets is not an IPv6 address")));
        }
        return match rest {
            "" => Ok((inside, None)),
            r => match r.strip_prefix(':') {
                Some(after) => Ok((inside, Some(after))),
                None => Err(invalid(input, format!("expected ':' and a port after ']', found '{r}'"))),
            },
        };
    }
    match s.split_once(':') {
        None => Ok((s, None)),
        Some((h, after)) => {
            // More colons than HOST:PORT:PROTO allows, or an IPv6 address, means unbracketed IPv6.
            if after.matches(':').count() > 1 || s.parse::<std::net::Ipv6Addr>().is_ok() {
                return Err(invalid(input, "IPv6 addresses go in brackets, as in [fd00::1]:4739"));
            }
            if h.contains('/') {
                return Err(invalid(input, format!("'{h}' is not a host name or an IP address; {FORMS}")));
            }
            Ok((h, Some(after)))
        }
    }
}

fn port(input: &str, s: &str) -> Result<u16, TransportError> {
    s.parse::<u16>().map_err(|_| invalid(input, format!("expected a port number (0-65535) after ':', found '{s}'")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Endpoint {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn err(s: &str) -> String {
        match s.parse::<Endpoint>() {
            Ok(e) => panic!("{s} parsed as {e}"),
            Err(e) => e.to_string(),
        }
    }

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn url_forms() {
        assert_eq!(ok("udp://127.0.0.1:4739"), Endpoint::Udp(sa("127.0.0.1:4739")));
        assert_eq!(ok("tcp://10.0.0.1:9995"), Endpoint::Tcp(sa("10.0.0.1:9995")));
        assert_eq!(ok("tls://192.0.2.7:4740"), Endpoint::Tls(sa("192.0.2.7:4740")));
        assert_eq!(ok("UDP://127.0.0.1:1"), Endpoint::Udp(sa("127.0.0.1:1")));
        assert_eq!(ok("udp://127.0.0.1"), Endpoint::Udp(sa("127.0.0.1:4739")));
        assert_eq!(ok("udp://:2055"), Endpoint::Udp(sa("0.0.0.0:2055")));
        assert_eq!(ok("tcp://127.0.0.1:0"), Endpoint::Tcp(sa("127.0.0.1:0")));
    }

    #[test]
    fn antrea_forms() {
        assert_eq!(ok("10.0.0.1:4739:udp"), Endpoint::Udp(sa("10.0.0.1:4739")));
        assert_eq!(ok("10.0.0.1:4739:tls"), Endpoint::Tls(sa("10.0.0.1:4739")));
        assert_eq!(ok("10.0.0.1:4739:TCP"), Endpoint::Tcp(sa("10.0.0.1:4739")));
        assert_eq!(ok("10.0.0.1:4739"), Endpoint::Tcp(sa("10.0.0.1:4739")), "default proto is tcp");
        assert_eq!(ok("10.0.0.1"), Endpoint::Tcp(sa("10.0.0.1:4739")), "default port is 4739");
        assert_eq!(ok("10.0.0.1::udp"), Endpoint::Udp(sa("10.0.0.1:4739")), "empty port is the default");
    }

    #[test]
    fn ipv6_in_brackets() {
        assert_eq!(ok("udp://[::1]:4739"), Endpoint::Udp(sa("[::1]:4739")));
        assert_eq!(ok("tls://[fd00::5]"), Endpoint::Tls(sa("[fd00::5]:4739")));
        assert_eq!(ok("[fd00::1]:4740:udp"), Endpoint::Udp(sa("[fd00::1]:4740")));
        assert_eq!(ok("[fd00::1]:4740"), Endpoint::Tcp(sa("[fd00::1]:4740")));
        assert_eq!(ok("[fd00::1]"), Endpoint::Tcp(sa("[fd00::1]:4739")));
    }

    #[test]
    fn host_names_are_resolved() {
        let e = ok("tcp://localhost:4739");
        assert!(e.addr().ip().is_loopback(), "{e}");
        assert_eq!(e.addr().port(), 4739);
        assert!(matches!(ok("localhost:9:udp"), Endpoint::Udp(a) if a.port() == 9));
        assert_eq!(Endpoint::host_name("tls://localhost:4739"), Some("localhost"));
        assert_eq!(Endpoint::host_name("collector.example:4739:tls"), Some("collector.example"));
        assert_eq!(Endpoint::host_name("tls://127.0.0.1:4739"), None);
        assert_eq!(Endpoint::host_name("[::1]:4739"), None);
        assert_eq!(Endpoint::host_name("udp://:4739"), None);
    }

    fn listen(s: &str) -> Vec<Endpoint> {
        Endpoint::parse_listen(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    /// Issue #22 (3): `collect -l 4739` listened on tcp://0.0.18.131:4739.
    #[test]
    fn a_listeners_bare_port_is_udp_and_tcp_on_every_address() {
        let both = |a: &str| vec![Endpoint::Udp(sa(a)), Endpoint::Tcp(sa(a))];
        assert_eq!(listen("4739"), both("0.0.0.0:4739"));
        assert_eq!(listen(":2055"), both("0.0.0.0:2055"));
        assert_eq!(listen("127.0.0.1:9995"), both("127.0.0.1:9995"));
        assert_eq!(listen("[::1]:9995"), both("[::1]:9995"));
        assert_eq!(listen("127.0.0.1"), both("127.0.0.1:4739"));
        assert_eq!(listen("127.0.0.1:9995:udp"), vec![Endpoint::Udp(sa("127.0.0.1:9995"))]);
        assert_eq!(listen("127.0.0.1:9995:tcp"), vec![Endpoint::Tcp(sa("127.0.0.1:9995"))]);
        assert_eq!(listen("tls://127.0.0.1:4740"), vec![Endpoint::Tls(sa("127.0.0.1:4740"))]);
        assert_eq!(listen("tcp://:4739"), vec![Endpoint::Tcp(sa("0.0.0.0:4739"))]);
        let e = Endpoint::parse_listen("99999").unwrap_err().to_string();
        assert!(e.contains("'99999'") && e.contains("port number"), "{e}");
        let e = Endpoint::parse_listen("http://x:1").unwrap_err().to_string();
        assert!(e.contains("PORT, :PORT, HOST:PORT"), "{e}");
    }

    /// Issue #22 (3): a sender's `4739` went to 0.0.18.131; a number alone is not a host.
    #[test]
    fn a_number_alone_is_not_a_host() {
        let e = err("4739");
        assert!(e.contains("'4739' is a port, not a host"), "{e}");
        let e = err("tcp://4739");
        assert!(e.contains("is a port, not a host"), "{e}");
        assert_eq!(ok("10.0.0.1:4739"), Endpoint::Tcp(sa("10.0.0.1:4739")), "a sender's HOST:PORT stays tcp");
    }

    #[test]
    fn display_is_the_url_form_and_reads_back() {
        for s in ["udp://127.0.0.1:4739", "tcp://[::1]:9995", "tls://0.0.0.0:0"] {
            let e = ok(s);
            assert_eq!(e.to_string(), s);
            assert_eq!(ok(&e.to_string()), e);
        }
        assert_eq!(ok("10.1.2.3:4739:tls").to_string(), "tls://10.1.2.3:4739");
    }

    #[test]
    fn errors_name_the_input_and_what_was_expected() {
        let e = err("");
        assert!(e.contains("empty") && e.contains("udp://HOST:PORT"), "{e}");
        let e = err("http://1.2.3.4:80");
        assert!(e.contains("'http://1.2.3.4:80'") && e.contains("unknown scheme 'http://'"), "{e}");
        let e = err("udp://1.2.3.4:99999");
        assert!(e.contains("'udp://1.2.3.4:99999'") && e.contains("port number") && e.contains("99999"), "{e}");
        let e = err("1.2.3.4:4739:sctp");
        assert!(e.contains("unknown transport 'sctp'") && e.contains("udp, tcp or tls"), "{e}");
        let e = err("fd00::1:4739");
        assert!(e.contains("brackets"), "{e}");
        let e = err("udp://fd00::1");
        assert!(e.contains("brackets"), "{e}");
        let e = err("[fd00::1:4739");
        assert!(e.contains("closing ']'"), "{e}");
        let e = err("[fd00::1]4739");
        assert!(e.contains("after ']'"), "{e}");
        let e = err("[1.2.3.4]:4739");
        assert!(e.contains("not an IPv6 address"), "{e}");
        let e = err("tcp://host:80/path");
        assert!(e.contains("'80/path'"), "{e}");
        let e = err("1.2.3.4:http");
        assert!(e.contains("found 'http'"), "{e}");
        let e = err("tcp://no-such-host.invalid:4739");
        assert!(
            e.contains("cannot resolve 'no-such-host.invalid'") && e.contains("tcp://no-such-host.invalid:4739"),
            "{e}"
        );
    }
}
