//! The directory server's certificate as "Test connection" shows it: who it
//! names, who issued it, and when it expires. The connection is made again
//! on its own, TLS as the connector's parameters say (LDAPS from the first
//! byte; StartTLS after the plain LDAP request that asks for it), trusting
//! what the connector trusts, so a certificate shown is one the reads
//! accept.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::LdapParameters;
use crate::model::ServerCertificate;

const TIMEOUT: Duration = Duration::from_secs(15);

/// The StartTLS extended request (RFC 4511 §4.14.1), message id 1.
const START_TLS: &[u8] = b"\x30\x1d\x02\x01\x01\x77\x18\x80\x161.3.6.1.4.1.1466.20037";

/// `None` when the connection is not encrypted.
pub async fn server_certificate(params: &LdapParameters) -> Result<Option<ServerCertificate>, String> {
    let ldaps = params.url.starts_with("ldaps://");
    if !ldaps && !params.start_tls {
        return Ok(None);
    }
    let (host, port) = host_and_port(&params.url, if ldaps { 636 } else { 389 })?;
    let mut tcp = tokio::time::timeout(TIMEOUT, TcpStream::connect((host.as_str(), port)))
        .await
        .map_err(|_| format!("{host}:{port} did not answer in {} s", TIMEOUT.as_secs()))?
        .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
    if !ldaps {
        tcp.write_all(START_TLS)
            .await
            .map_err(|e| format!("cannot ask {host}:{port} for StartTLS: {e}"))?;
        // The answer is one LDAP message: a SEQUENCE whose length says how much to read.
        let mut head = [0u8; 2];
        tcp.read_exact(&mut head)
            .await
            .map_err(|e| format!("{host}:{port} did not answer the StartTLS request: {e}"))?;
        let len = if head[1] & 0x80 == 0 {
            usize::from(head[1])
        } else {
            let mut n = vec![0u8; usize::from(head[1] & 0x7f).min(4)];
            tcp.read_exact(&mut n).await.map_err(|e| e.to_string())?;
            n.iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
        };
        let mut rest = vec![0u8; len.min(64 * 1024)];
        tcp.read_exact(&mut rest).await.map_err(|e| e.to_string())?;
    }
    let mut builder = native_tls::TlsConnector::builder();
    if let Some(ca) = &params.ca_file {
        let pem = std::fs::read(ca).map_err(|e| format!("cannot read ca_file '{ca}': {e}"))?;
        let cert = native_tls::Certificate::from_pem(&pem).map_err(|e| format!("ca_file '{ca}': {e}"))?;
        builder.add_root_certificate(cert);
    }
    let connector = tokio_native_tls::TlsConnector::from(builder.build().map_err(|e| e.to_string())?);
    let tls = tokio::time::timeout(TIMEOUT, connector.connect(&host, tcp))
        .await
        .map_err(|_| {
            format!(
                "the TLS handshake with {host}:{port} did not end in {} s",
                TIMEOUT.as_secs()
            )
        })?
        .map_err(|e| format!("the TLS handshake with {host}:{port} failed: {e}"))?;
    let der = tls
        .get_ref()
        .peer_certificate()
        .map_err(|e| e.to_string())?
        .ok_or("the server sent no certificate")?
        .to_der()
        .map_err(|e| e.to_string())?;
    describe(&der).map(Some)
}

/// Subject, issuer and expiry of a DER certificate.
fn describe(der: &[u8]) -> Result<ServerCertificate, String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| format!("the server's certificate cannot be read: {e}"))?;
    let expires = cert.validity().not_after.timestamp();
    let days_left = (expires - chrono::Utc::now().timestamp()) / 86_400;
    Ok(ServerCertificate {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        expires: chrono::DateTime::from_timestamp(expires, 0)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default(),
        days_left,
    })
}

/// The host and port of an `ldap://` or `ldaps://` URL.
fn host_and_port(url: &str, default_port: u16) -> Result<(String, u16), String> {
    let rest = url
        .split_once("://")
        .map(|(_, r)| r)
        .ok_or_else(|| format!("'{url}' is not an ldap:// or ldaps:// URL"))?;
    let authority = rest.split('/').next().unwrap_or_default();
    match authority.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && !host.ends_with(']') || port.parse::<u16>().is_ok() => {
            let port = port
                .parse::<u16>()
                .map_err(|_| format!("'{url}' has no valid port"))?;
            Ok((host.trim_matches(['[', ']']).to_string(), port))
        }
        _ => Ok((authority.trim_matches(['[', ']']).to_string(), default_port)),
    }
}

#[cfg(test)]
mod tests {
    use super::host_and_port;

    #[test]
    fn hosts_and_ports_come_from_the_url() {
        assert_eq!(
            host_and_port("ldaps://dc1.example.com", 636).unwrap(),
            ("dc1.example.com".into(), 636)
        );
        assert_eq!(
            host_and_port("ldap://127.0.0.1:3890/", 389).unwrap(),
            ("127.0.0.1".into(), 3890)
        );
        assert!(host_and_port("dc1.example.com", 389).is_err());
    }
}
