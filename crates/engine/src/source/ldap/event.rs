//! A directory connector's event tasks: what a workflow's invocation does
//! in the directory. The invocation's values arrive mapped to attribute
//! names: `dn` names the entry, `group_dn` the group of a membership,
//! `password` the new password of a reset (never logged, never in a
//! message); every other mapped value is an attribute.

use std::collections::HashSet;
use std::path::Path;

use ldap3::{Ldap, LdapResult, Mod, Scope, SearchEntry};
use serde_json::{Map, Value};

use super::{DirectoryKind, LdapParameters};
use crate::error::{EngineError, Result};
use crate::model::{DirectoryOperation, EventUsage, TaskInput};
use crate::script_host::EventOutcome;
use crate::secrets::Sensitive;

/// The inputs with a meaning of their own; the rest are attributes.
const DN: &str = "dn";
const GROUP_DN: &str = "group_dn";
const PASSWORD: &str = "password";
const IS_MEMBER: &str = "is_member";

/// AD's `userAccountControl` bit for a disabled account.
const ACCOUNT_DISABLE: u32 = 0x2;
/// What OpenLDAP's password policy reads as "locked by an administrator".
const LOCKED_FOR_GOOD: &str = "000001010000Z";

/// An event task of a directory connector, ready to be invoked.
#[derive(Debug)]
pub struct DirectoryEvent {
    pub params: LdapParameters,
    pub password: Option<Sensitive<String>>,
    pub operation: DirectoryOperation,
    /// The source attributes the task maps (what a verification reads back).
    pub mapped: Vec<String>,
}

/// The inputs an operation cannot do without.
fn required(operation: DirectoryOperation) -> &'static [&'static str] {
    use DirectoryOperation::*;
    match operation {
        AddToGroup | RemoveFromGroup => &[DN, GROUP_DN],
        VerifyMembership => &[DN, GROUP_DN, IS_MEMBER],
        ResetPassword => &[DN, PASSWORD],
        CreateUser | UpdateAttributes | Enable | Disable | Delete | VerifyUser | VerifyGroup => &[DN],
    }
}

fn reads(operation: DirectoryOperation) -> bool {
    use DirectoryOperation::*;
    matches!(operation, VerifyUser | VerifyGroup | VerifyMembership)
}

/// Checks a directory event task when it is saved: an operation, the
/// inputs it needs mapped, and `read` usage exactly for the verifications.
pub fn check_task(connector: &str, input: &TaskInput) -> Result<()> {
    let Some(operation) = input.directory_operation else {
        return Err(EngineError::invalid(
            "directory_operation",
            format!(
                "an event task of directory connector '{connector}' names what it does: create_user, \
                 update_attributes, enable, disable, add_to_group, remove_from_group, reset_password, delete, \
                 verify_user, verify_group or verify_membership"
            ),
        ));
    };
    let mapped: Vec<&str> = input
        .mappings
        .iter()
        .flatten()
        .map(|m| m.source.as_str())
        .collect();
    let lacking: Vec<&str> = required(operation)
        .iter()
        .copied()
        .filter(|r| !mapped.iter().any(|m| m.eq_ignore_ascii_case(r)))
        .collect();
    if !lacking.is_empty() {
        return Err(EngineError::invalid(
            "mappings",
            format!(
                "{} needs the source attributes {} mapped (the invocation's values for them)",
                operation.as_str(),
                lacking.join(", ")
            ),
        ));
    }
    let usage = input.event_usage.unwrap_or_default();
    if reads(operation) != (usage == EventUsage::Read) {
        return Err(EngineError::invalid(
            "event_usage",
            format!(
                "{} is a {} operation: set event_usage to {}",
                operation.as_str(),
                if reads(operation) { "read" } else { "write" },
                if reads(operation) { "read" } else { "write" }
            ),
        ));
    }
    Ok(())
}

