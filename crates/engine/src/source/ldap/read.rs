//! One paged read of a directory into the run's records file.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Duration;

use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, Scope, SearchEntry};
use serde_json::{Map, Value};

use super::{auth, DirectoryKind, LdapParameters, LdapSource, Mark};
use crate::model::DirectoryObjects;
use crate::run_folder;
use crate::secrets::Sensitive;
use crate::source::{Extract, Source};

/// How long connecting, binding and the root entry's read may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// What a read produced: the records file and the mark it reached.
pub(super) struct Read {
    pub output: PathBuf,
    pub mark: Option<Mark>,
}

pub(super) async fn read(
    source: &LdapSource,
    run: &Extract<'_>,
    since: Option<Mark>,
) -> Result<Read, String> {
    let p = &source.params;
    let mut ldap = connect(p, source.password.as_ref())
        .await
        .map_err(|why| super::check::advice(&why))?;
    let ad = p.directory_kind == DirectoryKind::ActiveDirectory;
    // AD: the server's change number *before* the read, so nothing that
    // changes while it runs is missed next time.
    let usn_now = if ad {
        Some(highest_usn(&mut ldap).await?)
    } else {
        None
    };
    let since = match (since, &usn_now) {
        // Another server's numbers mean nothing here: read everything.
        (Some(Mark::Usn { server, .. }), Some((_, now))) if &server != now => None,
        (since, _) => since,
    };
    let objects = match (&source.authentication, source.objects) {
        (Some(a), _) => &a.filter,
        (None, DirectoryObjects::Users) => &p.user_filter,
        (None, DirectoryObjects::Groups) => &p.group_filter,
    };
    let filter = match &since {
        None => objects.clone(),
        Some(Mark::ModifyTimestamp { value }) => format!("(&{objects}(modifyTimestamp>={value}))"),
        Some(Mark::EntryCsn { value }) => format!("(&{objects}(!(entryCSN<={value})))"),
        Some(Mark::Usn { value, .. }) => format!("(&{objects}(uSNChanged>={}))", value + 1),
    };
    // `dn` is every record's own; an authentication read adds its own fields.
    let added: &[&str] = match source.authentication {
        Some(_) => &["dn", auth::ACCOUNT, auth::REALM, auth::ENABLED],
        None => &["dn"],
    };
    let mut wanted: Vec<(String, bool)> = run
        .attributes
        .iter()
        .filter(|(a, _)| !added.iter().any(|x| a.eq_ignore_ascii_case(x)))
        .cloned()
        .collect();
    let mut attrs: Vec<String> = wanted.iter().map(|(a, _)| a.clone()).collect();
    attrs.push(p.id_attribute.clone());
    let state = source
        .authentication
        .as_ref()
        .and(auth::state_attribute(p.directory_kind));
    attrs.extend(state.map(String::from));
    // What the next incremental read starts from (see the module's words).
    let stamp = match p.directory_kind {
        DirectoryKind::OpenLdap => Some("entryCSN"),
        DirectoryKind::Generic => Some("modifyTimestamp"),
        DirectoryKind::ActiveDirectory => None,
    };
    attrs.extend(stamp.map(String::from));
    if !wanted
        .iter()
        .any(|(a, _)| a.eq_ignore_ascii_case(&p.id_attribute))
    {
        wanted.push((p.id_attribute.clone(), false));
    }

    let output = run.dir.join(run_folder::OUTPUT);
    let file =
        std::fs::File::create(&output).map_err(|e| format!("cannot create {}: {e}", output.display()))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let adapters: Vec<Box<dyn Adapter<_, _>>> = vec![
        Box::new(EntriesOnly::new()),
        Box::new(PagedResults::new(p.page_size)),
    ];
    let mut search = ldap
        .streaming_search_with(adapters, &p.base_dn, Scope::Subtree, &filter, attrs)
        .await
        .map_err(|e| format!("the search of '{}' with {filter} failed: {e}", p.base_dn))?;
    let quiet = Source::heartbeat(run.task);
    let mut newest: Option<String> = None;
    let mut count = 0u64;
    write(&mut out, b"[")?;
    loop {
        if *run.stop.borrow() {
            drop(search);
            return Err("stopped by a user during the directory read".into());
        }
        let next = tokio::time::timeout(quiet, search.next())
            .await
            .map_err(|_| {
                format!(
                    "the directory sent nothing for {} s; the read was given up",
                    quiet.as_secs()
                )
            })?
            .map_err(|e| format!("reading the directory failed: {e}"))?;
        let Some(entry) = next else { break };
        let entry = SearchEntry::construct(entry);
        if let Some(t) = stamp.and_then(|s| first(&entry, s)) {
            if newest.as_deref().is_none_or(|n| t.as_str() > n) {
                newest = Some(t);
            }
        }
        let mut record = record_of(&entry, &wanted, &p.id_attribute);
        if let Some(a) = &source.authentication {
            a.add_fields(&mut record, &entry, p.directory_kind, state);
        }
        if count > 0 {
            write(&mut out, b",")?;
        }
        write(&mut out, b"\n")?;
        serde_json::to_writer(&mut out, &record).map_err(|e| format!("cannot write a record: {e}"))?;
        count += 1;
    }
    let done = search.finish().await;
    if done.rc != 0 {
        return Err(format!(
            "the directory ended the search with result code {} ({}) for base '{}'",
            done.rc,
            if done.text.is_empty() {
                "no text"
            } else {
                done.text.as_str()
            },
            p.base_dn
        ));
    }
    // A full read that finds nobody is a wrong base or filter far more
    // often than an empty directory: loading it would mark every card removed.
    if count == 0 && since.is_none() {
        return Err(format!(
            "the filter {objects} matched no entry under '{}': check base_dn and the filter; \
             nothing was loaded or marked removed",
            p.base_dn
        ));
    }
    write(&mut out, b"\n]\n")?;
    out.flush()
        .map_err(|e| format!("cannot write the records: {e}"))?;
    let _ = ldap.unbind().await;
    tracing::info!(entries = count, incremental = since.is_some(), "directory read");
    let mark = match usn_now {
        Some((usn, server)) => Some(Mark::Usn { value: usn, server }),
        None => newest
            .map(|value| match p.directory_kind {
                DirectoryKind::OpenLdap => Mark::EntryCsn { value },
                _ => Mark::ModifyTimestamp { value },
            })
            .or(since),
    };
    Ok(Read { output, mark })
}

