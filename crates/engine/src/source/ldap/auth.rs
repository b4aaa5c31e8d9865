//! A directory connector's authentication tasks: who may log in to the
//! solution. A run reads the users the task's filter (and group) select
//! and hands each one's login, realm, DN and whether the account is enabled
//! to the load as one card; `test_login` answers, for one login and
//! password, whether the solution's login page would let that user in.
//!
//! The password is bound with and dropped: it is never written, logged or
//! put in a message. An empty password is refused before any bind, because
//! an LDAP server takes a simple bind without one as an anonymous bind and
//! answers "success".

use super::{read, DirectoryKind, LdapParameters};
use crate::error::{EngineError, Result};
use crate::model::{
    AuthTaskInput, AuthenticationSettings, LoginVerdict, Mapping, RemovalSettings, RunType, TaskInput,
    TaskUsage,
};
use crate::secrets::Sensitive;

/// The fields an authentication read adds to each entry it reads (mapping
/// sources of its task, beside `dn` and the login attribute): `account` is
/// `login@realm`, the card's key, so one person let into two realms has two cards.
pub const ACCOUNT: &str = "account";
pub const REALM: &str = "realm";
pub const ENABLED: &str = "enabled";

/// The built-in template and folder of the local store that authentication tasks write to.
pub const TEMPLATE: &str = "auth_user";
pub const FOLDER: &str = "auth_users";
/// How often an authentication task reads when `AUTH.json` names no schedule.
pub const DEFAULT_SCHEDULE: &str = "0 */15 * * * *";

/// `AUTH.json` as the task it is: a full read of the selected users into
/// the authentication-users template, one card per account, an account that
/// left the selection marked `enabled: false`.
pub fn task_input(input: AuthTaskInput) -> TaskInput {
    let login = input
        .login_attribute
        .clone()
        .unwrap_or_default()
        .trim()
        .to_string();
    let realm = input.realm.clone().unwrap_or_default().trim().to_string();
    let trimmed = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    TaskInput {
        name: input.name,
        usage: Some(TaskUsage::Authentication),
        enabled: Some(input.enabled.unwrap_or(!realm.is_empty())),
        schedule: Some(trimmed(input.schedule).unwrap_or_else(|| DEFAULT_SCHEDULE.into())),
        timezone: input.timezone,
        run_type: Some(RunType::Full),
        object_id_attribute: Some(ACCOUNT.into()),
        target_template: Some(trimmed(input.target_template).unwrap_or_else(|| TEMPLATE.into())),
        target_folder: Some(trimmed(input.target_folder).unwrap_or_else(|| FOLDER.into())),
        task_id_attribute: Some("taskid".into()),
        mappings: Some(
            [
                (ACCOUNT, "account"),
                (login.as_str(), "login"),
                ("dn", "dn"),
                (REALM, "realm"),
                (ENABLED, "enabled"),
            ]
            .into_iter()
            .filter(|(source, _)| !source.is_empty())
            .map(|(source, target)| Mapping {
                source: source.into(),
                target: target.into(),
            })
            .collect(),
        ),
        removal: Some(RemovalSettings {
            status_attribute: "enabled".into(),
            removed_value: "false".into(),
        }),
        authentication: Some(AuthenticationSettings {
            realm,
            user_filter: trimmed(input.user_filter),
            group_dn: trimmed(input.group_dn),
            login_attribute: login,
        }),
        ..TaskInput::default()
    }
}

/// The task back as `AUTH.json` (what `auth-task list --json` and the window's editor show).
pub fn auth_input_of(task: &crate::model::Task) -> AuthTaskInput {
    let a = task.authentication.clone().unwrap_or_default();
    AuthTaskInput {
        name: Some(task.name.clone()),
        realm: Some(a.realm),
        user_filter: a.user_filter,
        group_dn: a.group_dn,
        login_attribute: Some(a.login_attribute),
        enabled: Some(task.enabled),
        schedule: task.schedule.clone(),
        timezone: Some(task.timezone.clone()),
        target_template: Some(task.target_template.clone()),
        target_folder: Some(task.target_folder.clone()),
    }
}

