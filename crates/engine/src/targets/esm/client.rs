//! The HTTP client of an ESM solution's REST API
//! (`../shared/reference/esm-rest-api-v1.openapi.json`): login with the
//! form fields the API defines, the bearer token reused and renewed once on
//! a 401, retries with backoff for connection errors and 5xx on idempotent
//! calls only, a request-rate limit, system TLS roots plus an optional CA.
//!
//! Blocking: a load runs on its own thread, and each call is one request
//! (or one page of a listing) the load has to wait for anyway.

use std::time::{Duration, Instant};

use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::{Method, StatusCode, Url};
use serde_json::{json, Value};

use crate::error::{EngineError, Result};
use crate::model::{Attribute, AttributeType, Folder, TargetInfo, Template, ESM_API_PATH, ESM_BATCH_SIZE};
use crate::secrets::Sensitive;

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one request may take (a bulk request of 200 cards included).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// Tries of an idempotent call before its error stands.
const ATTEMPTS: u32 = 4;
/// The API's page size limit.
pub const PAGE: usize = 200;
/// The longest `Retry-After` a 429 answer is obeyed for; beyond it the call fails.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// 429 answers one call waits through before its error stands.
pub const THROTTLED_TRIES: u32 = 5;

/// The largest answer each kind of call reads: a server that sends more
/// (a 1 GiB body once made the engine grow to 2 GB) fails the call instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerSize {
    /// Login, one card, a deletion: 1 MiB.
    Small,
    /// A bulk write of a batch: 16 MiB.
    Batch,
    /// A listing page or the template descriptions: 64 MiB.
    Listing,
}

impl AnswerSize {
    pub const fn bytes(self) -> u64 {
        match self {
            AnswerSize::Small => 1 << 20,
            AnswerSize::Batch => 16 << 20,
            AnswerSize::Listing => 64 << 20,
        }
    }
}

/// One card as a listing returns it: its id and the attributes asked for (first values, as text).
#[derive(Debug, Clone)]
pub struct FoundCard {
    pub id: i64,
    pub values: std::collections::HashMap<String, String>,
}

/// What the API said about one card of a bulk request.
#[derive(Debug, Clone, PartialEq)]
pub enum BulkResult {
    Saved(i64),
    Refused(String),
}

/// Whether a call may be sent again after it failed in transit: a call the
/// server may have carried out (a create) is never repeated, so a lost
/// answer cannot make a duplicate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    Safe,
    Never,
}

/// A logged-in (or about to log in) client of one target.
pub struct EsmClient {
    target: String,
    root: Url,
    user: String,
    password: Sensitive<String>,
    http: Client,
    token: Option<Sensitive<String>>,
    /// Seconds between requests, when the target limits its rate.
    interval: Option<Duration>,
    next_request: Instant,
    pub batch_size: usize,
    /// Requests sent, retries included (for the benchmark and the run's info).
    pub requests: u64,
}

impl std::fmt::Debug for EsmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EsmClient")
            .field("target", &self.target)
            .field("root", &self.root.as_str())
            .finish()
    }
}

/// The media type an uploaded file is sent as, from its name.
fn content_type_of(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext.to_ascii_lowercase()) {
        Some(ext) if ext == "json" => "application/json",
        Some(ext) if ext == "csv" => "text/csv",
        Some(ext) if ext == "txt" || ext == "log" => "text/plain",
        _ => "application/octet-stream",
    }
}