fn write(out: &mut impl Write, bytes: &[u8]) -> Result<(), String> {
    out.write_all(bytes)
        .map_err(|e| format!("cannot write the records: {e}"))
}

/// Connects (TLS as the parameters say) and binds; a failed bind names the DN and the server's code, never the password.
pub(super) async fn connect(
    p: &LdapParameters,
    password: Option<&Sensitive<String>>,
) -> Result<Ldap, String> {
    let mut settings = LdapConnSettings::new()
        .set_conn_timeout(CONNECT_TIMEOUT)
        .set_starttls(p.start_tls);
    if let Some(ca) = &p.ca_file {
        let pem = std::fs::read(ca).map_err(|e| format!("cannot read ca_file '{ca}': {e}"))?;
        let cert = native_tls::Certificate::from_pem(&pem).map_err(|e| format!("ca_file '{ca}': {e}"))?;
        let tls = native_tls::TlsConnector::builder()
            .add_root_certificate(cert)
            .build()
            .map_err(|e| format!("cannot set up TLS: {e}"))?;
        settings = settings.set_connector(tls);
    }
    let (conn, mut ldap) = LdapConnAsync::with_settings(settings, &p.url)
        .await
        .map_err(|e| format!("cannot connect to {}: {e}", p.url))?;
    ldap3::drive!(conn);
    if let (Some(dn), Some(password)) = (&p.bind_dn, password) {
        let bound = ldap
            .with_timeout(CONNECT_TIMEOUT)
            .simple_bind(dn, password.expose())
            .await
            .map_err(|e| format!("binding as '{dn}' to {} failed: {e}", p.url))?;
        if bound.rc != 0 {
            return Err(format!(
                "binding as '{dn}' to {} failed: result code {} ({})",
                p.url,
                bound.rc,
                if bound.rc == 49 {
                    "invalid credentials"
                } else {
                    bound.text.as_str()
                }
            ));
        }
    }
    Ok(ldap)
}

