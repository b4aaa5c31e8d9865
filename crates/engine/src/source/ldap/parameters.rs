//! A directory connector's parameter block, checked: every problem named,
//! no parameter accepted and ignored.

use serde_json::Value;

use crate::error::{EngineError, Result};

/// Which directory the connector reads: decides the incremental mark and defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectoryKind {
    OpenLdap,
    ActiveDirectory,
    Generic,
}

impl DirectoryKind {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "openldap" => Some(Self::OpenLdap),
            "active_directory" => Some(Self::ActiveDirectory),
            "generic" => Some(Self::Generic),
            _ => None,
        }
    }
}

/// The parameters of a directory connector, secrets merged in.
#[derive(Debug, Clone)]
pub struct LdapParameters {
    pub url: String,
    pub start_tls: bool,
    /// A PEM file of the CA to trust, in the connector's folder (made
    /// absolute when a run prepares); otherwise the system's CAs.
    pub ca_file: Option<String>,
    /// Anonymous when absent.
    pub bind_dn: Option<String>,
    pub base_dn: String,
    pub user_filter: String,
    pub group_filter: String,
    pub page_size: i32,
    pub directory_kind: DirectoryKind,
    /// The attribute that identifies an entry for good (`entryUUID`, AD's `objectGUID`).
    pub id_attribute: String,
}

/// Every key a directory connector's block may hold.
const KNOWN: [&str; 11] = [
    "url",
    "start_tls",
    "ca_file",
    "bind_dn",
    "bind_password",
    "base_dn",
    "user_filter",
    "group_filter",
    "page_size",
    "directory_kind",
    "id_attribute",
];

/// The largest page a server is asked for.
const MAX_PAGE: u64 = 10_000;

/// Checks a directory connector's parameters (secrets merged in); all problems at once.
pub fn check(params: &Value) -> Result<LdapParameters> {
    let mut problems: Vec<String> = Vec::new();
    let empty = serde_json::Map::new();
    let obj = params.as_object().unwrap_or(&empty);
    for key in obj.keys() {
        if !KNOWN.contains(&key.as_str()) {
            problems.push(format!(
                "'{key}' is not a directory connector parameter (known: {})",
                KNOWN.join(", ")
            ));
        }
    }
    let text = |key: &str, problems: &mut Vec<String>| -> Option<String> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) => Some(s.trim().to_string()),
            Some(_) => {
                problems.push(format!("{key} must be text"));
                None
            }
        }
    };
    let url = text("url", &mut problems);
    match url.as_deref() {
        None => problems.push("url is missing: give ldap://host:389 or ldaps://host:636".into()),
        Some(u) if !(u.starts_with("ldap://") || u.starts_with("ldaps://")) => {
            problems.push(format!("url '{u}' must start with ldap:// or ldaps://"))
        }
        Some(_) => {}
    }
    let start_tls = match obj.get("start_tls") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            problems.push("start_tls must be true or false".into());
            false
        }
    };
    if start_tls && url.as_deref().is_some_and(|u| u.starts_with("ldaps://")) {
        problems.push("start_tls is for ldap:// addresses; an ldaps:// address is encrypted already".into());
    }
    let ca_file = text("ca_file", &mut problems);
    if let Some(path) = ca_file.as_deref().filter(|p| !crate::rules::confined(p)) {
        problems.push(format!(
            "ca_file '{path}' must name a file in the connector's folder, relative to it (e.g. ca.pem): \
             a parameter block, or a package, never points the connector at other files of this machine"
        ));
    }
    let bind_dn = text("bind_dn", &mut problems);
    let has_password = matches!(obj.get("bind_password"), Some(Value::String(s)) if !s.is_empty());
    if bind_dn.is_some() && !has_password {
        problems.push("bind_dn is given without bind_password (a secret parameter)".into());
    }
    if bind_dn.is_none() && has_password {
        problems.push("bind_password is given without bind_dn".into());
    }
    let base_dn = text("base_dn", &mut problems);
    if base_dn.is_none() {
        problems.push("base_dn is missing: where in the directory to read (e.g. dc=example,dc=com)".into());
    }
    let directory_kind = match text("directory_kind", &mut problems) {
        None => DirectoryKind::Generic,
        Some(k) => DirectoryKind::parse(&k).unwrap_or_else(|| {
            problems.push(format!(
                "directory_kind '{k}' is not one of openldap, active_directory, generic"
            ));
            DirectoryKind::Generic
        }),
    };
    let ad = directory_kind == DirectoryKind::ActiveDirectory;
    let mut filter = |key: &str, default: &str| {
        let f = text(key, &mut problems).unwrap_or_else(|| default.to_string());
        if let Err(why) = check_filter(&f) {
            problems.push(format!("{key} '{f}' {why}"));
        }
        f
    };
    let user_filter = filter(
        "user_filter",
        if ad {
            "(&(objectCategory=person)(objectClass=user))"
        } else {
            "(objectClass=inetOrgPerson)"
        },
    );
    let group_filter = filter(
        "group_filter",
        if ad {
            "(objectClass=group)"
        } else {
            "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))"
        },
    );
    let page_size = match obj.get("page_size") {
        None | Some(Value::Null) => 500,
        Some(v) => match v.as_u64() {
            Some(n) if (1..=MAX_PAGE).contains(&n) => n as i32,
            _ => {
                problems.push(format!("page_size must be a whole number from 1 to {MAX_PAGE}"));
                500
            }
        },
    };
    let id_attribute = text("id_attribute", &mut problems)
        .unwrap_or_else(|| if ad { "objectGUID" } else { "entryUUID" }.to_string());
    if !problems.is_empty() {
        return Err(EngineError::invalid(
            "parameters",
            format!(
                "the directory connector's parameters need fixing:\n  - {}",
                problems.join("\n  - ")
            ),
        ));
    }
    Ok(LdapParameters {
        url: url.unwrap_or_default(),
        start_tls,
        ca_file,
        bind_dn,
        base_dn: base_dn.unwrap_or_default(),
        user_filter,
        group_filter,
        page_size,
        directory_kind,
        id_attribute,
    })
}