impl EsmClient {
    pub fn new(target: &TargetInfo, password: Sensitive<String>) -> Result<EsmClient> {
        let wrong = |message: String| EngineError::Remote {
            target: target.name.clone(),
            message,
            refused: false,
        };
        let base = target
            .base_url
            .as_deref()
            .unwrap_or_default()
            .trim_end_matches('/');
        let path = target
            .api_path
            .as_deref()
            .unwrap_or(ESM_API_PATH)
            .trim_end_matches('/');
        let root = Url::parse(&format!("{base}{path}/"))
            .map_err(|e| wrong(format!("base_url '{base}' is not an address: {e}")))?;
        let mut builder = Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("provisio/", env!("CARGO_PKG_VERSION")))
            // Redirects could carry the token elsewhere.
            .redirect(reqwest::redirect::Policy::none());
        if let Some(file) = &target.ca_file {
            let pem = std::fs::read(file).map_err(|e| wrong(format!("cannot read ca_file {file}: {e}")))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| wrong(format!("ca_file {file} holds no PEM certificate: {e}")))?;
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder
            .build()
            .map_err(|e| wrong(format!("cannot set up HTTPS: {e}")))?;
        Ok(EsmClient {
            target: target.name.clone(),
            root,
            user: target.user.clone().unwrap_or_default(),
            password,
            http,
            token: None,
            interval: target
                .requests_per_second
                .filter(|r| *r > 0.0)
                .map(|r| Duration::from_secs_f64(1.0 / r)),
            next_request: Instant::now(),
            batch_size: target.batch_size.unwrap_or(ESM_BATCH_SIZE).max(1) as usize,
            requests: 0,
        })
    }

    fn error(&self, message: impl Into<String>) -> EngineError {
        EngineError::Remote {
            target: self.target.clone(),
            message: message.into(),
            refused: false,
        }
    }

    /// The address of `segments` below the API root (each segment escaped).
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.root.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// Waits for the rate limit's next slot.
    fn pace(&mut self) {
        if let Some(interval) = self.interval {
            let now = Instant::now();
            if self.next_request > now {
                std::thread::sleep(self.next_request - now);
            }
            self.next_request = self.next_request.max(now) + interval;
        }
    }

    /// Logs in with the API's form fields; keeps the bearer token.
    pub fn login(&mut self) -> Result<()> {
        let url = self.url(&["users", "login"]);
        let (user, password) = (self.user.clone(), Sensitive::new(self.password.expose().clone()));
        let login = |http: &Client| {
            http.post(url.clone())
                .form(&[("login", user.as_str()), ("password", password.expose().as_str())])
        };
        let response = self
            .send(&login, Repeat::Safe, "logging in")
            .map_err(|e| self.error(format!("cannot reach {}: {}", self.root, transport(&e))))?;
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(EngineError::Remote {
                target: self.target.clone(),
                message: format!(
                    "the credentials were refused: {} could not log in (HTTP {}); check the target's user and password",
                    self.user,
                    status.as_u16()
                ),
                refused: true,
            });
        }
        let header = response
            .headers()
            .get(reqwest::header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .map(str::to_string);
        let body: Value = self.answer(response, "logging in", AnswerSize::Small)?;
        let token = body
            .get("token")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or(header)
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| self.error("the login answer carries no token"))?;
        let token = token.trim();
        let bearer = if token.to_ascii_lowercase().starts_with("bearer ") {
            token.to_string()
        } else {
            format!("Bearer {token}")
        };
        crate::logging::remember_secrets([&Value::String(bearer.clone())]);
        self.token = Some(Sensitive::new(bearer));
        Ok(())
    }

    /// Sends one call with the token, renewing it once on a 401; repeats a
    /// [`Repeat::Safe`] call on connection errors and 5xx.
    fn call(
        &mut self,
        method: Method,
        url: Url,
        build: &dyn Fn(RequestBuilder) -> RequestBuilder,
        repeat: Repeat,
    ) -> Result<Response> {
        if self.token.is_none() {
            self.login()?;
        }
        let what = format!("{method} {}", url.path());
        let mut renewed = false;
        loop {
            let token = self
                .token
                .as_ref()
                .map(|t| t.expose().clone())
                .unwrap_or_default();
            let request = |http: &Client| {
                build(
                    http.request(method.clone(), url.clone())
                        .header(reqwest::header::AUTHORIZATION, token.as_str()),
                )
            };
            match self.send(&request, repeat, &what) {
                Ok(r) if r.status() == StatusCode::UNAUTHORIZED && !renewed => {
                    // The token expired: one new login, then the same call again (it was not carried out).
                    renewed = true;
                    self.login()?;
                }
                Ok(r) => return Ok(r),
                Err(e) => {
                    return Err(self.error(format!(
                        "{what} failed: {}{}",
                        transport(&e),
                        if repeat == Repeat::Never {
                            "; the call was not repeated, since the server may have carried it out"
                        } else {
                            ""
                        }
                    )))
                }
            }
        }
    }

    /// Sends one request, paced; a [`Repeat::Safe`] one is sent again with
    /// backoff after a connection error or a 5xx, up to [`ATTEMPTS`] times.
    /// The last answer or error stands.
    fn send(
        &mut self,
        build: &dyn Fn(&Client) -> RequestBuilder,
        repeat: Repeat,
        what: &str,
    ) -> std::result::Result<Response, reqwest::Error> {
        let mut attempt = 0;
        let mut throttled = 0;
        loop {
            self.pace();
            self.requests += 1;
            let last = repeat == Repeat::Never || attempt + 1 >= ATTEMPTS;
            match build(&self.http).send() {
                // 429: the server did not carry the call out, so any call (a
                // create too) is sent again after the wait it asks for, within limits.
                Ok(r) if r.status() == StatusCode::TOO_MANY_REQUESTS && throttled < THROTTLED_TRIES => {
                    let wait = retry_after(&r).unwrap_or(Duration::from_secs(1));
                    if wait > MAX_RETRY_AFTER {
                        return Ok(r);
                    }
                    throttled += 1;
                    tracing::info!(target = %self.target, call = %what, wait_s = wait.as_secs_f64(), "the target asked to wait (429)");
                    std::thread::sleep(wait);
                }
                Ok(r) if r.status().is_server_error() && !last => backoff(&mut attempt),
                Err(e) if !last => {
                    tracing::debug!(target = %self.target, call = %what, error = %transport(&e), "retrying");
                    backoff(&mut attempt)
                }
                other => return other,
            }
        }
    }

    /// The JSON body of a successful answer, read up to `size`, or an error
    /// naming the status and the API's message.
    fn answer(&self, response: Response, what: &str, size: AnswerSize) -> Result<Value> {
        let status = response.status();
        let waited = (status == StatusCode::TOO_MANY_REQUESTS)
            .then(|| retry_after(&response))
            .flatten();
        let limit = size.bytes();
        if response.content_length().is_some_and(|n| n > limit) {
            return Err(self.too_large(what, limit));
        }
        let mut body = Vec::new();
        {
            use std::io::Read;
            response
                .take(limit + 1)
                .read_to_end(&mut body)
                .map_err(|e| self.error(format!("{what}: reading the answer failed: {e}")))?;
        }
        if body.len() as u64 > limit {
            return Err(self.too_large(what, limit));
        }
        let text = String::from_utf8_lossy(&body);
        if status == StatusCode::TOO_MANY_REQUESTS {
            return Err(self.error(format!(
                "{what}: the target kept refusing with HTTP 429 Too Many Requests{}; the engine waits up to {} s \
                 at a time, {THROTTLED_TRIES} times. Lower the target's requests_per_second, or run the task later",
                waited
                    .map(|w| format!(" (it asked to wait {} s)", w.as_secs()))
                    .unwrap_or_default(),
                MAX_RETRY_AFTER.as_secs()
            )));
        }
        if !status.is_success() {
            let said = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| {
                    v.get("message")
                        .and_then(Value::as_str)
                        .or_else(|| v.get("detail").and_then(Value::as_str))
                        .map(str::to_string)
                })
                .unwrap_or_else(|| text.chars().take(200).collect());
            return Err(self.error(format!("{what}: HTTP {} {said}", status.as_u16())));
        }
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).map_err(|e| self.error(format!("{what}: the answer is not JSON ({e})")))
    }

    fn too_large(&self, what: &str, limit: u64) -> EngineError {
        self.error(format!(
            "{what}: the answer is larger than {} MiB, more than such an answer can be; nothing of it was used",
            limit >> 20
        ))
    }

    fn get(&mut self, segments: &[&str], query: &[(&str, String)], what: &str) -> Result<Value> {
        let url = self.url(segments);
        let query = query.to_vec();
        let r = self.call(Method::GET, url, &move |b| b.query(&query), Repeat::Safe)?;
        self.answer(r, what, AnswerSize::Listing)
    }

    /// Every template with its attributes and the folders that accept it.
    pub fn templates(&mut self) -> Result<(Vec<Template>, Vec<Folder>)> {
        let list = self.get(&["dc"], &[], "reading the template list")?;
        let codes: Vec<String> = list
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|t| t.get("templateCode").and_then(Value::as_str).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let mut templates = Vec::new();
        let mut folders: Vec<Folder> = Vec::new();
        for code in codes {
            let info = self.get(&["dc", &code], &[], &format!("reading template {code}"))?;
            let attributes = info
                .get("attributes")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(attr, a)| Attribute {
                            code: attr.clone(),
                            attribute_type: attribute_type(
                                a.get("type").and_then(Value::as_str).unwrap_or("string"),
                            ),
                            multi_value: a.get("multiValue").and_then(Value::as_bool).unwrap_or(false),
                            static_values: a
                                .get("values")
                                .and_then(Value::as_array)
                                .map(|vs| {
                                    vs.iter()
                                        .filter_map(|v| {
                                            v.get("value")
                                                .or_else(|| v.get("code"))
                                                .and_then(Value::as_str)
                                                .map(str::to_string)
                                        })
                                        .collect()
                                })
                                .unwrap_or_default(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            for f in info
                .get("allowedFolders")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(folder) = f.get("folderCode").and_then(Value::as_str) else {
                    continue;
                };
                match folders.iter_mut().find(|x| x.code == folder) {
                    Some(existing) => existing.templates.push(code.clone()),
                    None => folders.push(Folder {
                        code: folder.to_string(),
                        name: f
                            .get("folderName")
                            .and_then(Value::as_str)
                            .unwrap_or(folder)
                            .to_string(),
                        templates: vec![code.clone()],
                    }),
                }
            }
            templates.push(Template {
                name: info
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or(&code)
                    .to_string(),
                code,
                attributes,
                built_in: false,
            });
        }
        Ok((templates, folders))
    }

    /// Cards of `template` matching an EQL `filter`, with the first value of each of `attributes`; every page.
    pub fn find(&mut self, template: &str, filter: &str, attributes: &[&str]) -> Result<Vec<FoundCard>> {
        let mut found = Vec::new();
        self.find_each(template, filter, attributes, &mut |id, item| {
            let values = attributes
                .iter()
                .filter_map(|a| first_value(item, a).map(|v| (a.to_string(), v)))
                .collect();
            found.push(FoundCard { id, values });
        })?;
        Ok(found)
    }

    /// Like [`EsmClient::find`], with every value of each attribute ([`card_values`]).
    pub fn find_values(
        &mut self,
        template: &str,
        filter: &str,
        attributes: &[&str],
    ) -> Result<Vec<(i64, serde_json::Map<String, Value>)>> {
        let mut found = Vec::new();
        self.find_each(template, filter, attributes, &mut |id, item| {
            found.push((id, card_values(item, attributes)));
        })?;
        Ok(found)
    }

    /// Calls `each` with every card of `template` matching `filter`, page by page.
    fn find_each(
        &mut self,
        template: &str,
        filter: &str,
        attributes: &[&str],
        each: &mut dyn FnMut(i64, &Value),
    ) -> Result<()> {
        let mut below: Option<i64> = None;
        loop {
            let mut query = vec![
                ("filter", filter.to_string()),
                ("dataCards", "true".to_string()),
                ("selectedAttributes", attributes.join(",")),
                ("limit", PAGE.to_string()),
            ];
            if let Some(id) = below {
                query.push(("filterId", id.to_string()));
            }
            let page = self.get(
                &["dc", template, "data"],
                &query,
                &format!("finding {template} cards"),
            )?;
            let items = page
                .get("data")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let n = items.len();
            for item in &items {
                let Some(id) = card_id(item) else { continue };
                below = Some(below.map_or(id, |b| b.min(id)));
                each(id, item);
            }
            if n < PAGE {
                return Ok(());
            }
        }
    }

    /// One card's `attributes` ([`card_values`]); `None` when the solution has no such card.
    pub fn read(
        &mut self,
        template: &str,
        id: i64,
        attributes: &[&str],
    ) -> Result<Option<serde_json::Map<String, Value>>> {
        let card = id.to_string();
        let url = self.url(&["dc", template, "data", &card]);
        let query = [("selectedAttributes", attributes.join(","))];
        let r = self.call(Method::GET, url, &move |b| b.query(&query), Repeat::Safe)?;
        if r.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let answer = self.answer(r, &format!("reading {template} card {id}"), AnswerSize::Small)?;
        Ok(Some(card_values(&answer, attributes)))
    }

    /// Creates and updates cards with the bulk endpoint; one result per item, in order.
    pub fn bulk(&mut self, template: &str, items: &[Value]) -> Result<Vec<BulkResult>> {
        let repeat = if items.iter().all(|i| i.get("dataCardId").is_some()) {
            Repeat::Safe
        } else {
            Repeat::Never
        };
        let url = self.url(&["dc", template, "data"]);
        let body = Value::Array(items.to_vec());
        let r = self.call(Method::PUT, url, &move |b| b.json(&body), repeat)?;
        let answer = self.answer(
            r,
            &format!("writing {} {template} cards", items.len()),
            AnswerSize::Batch,
        )?;
        let results = answer
            .get("data")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if results.len() != items.len() {
            return Err(self.error(format!(
                "writing {} {template} cards: the answer holds {} results; the run stops so that nothing is counted wrongly",
                items.len(),
                results.len()
            )));
        }
        Ok(results
            .iter()
            .map(|r| {
                let errors: Vec<String> = r
                    .get("errors")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|e| {
                        let attr = e.get("attributeCode").and_then(Value::as_str).unwrap_or_default();
                        let msg = e
                            .get("message")
                            .or_else(|| e.get("error"))
                            .and_then(Value::as_str)
                            .unwrap_or("refused");
                        if attr.is_empty() {
                            msg.to_string()
                        } else {
                            format!("{attr}: {msg}")
                        }
                    })
                    .collect();
                match r.get("dataCard").and_then(card_id) {
                    Some(id) if errors.is_empty() => BulkResult::Saved(id),
                    _ if errors.is_empty() => BulkResult::Refused("the target saved no card".into()),
                    _ => BulkResult::Refused(errors.join("; ")),
                }
            })
            .collect())
    }

    /// Creates one card; returns its id.
    pub fn create(&mut self, template: &str, folder: &str, data: &Value) -> Result<i64> {
        let url = self.url(&["dc", template, "data"]);
        let body = json!({"folderCode": folder, "data": card_data(data)});
        let r = self.call(Method::POST, url, &move |b| b.json(&body), Repeat::Never)?;
        let answer = self.answer(r, &format!("creating a {template} card"), AnswerSize::Small)?;
        answer
            .get("dataCard")
            .and_then(card_id)
            .ok_or_else(|| self.error(format!("creating a {template} card: the answer names no card")))
    }

    /// Sets attributes of one card.
    pub fn patch(&mut self, template: &str, id: i64, data: &Value) -> Result<()> {
        let id = id.to_string();
        let url = self.url(&["dc", template, "data", &id]);
        let body = json!({"dataCardId": id, "data": card_data(data)});
        let r = self.call(Method::PATCH, url, &move |b| b.json(&body), Repeat::Safe)?;
        self.answer(r, &format!("changing {template} card {id}"), AnswerSize::Small)
            .map(|_| ())
    }

    /// Uploads a file to a card's attachment attribute (multipart: `fileName`, `fileUpload`).
    /// Never repeated after a lost answer: the server may have stored it.
    pub fn upload(
        &mut self,
        template: &str,
        id: i64,
        attribute: &str,
        name: &str,
        bytes: Vec<u8>,
    ) -> Result<()> {
        let card = id.to_string();
        let url = self.url(&["dc", template, "data", &card, attribute, "file"]);
        let name_for_form = name.to_string();
        let r = self.call(
            Method::POST,
            url,
            &move |b| {
                let file = || {
                    reqwest::blocking::multipart::Part::bytes(bytes.clone()).file_name(name_for_form.clone())
                };
                // A part without a Content-Type is legal, but some servers' parsers (and Prism's) fail on it.
                let part = file()
                    .mime_str(content_type_of(&name_for_form))
                    .unwrap_or_else(|_| file());
                let form = reqwest::blocking::multipart::Form::new()
                    .text("fileName", name_for_form.clone())
                    .part("fileUpload", part);
                b.multipart(form)
            },
            Repeat::Never,
        )?;
        self.answer(
            r,
            &format!("attaching {name} to {template} card {id}"),
            AnswerSize::Small,
        )
        .map(|_| ())
    }

    /// Moves one card to the trash.
    pub fn delete(&mut self, template: &str, id: i64) -> Result<()> {
        let id = id.to_string();
        let url = self.url(&["dc", template, "data", &id]);
        let r = self.call(Method::DELETE, url, &|b| b, Repeat::Safe)?;
        self.answer(r, &format!("deleting {template} card {id}"), AnswerSize::Small)
            .map(|_| ())
    }
}