fn text(values: &Map<String, Value>, key: &str) -> Option<String> {
    values
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .and_then(|(_, v)| match v {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
}

/// Whether an input means something of its own (the entry, the group, the
/// password, the membership answer) rather than being an attribute.
fn has_own_meaning(name: &str) -> bool {
    [DN, GROUP_DN, PASSWORD, IS_MEMBER]
        .iter()
        .any(|s| name.eq_ignore_ascii_case(s))
}

/// The attribute values of an invocation (the inputs with their own meaning left out).
fn attributes(values: &Map<String, Value>) -> Vec<(String, HashSet<String>)> {
    values
        .iter()
        .filter(|(k, _)| !has_own_meaning(k))
        .map(|(k, v)| {
            let set: HashSet<String> = match v {
                Value::Array(items) => items.iter().filter_map(plain).collect(),
                other => plain(other).into_iter().collect(),
            };
            (k.clone(), set)
        })
        .collect()
}

fn plain(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "TRUE" } else { "FALSE" }.into()),
        _ => None,
    }
}

/// An LDAP result code's name, for the common ones a workflow meets.
fn code_name(rc: u32) -> &'static str {
    match rc {
        16 => "no such attribute",
        19 => "constraint violation",
        20 => "attribute or value exists",
        21 => "invalid attribute syntax",
        32 => "no such object",
        34 => "invalid DN syntax",
        49 => "invalid credentials",
        50 => "insufficient access rights",
        53 => "unwilling to perform",
        64 => "naming violation",
        65 => "object class violation",
        66 => "not allowed on non-leaf",
        68 => "entry already exists",
        _ => "see the server's log",
    }
}

impl DirectoryEvent {
    /// Does the operation; an LDAP refusal is the invocation's exception,
    /// with the operation, the DN and the result code (never a password).
    pub async fn run(
        &self,
        values: &Map<String, Value>,
        returns: Option<&Path>,
        timeout: std::time::Duration,
    ) -> std::result::Result<EventOutcome, String> {
        let Some(dn) = text(values, DN) else {
            return Ok(EventOutcome::Exception(format!(
                "{} needs a value for dn: the entry to act on",
                self.operation.as_str()
            )));
        };
        let done = tokio::time::timeout(timeout, self.operate(&dn, values, returns)).await;
        match done {
            Err(_) => Ok(EventOutcome::Exception(format!(
                "{} of '{dn}' took longer than {} s and was given up",
                self.operation.as_str(),
                timeout.as_secs()
            ))),
            Ok(Ok(())) => Ok(EventOutcome::Completed),
            Ok(Err(why)) => Ok(EventOutcome::Exception(why)),
        }
    }

