//! What a target must be before it is saved: an `esm` target needs a name
//! (not `local`), an http(s) address without credentials in it, a user and a
//! password; the client's pacing must be sensible.

use crate::error::{EngineError, Result};
use crate::model::{TargetInfo, TargetInput, TargetKind, ESM_API_PATH, LOCAL_TARGET};
use crate::secrets::Sensitive;

/// The largest bulk request the client sends (the API's page limit is 200 too).
pub const MAX_BATCH_SIZE: u32 = 200;

/// Checks `TARGET.json`; returns the target to store and its password.
pub fn check_input(input: TargetInput) -> Result<(TargetInfo, Sensitive<String>)> {
    let mut missing = Vec::new();
    for (field, value) in [
        ("name", &input.name),
        ("kind", &input.kind),
        ("base_url", &input.base_url),
        ("user", &input.user),
        ("password", &input.password),
    ] {
        if super::blank(value) {
            missing.push(field.to_string());
        }
    }
    if !missing.is_empty() {
        return Err(EngineError::MissingFields { fields: missing });
    }
    let name = input.name.unwrap_or_default().trim().to_string();
    super::check_name("target", &name)?;
    if name == LOCAL_TARGET {
        return Err(EngineError::invalid(
            "name",
            format!("'{LOCAL_TARGET}' is the built-in datacard store; choose another name"),
        ));
    }
    let kind = input.kind.unwrap_or_default();
    if kind.trim() != TargetKind::Esm.as_str() {
        return Err(EngineError::invalid(
            "kind",
            format!("'{kind}' is not a kind of target that can be added; use esm"),
        ));
    }
    let mut base_url = check_base_url(input.base_url.as_deref().unwrap_or_default())?;
    // An address given with the API's path (as the HR manual's webapi_url often is) is the same solution.
    if input.api_path.is_none() {
        if let Some(stripped) = base_url.strip_suffix(ESM_API_PATH) {
            base_url = stripped.to_string();
        }
    }
    let api_path = match input.api_path.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(p) if p.starts_with('/') && !p.contains(['?', '#']) && !p.contains("..") => Some(p.to_string()),
        Some(p) => {
            return Err(EngineError::invalid(
                "api_path",
                format!("'{p}' must be a path starting with '/' (default {ESM_API_PATH})"),
            ))
        }
    };
    if let Some(size) = input.batch_size {
        if !(1..=MAX_BATCH_SIZE).contains(&size) {
            return Err(EngineError::invalid(
                "batch_size",
                format!("{size} cards per request is outside 1..{MAX_BATCH_SIZE}"),
            ));
        }
    }
    if let Some(rate) = input.requests_per_second {
        if !(rate.is_finite() && rate > 0.0) {
            return Err(EngineError::invalid(
                "requests_per_second",
                format!("{rate} must be a number above 0 (leave it out for no limit)"),
            ));
        }
    }
    let ca_file = input
        .ca_file
        .map(|f| f.trim().to_string())
        .filter(|f| !f.is_empty());
    if let Some(f) = &ca_file {
        if !std::path::Path::new(f).is_absolute() {
            return Err(EngineError::invalid(
                "ca_file",
                format!("'{f}' must be an absolute path"),
            ));
        }
        // Refused now, not at the first load: a file that holds no PEM certificate.
        let text = std::fs::read(f)
            .map_err(|e| EngineError::invalid("ca_file", format!("cannot read '{f}': {e}")))?;
        if !text.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
            return Err(EngineError::invalid(
                "ca_file",
                format!("'{f}' holds no PEM certificate (-----BEGIN CERTIFICATE-----); give the CA's certificate in PEM form"),
            ));
        }
    }
    Ok((
        TargetInfo {
            name,
            kind: TargetKind::Esm,
            base_url: Some(base_url),
            user: Some(input.user.unwrap_or_default().trim().to_string()),
            api_path,
            ca_file,
            batch_size: input.batch_size,
            requests_per_second: input.requests_per_second,
        },
        Sensitive::new(input.password.unwrap_or_default()),
    ))
}

/// Where an HR block's `webapi_url` / `webapi_user` / `webapi_password`
/// disagree with the ESM target the connector writes to (each named; the
/// password never shown). Parameters left out are not compared: the target
/// is what a run uses.
pub fn webapi_differences(params: &serde_json::Value, target: &TargetInfo, password: &str) -> Vec<String> {
    let text = |key: &str| {
        params
            .get(key)
            .and_then(serde_json::Value::as_str)
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let mut differ = Vec::new();
    let address = target.base_url.as_deref().unwrap_or_default();
    if let Some(url) = text("webapi_url") {
        let url = url.trim_end_matches('/');
        let api_path = target.api_path.as_deref().unwrap_or(ESM_API_PATH);
        let same = url == address || url.strip_suffix(api_path) == Some(address);
        if !same {
            differ.push(format!("webapi_url '{url}' is not its address ({address})"));
        }
    }
    let user = target.user.as_deref().unwrap_or_default();
    if let Some(given) = text("webapi_user") {
        if given != user {
            differ.push(format!("webapi_user '{given}' is not its user ('{user}')"));
        }
    }
    if text("webapi_password").is_some_and(|given| given != password) {
        differ.push("webapi_password is not its password".to_string());
    }
    differ
}

/// An http(s) address with a host, no credentials, query or fragment; without a trailing slash.
pub fn check_base_url(text: &str) -> Result<String> {
    let text = text.trim();
    let wrong = |why: &str| EngineError::invalid("base_url", format!("'{text}' {why}"));
    let url = reqwest::Url::parse(text).map_err(|e| wrong(&format!("is not an address ({e})")))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(wrong("must start with https:// (or http://)"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(wrong("has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        // Not echoed: the address holds a password.
        return Err(EngineError::invalid(
            "base_url",
            "the address may not hold a user or password; give them as user and password",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(wrong("may not have a query (?) or fragment (#)"));
    }
    Ok(text.trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> TargetInput {
        TargetInput {
            name: Some("acme-test".into()),
            kind: Some("esm".into()),
            base_url: Some("https://acme.example/".into()),
            user: Some("webapi".into()),
            password: Some("pw".into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_complete_target_passes_and_its_password_stays_apart() {
        let (t, pw) = check_input(input()).unwrap();
        assert_eq!(t.base_url.as_deref(), Some("https://acme.example"));
        assert_eq!(pw.expose(), "pw");
        assert!(!format!("{t:?}{pw:?}").contains("pw\""));
    }

    #[test]
    fn every_missing_field_is_named_and_bad_values_say_what_to_fix() {
        let e = check_input(TargetInput::default()).unwrap_err().to_string();
        for f in ["name", "kind", "base_url", "user", "password"] {
            assert!(e.contains(f), "{e}");
        }
        let mut i = input();
        i.base_url = Some("https://user:secret@acme.example".into());
        let e = check_input(i).unwrap_err().to_string();
        assert!(
            e.contains("may not hold a user or password") && !e.contains("secret"),
            "{e}"
        );
        let mut i = input();
        i.batch_size = Some(0);
        assert!(check_input(i).unwrap_err().to_string().contains("batch_size"));
        let mut i = input();
        i.name = Some("local".into());
        assert!(check_input(i).unwrap_err().to_string().contains("built-in"));
        let mut i = input();
        i.kind = Some("ldap".into());
        assert!(check_input(i).unwrap_err().to_string().contains("use esm"));
    }
}