/// The engine's attribute type for an API attribute type (references,
/// worklogs and static values are written as text).
fn attribute_type(api: &str) -> AttributeType {
    match api {
        "date" | "datetime" | "static-date" => AttributeType::Date,
        "number" | "decimal" | "integer" => AttributeType::Number,
        "boolean" => AttributeType::Boolean,
        _ => AttributeType::String,
    }
}

/// The wait a 429 answer asks for: `Retry-After` in seconds or as an HTTP date.
fn retry_after(response: &Response) -> Option<Duration> {
    let text = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    // An HTTP date (IMF-fixdate) is an RFC 2822 date in GMT.
    let at = chrono::DateTime::parse_from_rfc2822(text).ok()?;
    Some(
        (at.with_timezone(&chrono::Utc) - chrono::Utc::now())
            .to_std()
            .unwrap_or_default(),
    )
}

/// Waits before the next try: 0.25 s, 0.5 s, 1 s, ….
fn backoff(attempt: &mut u32) {
    std::thread::sleep(Duration::from_millis(250 << (*attempt).min(5)));
    *attempt += 1;
}

/// A transport error in words, without the URL's query (which may hold key values).
fn transport(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "the connection failed"
    } else {
        "the connection broke"
    };
    let mut source = std::error::Error::source(e);
    let mut detail = String::new();
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        kind.to_string()
    } else {
        format!("{kind} ({detail})")
    }
}

