//! "Test connection" of a directory connector: connect (TLS as configured),
//! bind, find the base DN, and count what the user and group filters
//! match, so a wrong password, an untrusted certificate, a misspelt base or
//! a filter that matches nothing is found before the first run.

use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::{Ldap, Scope};

use super::{read, LdapParameters};
use crate::model::DirectoryCheck;
use crate::secrets::Sensitive;

/// Counting stops here: the test says "at least" rather than read a whole large directory.
const COUNT_CAP: u64 = 10_000;

pub async fn test(
    params: &LdapParameters,
    password: Option<&Sensitive<String>>,
) -> Result<DirectoryCheck, String> {
    let mut ldap = read::connect(params, password)
        .await
        .map_err(|why| advice(&why))?;
    let found = ldap
        .search(&params.base_dn, Scope::Base, "(objectClass=*)", vec!["1.1"])
        .await
        .map_err(|e| format!("reading base_dn '{}' failed: {e}", params.base_dn))?;
    if found.1.rc == 32 {
        return Err(format!(
            "base_dn '{}' does not exist on {}: check its spelling",
            params.base_dn, params.url
        ));
    }
    if found.1.rc != 0 {
        return Err(format!(
            "reading base_dn '{}' failed: result code {} ({})",
            params.base_dn, found.1.rc, found.1.text
        ));
    }
    let users = count(&mut ldap, params, &params.user_filter).await?;
    let groups = count(&mut ldap, params, &params.group_filter).await?;
    let _ = ldap.unbind().await;
    let tls = if params.url.starts_with("ldaps://") {
        "LDAPS"
    } else if params.start_tls {
        "StartTLS"
    } else {
        "none"
    };
    let mut warnings = Vec::new();
    if users.0 == 0 {
        warnings.push(format!(
            "user_filter {} matches no entry under '{}': a full read would fail rather than mark every user removed",
            params.user_filter, params.base_dn
        ));
    }
    if tls == "none" {
        warnings
            .push("the connection is not encrypted: use ldaps:// or start_tls outside a test network".into());
    }
    let certificate = super::certificate::server_certificate(params).await?;
    if let Some(c) = certificate.as_ref().filter(|c| c.days_left < 30) {
        warnings.push(format!(
            "the server's certificate ({}) expires on {}: in {} days; renew it before the reads start failing",
            c.subject, c.expires, c.days_left
        ));
    }
    Ok(DirectoryCheck {
        url: params.url.clone(),
        tls: match (tls, &params.ca_file) {
            ("none", _) => "none".into(),
            (kind, Some(_)) => format!("{kind}, the server's certificate trusted through ca_file"),
            (kind, None) => format!("{kind}, the server's certificate trusted by the system's CAs"),
        },
        bound_as: params.bind_dn.clone().unwrap_or_else(|| "anonymous".into()),
        base_dn: params.base_dn.clone(),
        users: users.0,
        users_capped: users.1,
        groups: groups.0,
        groups_capped: groups.1,
        certificate,
        warnings,
    })
}

/// How many entries a filter matches (paged, names only), up to the cap.
async fn count(ldap: &mut Ldap, params: &LdapParameters, filter: &str) -> Result<(u64, bool), String> {
    let adapters: Vec<Box<dyn Adapter<_, _>>> = vec![
        Box::new(EntriesOnly::new()),
        Box::new(PagedResults::new(params.page_size)),
    ];
    let mut search = ldap
        .streaming_search_with(adapters, &params.base_dn, Scope::Subtree, filter, vec!["1.1"])
        .await
        .map_err(|e| format!("the search with {filter} failed: {e}"))?;
    let mut n = 0u64;
    while let Some(_entry) = search
        .next()
        .await
        .map_err(|e| format!("the search with {filter} failed: {e}"))?
    {
        n += 1;
        if n >= COUNT_CAP {
            // Not read further: the next page is never asked for, and unbinding ends the search.
            drop(search);
            return Ok((n, true));
        }
    }
    let done = search.finish().await;
    if done.rc != 0 {
        return Err(format!(
            "the search with {filter} ended with result code {} ({})",
            done.rc, done.text
        ));
    }
    Ok((n, false))
}

/// A connection error with what to do about it.
pub fn advice(why: &str) -> String {
    let lower = why.to_ascii_lowercase();
    let hint = if lower.contains("certificate") {
        Some("the server's certificate is not trusted (or expired): name its CA in ca_file, a PEM file in the connector's folder")
    } else if lower.contains("invalid credentials") {
        Some("check bind_dn and bind_password")
    } else if lower.contains("connection refused") || lower.contains("timed out") {
        Some("check url: is the server running and reachable from here?")
    } else {
        None
    };
    match hint {
        Some(h) => format!("{why}; {h}"),
        None => why.to_string(),
    }
}
