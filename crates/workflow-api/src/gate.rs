//! What every request passes before any route sees it: its `Host`, its
//! `Origin` and its declared size.
//!
//! A web page the admin visits can make the browser send requests to a name
//! it controls that it then points at 127.0.0.1 (DNS rebinding); such a
//! request arrives with the page's name as `Host`. So only the listen address
//! itself, the loopback names and addresses (with the port) are accepted as
//! `Host`, on every route. A browser's cross-origin request carries an
//! `Origin`; one that is not this API's own is refused, and no CORS header is
//! ever sent, so a page cannot read an answer either. Workflow engines send
//! no `Origin`.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use crate::{error, App};
use provisio_engine::error::ErrorCode;

/// The `Host` values (`name:port`) this API answers to.
#[derive(Debug, Clone)]
pub(crate) struct Hosts {
    port: u16,
    names: Vec<String>,
    /// Listening on every address: any IP literal is this machine (a
    /// rebound name never arrives as an IP literal).
    any_ip: bool,
}

impl Hosts {
    pub(crate) fn of(listen: SocketAddr) -> Hosts {
        let mut names = vec!["localhost".to_string(), "127.0.0.1".into(), "[::1]".into()];
        let own = match listen.ip() {
            IpAddr::V4(ip) => ip.to_string(),
            IpAddr::V6(ip) => format!("[{ip}]"),
        };
        if !names.contains(&own) {
            names.push(own);
        }
        Hosts {
            port: listen.port(),
            names,
            any_ip: listen.ip().is_unspecified(),
        }
    }

    /// Whether `authority` (`name:port`, the port as sent) is this API.
    fn allows(&self, authority: &str) -> bool {
        let authority = authority.trim().to_ascii_lowercase();
        let Some((name, port)) = authority.rsplit_once(':') else {
            return false;
        };
        if port.parse::<u16>().ok() != Some(self.port) {
            return false;
        }
        let name = name.strip_suffix('.').unwrap_or(name);
        self.names.iter().any(|n| n == name)
            || (self.any_ip
                && (name.parse::<std::net::Ipv4Addr>().is_ok()
                    || name
                        .strip_prefix('[')
                        .and_then(|n| n.strip_suffix(']'))
                        .is_some_and(|n| n.parse::<std::net::Ipv6Addr>().is_ok())))
    }

    fn allows_origin(&self, origin: &str) -> bool {
        origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            .is_some_and(|authority| self.allows(authority))
    }
}

/// Refuses a foreign `Host` (421), a foreign `Origin` (403) and a declared
/// body above the limit (413) before anything else is done or read.
pub(crate) async fn check(State(app): State<App>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let host = host.or_else(|| request.uri().authority().map(|a| a.as_str()));
    if !host.is_some_and(|h| app.hosts.allows(h)) {
        return error(
            StatusCode::MISDIRECTED_REQUEST,
            ErrorCode::WrongHost,
            format!(
                "this API answers only to its own address on port {} (localhost, 127.0.0.1, [::1] \
                 or the address it listens on); a request for '{}' is refused",
                app.hosts.port,
                printable(host.unwrap_or("(none)"), 100)
            ),
        );
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        if !app.hosts.allows_origin(origin) {
            return error(
                StatusCode::FORBIDDEN,
                ErrorCode::CrossOrigin,
                format!(
                    "requests from web pages ('{}') are refused; call the API from a workflow engine or a script",
                    printable(origin, 100)
                ),
            );
        }
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > app.limits.body_bytes as u64) {
        return too_large(&app);
    }
    next.run(request).await
}

pub(crate) fn too_large(app: &App) -> Response {
    error(
        StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::TooLarge,
        format!("the body is larger than {} bytes", app.limits.body_bytes),
    )
}

/// At most `max` characters of text a request sent, without control characters, for a message.
pub(crate) fn printable(text: &str, max: usize) -> String {
    text.chars().filter(|c| !c.is_control()).take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_listen_address_and_loopback_names_with_the_port_are_this_api() {
        let hosts = Hosts::of("127.0.0.1:8080".parse().unwrap());
        for ok in ["127.0.0.1:8080", "localhost:8080", "LOCALHOST:8080", "[::1]:8080"] {
            assert!(hosts.allows(ok), "{ok}");
        }
        for refused in [
            "evil.example:8080",
            "127.0.0.1:8081",
            "127.0.0.1",
            "localhost",
            "10.0.0.1:8080",
            "",
        ] {
            assert!(!hosts.allows(refused), "{refused}");
        }
        assert!(hosts.allows_origin("http://localhost:8080"));
        assert!(!hosts.allows_origin("http://evil.example:8080"));
        assert!(!hosts.allows_origin("null"));

        let every = Hosts::of("0.0.0.0:9000".parse().unwrap());
        assert!(every.allows("192.168.1.20:9000") && every.allows("[fe80::1]:9000"));
        assert!(!every.allows("rebound.example:9000"));
    }
}