/// A card id as the API writes it (a string of digits, or a number).
fn card_id(v: &Value) -> Option<i64> {
    match v.get("dataCardId")? {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

/// The first value of an attribute of a listed card, as text.
fn first_value(card: &Value, attribute: &str) -> Option<String> {
    let values = card.get("data")?.get(attribute)?.get("values")?.as_array()?;
    let first = values.first()?;
    let v = first.get("value").or_else(|| first.get("code"))?;
    Some(match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

/// The values of `attributes` of a card as the API returns it, each as the
/// journal keeps values: text, a list of texts when there are several, null
/// when there is none (so a value read back compares equal to the one written).
pub fn card_values(card: &Value, attributes: &[&str]) -> serde_json::Map<String, Value> {
    attributes
        .iter()
        .map(|a| {
            let texts: Vec<Value> = card
                .get("data")
                .and_then(|d| d.get(a))
                .and_then(|v| v.get("values"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|v| v.get("value").or_else(|| v.get("code")))
                .filter(|v| !v.is_null())
                .map(|v| Value::String(text_of(v)))
                .collect();
            (a.to_string(), one_or_list(texts))
        })
        .collect()
}

/// A value written to a card (`{attr: value | [values]}`'s value) as [`card_values`] reads it back.
pub fn written_value(value: &Value) -> Value {
    match value {
        Value::Null => Value::Null,
        Value::Array(items) => one_or_list(
            items
                .iter()
                .filter(|i| !i.is_null())
                .map(|i| Value::String(text_of(i)))
                .collect(),
        ),
        other => Value::String(text_of(other)),
    }
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn one_or_list(mut texts: Vec<Value>) -> Value {
    match texts.len() {
        0 => Value::Null,
        1 => texts.pop().unwrap_or(Value::Null),
        _ => Value::Array(texts),
    }
}

/// Card values `{attr: value | [values]}` in the API's shape `{attr: {values: [{value}]}}`.
pub fn card_data(data: &Value) -> Value {
    let Some(map) = data.as_object() else {
        return json!({});
    };
    let out: serde_json::Map<String, Value> = map
        .iter()
        .map(|(k, v)| {
            let values: Vec<Value> = match v {
                Value::Null => Vec::new(),
                Value::Array(items) => items
                    .iter()
                    .filter(|i| !i.is_null())
                    .map(|i| json!({"value": i}))
                    .collect(),
                other => vec![json!({"value": other})],
            };
            (k.clone(), json!({"values": values}))
        })
        .collect();
    Value::Object(out)
}

/// An EQL string literal: single quotes doubled.
pub fn eql_text(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

#[cfg(test)]
mod faults;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_values_take_the_api_shape() {
        let d = card_data(&json!({"a": "x", "m": ["1", "2"], "n": null, "k": 42}));
        assert_eq!(
            d,
            json!({"a": {"values": [{"value": "x"}]}, "m": {"values": [{"value": "1"}, {"value": "2"}]},
                   "n": {"values": []}, "k": {"values": [{"value": 42}]}})
        );
    }

    #[test]
    fn values_read_back_compare_equal_to_the_values_written() {
        let written = json!({"a": "x", "m": ["1", "2"], "one": ["g"], "n": null, "k": 42});
        let api = json!({"data": card_data(&written)});
        let read = card_values(&api, &["a", "m", "one", "n", "k", "absent"]);
        for (attribute, value) in written.as_object().unwrap() {
            assert_eq!(read[attribute], written_value(value), "{attribute}");
        }
        assert_eq!(read["absent"], Value::Null);
        assert_eq!(read["k"], json!("42"));
    }

    #[test]
    fn eql_literals_double_their_quotes() {
        assert_eq!(eql_text("O'Neil"), "'O''Neil'");
    }
}