/// Active Directory's `highestCommittedUSN` and the server that gave it (its root entry).
async fn highest_usn(ldap: &mut Ldap) -> Result<(u64, String), String> {
    let (entries, _) = ldap
        .with_timeout(CONNECT_TIMEOUT)
        .search(
            "",
            Scope::Base,
            "(objectClass=*)",
            vec!["highestCommittedUSN", "dnsHostName"],
        )
        .await
        .and_then(|r| r.success())
        .map_err(|e| format!("reading the directory's root entry failed: {e}"))?;
    let root = entries
        .into_iter()
        .next()
        .map(SearchEntry::construct)
        .ok_or("the directory has no root entry to read highestCommittedUSN from")?;
    let usn = first(&root, "highestCommittedUSN")
        .and_then(|v| v.parse().ok())
        .ok_or("the directory's root entry has no highestCommittedUSN: is it Active Directory?")?;
    Ok((usn, first(&root, "dnsHostName").unwrap_or_default()))
}

/// An attribute's first value, its name matched as LDAP does (any case).
pub(super) fn first(entry: &SearchEntry, name: &str) -> Option<String> {
    entry
        .attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.first().cloned())
}

/// One record: `dn`, then each wanted attribute by the name the task maps
/// (a list when the task maps it as multi-valued, else its first value;
/// an empty list or null when the entry lacks it).
/// Binary values are base64; AD's `objectGUID` is its canonical text.
fn record_of(entry: &SearchEntry, wanted: &[(String, bool)], id_attribute: &str) -> Value {
    let mut record = Map::new();
    record.insert("dn".into(), Value::String(entry.dn.clone()));
    for (name, multi) in wanted {
        let text = entry
            .attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone());
        let values: Option<Vec<String>> = text.or_else(|| {
            entry
                .bin_attrs
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| {
                    v.iter()
                        .map(|b| {
                            if name.eq_ignore_ascii_case("objectGUID")
                                || (name.eq_ignore_ascii_case(id_attribute) && b.len() == 16)
                            {
                                guid_text(b)
                            } else {
                                base64::Engine::encode(&base64::engine::general_purpose::STANDARD, b)
                            }
                        })
                        .collect()
                })
        });
        // An entry without the attribute has no value for it (not a malformed record).
        let values = values.unwrap_or_default();
        let value = if *multi {
            Value::Array(values.into_iter().map(Value::String).collect())
        } else {
            values
                .into_iter()
                .next()
                .map(Value::String)
                .unwrap_or(Value::Null)
        };
        record.insert(name.clone(), value);
    }
    Value::Object(record)
}

/// A GUID's canonical text: its first three parts are stored little-endian.
fn guid_text(b: &[u8]) -> String {
    if b.len() != 16 {
        return base64::Engine::encode(&base64::engine::general_purpose::STANDARD, b);
    }
    format!(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn an_objectguid_reads_as_its_canonical_text() {
        // The bytes AD stores for {d3b9f6f4-1c2e-4d5a-8b6c-7e8f9a0b1c2d}.
        let bytes = [
            0xf4, 0xf6, 0xb9, 0xd3, 0x2e, 0x1c, 0x5a, 0x4d, 0x8b, 0x6c, 0x7e, 0x8f, 0x9a, 0x0b, 0x1c, 0x2d,
        ];
        assert_eq!(guid_text(&bytes), "d3b9f6f4-1c2e-4d5a-8b6c-7e8f9a0b1c2d");
    }

    #[test]
    fn multi_valued_attributes_become_lists_and_names_match_in_any_case() {
        let entry = SearchEntry {
            dn: "uid=ann,ou=people,dc=example,dc=com".into(),
            attrs: HashMap::from([
                (
                    "memberOf".to_string(),
                    vec!["cn=a".to_string(), "cn=b".to_string()],
                ),
                ("mail".to_string(), vec!["ann@example.com".to_string()]),
            ]),
            bin_attrs: HashMap::from([("jpegPhoto".to_string(), vec![vec![0xff, 0xd8]])]),
        };
        let r = record_of(
            &entry,
            &[
                ("memberof".into(), true),
                ("MAIL".into(), false),
                ("jpegPhoto".into(), false),
            ],
            "entryUUID",
        );
        assert_eq!(r["memberof"], serde_json::json!(["cn=a", "cn=b"]));
        assert_eq!(r["MAIL"], "ann@example.com");
        assert_eq!(r["jpegPhoto"], "/9g=");
        assert_eq!(r["dn"], "uid=ann,ou=people,dc=example,dc=com");
    }
}