/// Checks an authentication task when it is saved; each problem named.
pub fn check_task(input: &TaskInput) -> Result<()> {
    let Some(a) = &input.authentication else {
        return Err(EngineError::MissingFields {
            fields: vec!["login_attribute".into(), "realm".into()],
        });
    };
    let mut problems = Vec::new();
    if a.login_attribute.is_empty() {
        problems.push(
            "login_attribute is missing: the attribute users log in with (uid, sAMAccountName, mail)"
                .to_string(),
        );
    } else if !a
        .login_attribute
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        problems.push(format!(
            "login_attribute '{}' is not an attribute name (letters, digits and '-')",
            a.login_attribute
        ));
    }
    if a.realm.is_empty() && input.enabled == Some(true) {
        problems.push(
            "realm is missing: an enabled authentication task must name the solution's login realm"
                .to_string(),
        );
    }
    if let Some(f) = &a.user_filter {
        if let Err(why) = super::parameters::check_filter(f) {
            problems.push(format!("user_filter '{f}' {why}"));
        }
    }
    if let Some(g) = &a.group_dn {
        if !g.contains('=') {
            problems.push(format!(
                "group_dn '{g}' is not a DN (e.g. cn=staff,ou=groups,dc=example,dc=com)"
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(EngineError::invalid(
            "authentication",
            format!(
                "the authentication task needs fixing:\n  - {}",
                problems.join("\n  - ")
            ),
        ))
    }
}

/// What an authentication read selects and adds, from the task.
#[derive(Debug, Clone)]
pub struct AuthRead {
    pub realm: String,
    pub filter: String,
    pub login_attribute: String,
}

impl AuthRead {
    pub fn of(settings: &AuthenticationSettings, params: &LdapParameters) -> AuthRead {
        AuthRead {
            realm: settings.realm.clone(),
            filter: selection(settings, params),
            login_attribute: settings.login_attribute.clone(),
        }
    }
}

impl AuthRead {
    /// The fields an authentication read adds to an entry's record: its
    /// account (`login@realm`), realm and whether it is enabled.
    pub(super) fn add_fields(
        &self,
        record: &mut serde_json::Value,
        entry: &ldap3::SearchEntry,
        kind: DirectoryKind,
        state_attribute: Option<&str>,
    ) {
        let login = read::first(entry, &self.login_attribute);
        let state = state_attribute.and_then(|a| read::first(entry, a));
        if let serde_json::Value::Object(m) = record {
            // No login, no account: the record is blocked as one without an id, not loaded under "@realm".
            let account = login.map(|l| serde_json::Value::String(format!("{l}@{}", self.realm)));
            m.insert(ACCOUNT.into(), account.unwrap_or(serde_json::Value::Null));
            m.insert(REALM.into(), self.realm.clone().into());
            m.insert(ENABLED.into(), enabled(kind, state.as_deref()).to_string().into());
        }
    }
}

/// The users an authentication task lets in: its own filter (else the
/// connector's), narrowed to one group's members when it names one.
pub fn selection(settings: &AuthenticationSettings, params: &LdapParameters) -> String {
    let filter = settings
        .user_filter
        .clone()
        .filter(|f| !f.trim().is_empty())
        .unwrap_or_else(|| params.user_filter.clone());
    match settings.group_dn.as_deref().filter(|g| !g.trim().is_empty()) {
        Some(group) => format!("(&{filter}(memberOf={}))", ldap3::ldap_escape(group)),
        None => filter,
    }
}

/// The attribute whose value tells whether an account is enabled, by directory kind.
pub fn state_attribute(kind: DirectoryKind) -> Option<&'static str> {
    match kind {
        DirectoryKind::ActiveDirectory => Some("userAccountControl"),
        DirectoryKind::OpenLdap => Some("pwdAccountLockedTime"),
        DirectoryKind::Generic => None,
    }
}

/// Whether an account is enabled, from its state attribute's value: AD's
/// "account disabled" bit; OpenLDAP's password-policy lock (any value).
pub fn enabled(kind: DirectoryKind, state: Option<&str>) -> bool {
    match kind {
        DirectoryKind::ActiveDirectory => state
            .and_then(|v| v.trim().parse::<u32>().ok())
            .is_none_or(|v| v & 0x2 == 0),
        DirectoryKind::OpenLdap => state.is_none(),
        DirectoryKind::Generic => true,
    }
}

fn denied(reason: impl Into<String>, dn: Option<String>) -> LoginVerdict {
    LoginVerdict {
        allowed: false,
        reason: reason.into(),
        dn,
    }
}

/// Whether `login` with `password` may log in through the task: found by
/// the task's selection, enabled, and its password accepted by the directory.
/// `Err` means the question could not be asked (the service bind failed, the server is unreachable).
pub async fn test_login(
    params: &LdapParameters,
    service_password: Option<&Sensitive<String>>,
    settings: &AuthenticationSettings,
    login: &str,
    password: &Sensitive<String>,
) -> Result<LoginVerdict, String> {
    if password.expose().is_empty() {
        return Ok(denied(
            "an empty password is never accepted (a directory would take it as an anonymous login)",
            None,
        ));
    }
    let mut ldap = read::connect(params, service_password).await?;
    let filter = format!(
        "(&{}({}={}))",
        selection(settings, params),
        settings.login_attribute,
        ldap3::ldap_escape(login)
    );
    let mut attrs = vec![settings.login_attribute.clone()];
    attrs.extend(state_attribute(params.directory_kind).map(String::from));
    let (entries, _) = ldap
        .search(&params.base_dn, ldap3::Scope::Subtree, &filter, attrs)
        .await
        .and_then(|r| r.success())
        .map_err(|e| format!("the search of '{}' with {filter} failed: {e}", params.base_dn))?;
    let _ = ldap.unbind().await;
    let entries: Vec<ldap3::SearchEntry> = entries.into_iter().map(ldap3::SearchEntry::construct).collect();
    let entry = match entries.as_slice() {
        [] => {
            return Ok(denied(
                format!(
                    "no user with {}={login} is selected by the task's filter{}",
                    settings.login_attribute,
                    if settings.group_dn.is_some() {
                        " and group"
                    } else {
                        ""
                    }
                ),
                None,
            ))
        }
        [one] => one,
        many => {
            return Ok(denied(
                format!(
                    "{} users have {}={login}: a login must name one user",
                    many.len(),
                    settings.login_attribute
                ),
                None,
            ))
        }
    };
    let dn = entry.dn.clone();
    let state = state_attribute(params.directory_kind).and_then(|a| read::first(entry, a));
    if !enabled(params.directory_kind, state.as_deref()) {
        return Ok(denied("the account is disabled in the directory", Some(dn)));
    }
    // The user's own bind, on a connection of its own: the service bind is not reused.
    let as_user = LdapParameters {
        bind_dn: Some(dn.clone()),
        ..params.clone()
    };
    match read::connect(&as_user, Some(password)).await {
        Ok(mut user) => {
            let _ = user.unbind().await;
            Ok(LoginVerdict {
                allowed: true,
                reason: "the directory accepted the password".into(),
                dn: Some(dn),
            })
        }
        Err(why) if why.contains("result code 49") => Ok(denied(
            "the directory refused the password (invalid credentials)",
            Some(dn),
        )),
        Err(why) => Ok(denied(
            format!("the directory refused the login: {why}"),
            Some(dn),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_is_enabled_unless_its_directory_says_otherwise() {
        use DirectoryKind::*;
        assert!(enabled(ActiveDirectory, Some("512")));
        assert!(!enabled(ActiveDirectory, Some("514")));
        assert!(enabled(ActiveDirectory, None));
        assert!(enabled(OpenLdap, None));
        assert!(!enabled(OpenLdap, Some("000001010000Z")));
        assert!(enabled(Generic, Some("anything")));
    }
}