    async fn operate(
        &self,
        dn: &str,
        values: &Map<String, Value>,
        returns: Option<&Path>,
    ) -> std::result::Result<(), String> {
        use DirectoryOperation::*;
        let op = self.operation.as_str();
        let mut ldap = super::read::connect(&self.params, self.password.as_ref()).await?;
        let refused = |r: &LdapResult| {
            format!(
                "{op} of '{dn}' failed: result code {} ({}){}",
                r.rc,
                code_name(r.rc),
                if r.text.is_empty() {
                    String::new()
                } else {
                    format!(": {}", r.text)
                }
            )
        };
        // A result the server gave: fine when 0, else the refusal in words.
        let check = |r: ldap3::result::Result<LdapResult>| -> std::result::Result<(), String> {
            let r = r.map_err(|e| format!("{op} of '{dn}' failed: {e}"))?;
            if r.rc == 0 {
                Ok(())
            } else {
                Err(refused(&r))
            }
        };
        let ad = self.params.directory_kind == DirectoryKind::ActiveDirectory;
        match self.operation {
            CreateUser => {
                let mut attrs: Vec<(String, HashSet<String>)> = attributes(values)
                    .into_iter()
                    .filter(|(_, v)| !v.is_empty())
                    .collect();
                if !attrs.iter().any(|(k, _)| k.eq_ignore_ascii_case("objectClass")) {
                    let classes: &[&str] = if ad {
                        &["top", "person", "organizationalPerson", "user"]
                    } else {
                        &["inetOrgPerson"]
                    };
                    attrs.push((
                        "objectClass".into(),
                        classes.iter().map(|c| c.to_string()).collect(),
                    ));
                }
                if let (Some(pw), false) = (text(values, PASSWORD), ad) {
                    attrs.push(("userPassword".into(), HashSet::from([pw])));
                }
                check(ldap.add(dn, attrs).await)?
            }
            UpdateAttributes => {
                let mods: Vec<Mod<String>> = attributes(values)
                    .into_iter()
                    .map(|(k, v)| Mod::Replace(k, v))
                    .collect();
                if mods.is_empty() {
                    return Err(format!(
                        "{op} of '{dn}': the invocation carries no attribute to change"
                    ));
                }
                check(ldap.modify(dn, mods).await)?
            }
            Enable | Disable => {
                let disable = self.operation == Disable;
                if ad {
                    let current = first_value(&mut ldap, dn, "userAccountControl").await?;
                    let flags: u32 = current.and_then(|v| v.parse().ok()).unwrap_or(512);
                    let next = if disable {
                        flags | ACCOUNT_DISABLE
                    } else {
                        flags & !ACCOUNT_DISABLE
                    };
                    let mods = vec![Mod::Replace(
                        "userAccountControl".to_string(),
                        HashSet::from([next.to_string()]),
                    )];
                    check(ldap.modify(dn, mods).await)?
                } else {
                    // The password policy's administrative lock (OpenLDAP's ppolicy overlay).
                    let value: HashSet<String> = if disable {
                        HashSet::from([LOCKED_FOR_GOOD.to_string()])
                    } else {
                        HashSet::new()
                    };
                    let r = ldap
                        .modify(dn, vec![Mod::Replace("pwdAccountLockedTime".to_string(), value)])
                        .await
                        .map_err(|e| format!("{op} of '{dn}' failed: {e}"))?;
                    match r.rc {
                        0 => {}
                        // Enabling an account that carries no lock: what was asked is so.
                        16 if !disable => {}
                        17 => {
                            return Err(format!(
                                "{op} of '{dn}' needs the password policy (ppolicy) overlay on this server: \
                                 pwdAccountLockedTime is not known (result code 17)"
                            ))
                        }
                        _ => return Err(refused(&r)),
                    }
                }
            }
            AddToGroup | RemoveFromGroup => {
                let group =
                    text(values, GROUP_DN).ok_or_else(|| format!("{op} needs a value for group_dn"))?;
                let member = HashSet::from([dn.to_string()]);
                let add = self.operation == AddToGroup;
                let m = if add {
                    Mod::Add("member".to_string(), member)
                } else {
                    Mod::Delete("member".to_string(), member)
                };
                let r = ldap
                    .modify(&group, vec![m])
                    .await
                    .map_err(|e| format!("{op} of '{dn}' failed: {e}"))?;
                // Already a member, or already not: what was asked is so.
                if !(r.rc == 0 || (add && r.rc == 20) || (!add && r.rc == 16)) {
                    return Err(format!(
                        "{op} of '{dn}' to group '{group}' failed: result code {} ({})",
                        r.rc,
                        code_name(r.rc)
                    ));
                }
            }
            ResetPassword => {
                let pw = text(values, PASSWORD).ok_or_else(|| format!("{op} needs a value for password"))?;
                if ad && !self.params.url.starts_with("ldaps://") && !self.params.start_tls {
                    // AD refuses it anyway; refusing here keeps the password off the wire.
                    return Err(format!(
                        "{op} of '{dn}': Active Directory takes a new password only over an encrypted \
                         connection; use ldaps:// or start_tls. Nothing was sent"
                    ));
                }
                if ad {
                    // unicodePwd: the password in quotes, UTF-16LE, over an encrypted connection only.
                    let quoted: Vec<u8> = format!("\"{pw}\"")
                        .encode_utf16()
                        .flat_map(|u| u.to_le_bytes())
                        .collect();
                    let mods = vec![Mod::Replace(b"unicodePwd".to_vec(), HashSet::from([quoted]))];
                    check(ldap.modify(dn, mods).await)?
                } else {
                    let mods = vec![Mod::Replace("userPassword".to_string(), HashSet::from([pw]))];
                    check(ldap.modify(dn, mods).await)?
                }
            }
            Delete => check(ldap.delete(dn).await)?,
            VerifyUser | VerifyGroup => {
                let wanted: Vec<String> = self
                    .mapped
                    .iter()
                    .filter(|k| !has_own_meaning(k))
                    .cloned()
                    .collect();
                let entry = read_entry(&mut ldap, dn, &wanted).await?;
                let Some(entry) = entry else {
                    return Err(format!(
                        "{op}: there is no entry '{dn}' (result code 32, no such object)"
                    ));
                };
                let mut found = Map::new();
                for name in wanted {
                    let values: Vec<String> = entry
                        .attrs
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(&name))
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default();
                    let value = match values.len() {
                        0 => Value::Null,
                        1 => Value::String(values[0].clone()),
                        _ => Value::Array(values.into_iter().map(Value::String).collect()),
                    };
                    found.insert(name, value);
                }
                write_returned(returns, &found)?;
            }
            VerifyMembership => {
                let group =
                    text(values, GROUP_DN).ok_or_else(|| format!("{op} needs a value for group_dn"))?;
                let filter = format!("(member={})", ldap3::ldap_escape(dn));
                let ldap3::SearchResult(entries, r) = ldap
                    .search(&group, Scope::Base, &filter, vec!["1.1"])
                    .await
                    .map_err(|e| format!("{op} of '{dn}' in '{group}' failed: {e}"))?;
                match r.rc {
                    0 => {}
                    32 => {
                        return Err(format!(
                            "{op}: there is no group '{group}' (result code 32, no such object)"
                        ))
                    }
                    _ => return Err(refused(&r)),
                }
                let key = values
                    .keys()
                    .find(|k| k.eq_ignore_ascii_case(IS_MEMBER))
                    .cloned()
                    .unwrap_or_else(|| IS_MEMBER.to_string());
                write_returned(
                    returns,
                    &Map::from_iter([(key, Value::Bool(!entries.is_empty()))]),
                )?;
            }
        }
        let _ = ldap.unbind().await;
        Ok(())
    }
}