/// A search filter's outer shape: parenthesized, balanced, nothing outside.
pub(super) fn check_filter(f: &str) -> std::result::Result<(), &'static str> {
    if !f.starts_with('(') || !f.ends_with(')') {
        return Err("must be enclosed in parentheses, as (objectClass=person)");
    }
    let mut depth = 0i32;
    let mut escaped = false;
    for (i, c) in f.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 || (depth == 0 && i + 1 != f.len()) {
                    return Err("has unbalanced parentheses");
                }
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err("has unbalanced parentheses");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_problem_is_named_at_once() {
        let e = check(&json!({
            "url": "http://dir", "start_tls": "yes", "bind_dn": "cn=admin",
            "user_filter": "objectClass=person", "page_size": 0, "colour": "blue"
        }))
        .unwrap_err()
        .to_string();
        for part in [
            "'colour' is not a directory connector parameter",
            "url 'http://dir' must start with ldap:// or ldaps://",
            "start_tls must be true or false",
            "bind_dn is given without bind_password",
            "base_dn is missing",
            "user_filter 'objectClass=person' must be enclosed in parentheses",
            "page_size must be a whole number from 1 to 10000",
        ] {
            assert!(e.contains(part), "{part} not in {e}");
        }
    }

    #[test]
    fn defaults_follow_the_directory_kind() {
        let p = check(
            &json!({"url": "ldap://127.0.0.1:389", "base_dn": "dc=example,dc=com",
            "directory_kind": "active_directory"}),
        )
        .unwrap();
        assert_eq!(p.id_attribute, "objectGUID");
        assert_eq!(p.page_size, 500);
        assert!(p.user_filter.contains("objectCategory=person"));
        let p = check(&json!({"url": "ldap://127.0.0.1:389", "base_dn": "dc=example,dc=com"})).unwrap();
        assert_eq!(
            (p.id_attribute.as_str(), p.directory_kind),
            ("entryUUID", DirectoryKind::Generic)
        );
        assert!(check_filter("(&(a=b)(c=d))").is_ok());
        assert!(check_filter("(a=b))(").is_err());
        assert!(check_filter("(a=\\29)").is_ok());
    }
}