async fn read_entry(
    ldap: &mut Ldap,
    dn: &str,
    attrs: &[String],
) -> std::result::Result<Option<SearchEntry>, String> {
    let ldap3::SearchResult(entries, r) = ldap
        .search(dn, Scope::Base, "(objectClass=*)", attrs.to_vec())
        .await
        .map_err(|e| format!("reading '{dn}' failed: {e}"))?;
    match r.rc {
        0 => {}
        32 => return Ok(None),
        rc => {
            return Err(format!(
                "reading '{dn}' failed: result code {rc} ({})",
                code_name(rc)
            ))
        }
    }
    Ok(entries.into_iter().next().map(SearchEntry::construct))
}

async fn first_value(ldap: &mut Ldap, dn: &str, attr: &str) -> std::result::Result<Option<String>, String> {
    let entry = read_entry(ldap, dn, &[attr.to_string()])
        .await?
        .ok_or_else(|| format!("there is no entry '{dn}' (result code 32, no such object)"))?;
    Ok(entry
        .attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(attr))
        .and_then(|(_, v)| v.first().cloned()))
}

fn write_returned(returns: Option<&Path>, values: &Map<String, Value>) -> std::result::Result<(), String> {
    let Some(path) = returns else { return Ok(()) };
    std::fs::write(path, serde_json::to_vec(values).unwrap_or_default())
        .map_err(|e| format!("cannot hand the values back: {e}"))
}
