//! A **stand-in** for an ESM solution's REST API, for tests and benchmarks.
//! It is not the real solution: it keeps cards in memory and implements only
//! the endpoints Provisio's client uses, shaped after the published OpenAPI
//! description (`../shared/reference/esm-rest-api-v1.openapi.json`):
//! login, the template list and templates, listing cards with the filter
//! language's `$attr$ = 'v'` / `!=` joined by `and` / `or`, the bulk
//! endpoint, create, read, change and delete one card.
//!
//! Served on 127.0.0.1 under both `/` and `/rest-api/itsm/v1` (Prism, which
//! checks requests against the description, matches paths without the base
//! path). Test controls: a token that expires after some requests, and a
//! one-time cut of the connection after a bulk request was carried out.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// A template the stand-in offers: code, attributes (code, type, multi-value) and accepting folders.
#[derive(Debug, Clone)]
pub struct TemplateDef {
    pub code: String,
    pub attributes: Vec<(String, String, bool)>,
    pub folders: Vec<String>,
}

/// What the stand-in starts with.
#[derive(Debug, Clone)]
pub struct Config {
    pub user: String,
    pub password: String,
    pub templates: Vec<TemplateDef>,
    /// Tokens stop working after this many requests (the client must log in again).
    pub token_requests: Option<u64>,
}

/// One card.
#[derive(Debug, Clone)]
pub struct Card {
    pub template: String,
    pub folder: String,
    pub data: Map<String, Value>,
    pub deleted: bool,
}

impl Card {
    /// The first value of an attribute, as text.
    pub fn text(&self, attribute: &str) -> Option<String> {
        let v = self.data.get(attribute)?.as_array()?.first()?.clone();
        Some(match v {
            Value::String(s) => s,
            other => other.to_string(),
        })
    }
}

/// Everything the stand-in holds, for the tests to look at.
#[derive(Debug, Default)]
pub struct Data {
    pub cards: BTreeMap<i64, Card>,
    /// (template, attribute, first value) → cards, so that key lookups stay fast at 100,000 cards.
    index: std::collections::HashMap<(String, String, String), std::collections::BTreeSet<i64>>,
    next_id: i64,
    tokens: BTreeMap<String, u64>,
    /// Requests by `METHOD /path` (base path removed), in order.
    pub requests: Vec<String>,
    pub logins: u64,
    /// Cards written by bulk requests so far.
    pub bulk_writes: usize,
    /// Cut the connection of the bulk request that brings `bulk_writes` to this number or past it (once).
    pub cut_after_bulk_writes: Option<usize>,
    /// Files uploaded to cards, in order.
    pub attachments: Vec<Attachment>,
}

/// A file uploaded to a card's attribute.
#[derive(Debug, Clone)]
pub struct Attachment {
    pub card: i64,
    pub attribute: String,
    pub name: String,
    pub bytes: Vec<u8>,
}

impl Data {
    /// The index entries of a card: (template, attribute, first value).
    fn index_keys(card: &Card) -> Vec<(String, String, String)> {
        card.data
            .keys()
            .filter_map(|a| card.text(a).map(|v| (card.template.clone(), a.clone(), v)))
            .collect()
    }

    fn unindex(&mut self, id: i64) {
        let keys = self.cards.get(&id).map(Data::index_keys).unwrap_or_default();
        for k in keys {
            if let Some(set) = self.index.get_mut(&k) {
                set.remove(&id);
            }
        }
    }

    fn reindex(&mut self, id: i64) {
        let keys = self
            .cards
            .get(&id)
            .filter(|c| !c.deleted)
            .map(Data::index_keys)
            .unwrap_or_default();
        for k in keys {
            self.index.entry(k).or_default().insert(id);
        }
    }

    /// Stores a new card.
    fn insert(&mut self, card: Card) -> i64 {
        self.next_id += 1;
        let id = self.next_id;
        self.cards.insert(id, card);
        self.reindex(id);
        id
    }

    /// Changes attributes of a live card of `template`; false when there is none.
    fn change(&mut self, id: i64, template: &str, values: Map<String, Value>) -> bool {
        if !self
            .cards
            .get(&id)
            .is_some_and(|c| c.template == template && !c.deleted)
        {
            return false;
        }
        self.unindex(id);
        if let Some(card) = self.cards.get_mut(&id) {
            card.data.extend(values);
        }
        self.reindex(id);
        true
    }

    /// Sets one attribute of a live card, as a person would in the
    /// solution's own window; false when there is no such card.
    pub fn edit(&mut self, id: i64, template: &str, attribute: &str, value: &str) -> bool {
        self.change(
            id,
            template,
            Map::from_iter([(attribute.to_string(), json!([value]))]),
        )
    }

    /// Cards of a template that are not deleted.
    pub fn live(&self, template: &str) -> Vec<(&i64, &Card)> {
        self.cards
            .iter()
            .filter(|(_, c)| c.template == template && !c.deleted)
            .collect()
    }
}

struct Shared {
    config: Config,
    data: Mutex<Data>,
}

type App = Arc<Shared>;

fn lock(app: &App) -> MutexGuard<'_, Data> {
    app.data.lock().unwrap_or_else(|p| p.into_inner())
}

/// A running stand-in; stops when dropped.
#[derive(Debug)]
pub struct StandIn {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Shared")
    }
}

impl StandIn {
    /// Starts a stand-in on a free port of 127.0.0.1, in its own thread and runtime.
    pub fn start(config: Config) -> StandIn {
        let shared = Arc::new(Shared {
            config,
            data: Mutex::new(Data {
                next_id: 1000,
                ..Default::default()
            }),
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port on 127.0.0.1");
        listener.set_nonblocking(true).expect("a non-blocking listener");
        let addr = listener.local_addr().expect("the listener's address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let app = shared.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
                let routes = routes(app.clone());
                let router = Router::new()
                    .nest("/rest-api/itsm/v1", routes.clone())
                    .merge(routes)
                    .layer(axum::middleware::from_fn_with_state(app.clone(), record))
                    .with_state(app);
                let _ = axum::serve(listener, router)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await;
            });
        });
        StandIn {
            addr,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// The address to give as a target's `base_url`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The stand-in's state, to look at or to set test controls.
    pub fn data(&self) -> MutexGuard<'_, Data> {
        lock(&self.shared)
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn routes(app: App) -> Router<App> {
    let authed = Router::new()
        .route("/dc", get(list_templates))
        .route("/dc/{template}", get(template))
        .route("/dc/{template}/data", get(list_cards).put(bulk).post(create))
        .route("/dc/{template}/data/{id}", get(read).patch(change).delete(delete))
        .route(
            "/dc/{template}/data/{id}/{attribute}/file",
            post(upload).layer(axum::extract::DefaultBodyLimit::max(512 << 20)),
        )
        .layer(axum::middleware::from_fn_with_state(app, authorize));
    Router::new().route("/users/login", post(login)).merge(authed)
}

fn problem(status: StatusCode, message: &str) -> Response {
    let error = status.canonical_reason().unwrap_or("Error");
    (
        status,
        Json(json!({"code": status.as_u16(), "message": message, "error": error, "url": "", "timestamp": now()})),
    )
        .into_response()
}

fn now() -> String {
    "2026-11-29T00:00:00Z".into()
}

async fn record(State(app): State<App>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let path = path.strip_prefix("/rest-api/itsm/v1").unwrap_or(path).to_string();
    lock(&app).requests.push(format!("{} {path}", request.method()));
    next.run(request).await
}

#[derive(Deserialize)]
struct LoginForm {
    login: String,
    password: String,
}

async fn login(State(app): State<App>, Form(form): Form<LoginForm>) -> Response {
    if form.login != app.config.user || form.password != app.config.password {
        return problem(StatusCode::UNAUTHORIZED, "Wrong credentials provided.");
    }
    let mut data = lock(&app);
    data.logins += 1;
    let token = format!("Bearer standin-{}-{}", data.logins, data.requests.len());
    data.tokens.insert(token.clone(), 0);
    Json(json!({"code": 200, "message": "OK", "timestamp": now(), "token": token})).into_response()
}

async fn authorize(State(app): State<App>, headers: HeaderMap, request: Request, next: Next) -> Response {
    let token = headers
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default()
        .to_string();
    {
        let mut data = lock(&app);
        let limit = app.config.token_requests;
        match data.tokens.get_mut(&token) {
            Some(used) if limit.is_none_or(|l| *used < l) => *used += 1,
            _ => return problem(StatusCode::UNAUTHORIZED, "User is unauthorized"),
        }
    }
    next.run(request).await
}

fn template_def<'a>(app: &'a App, code: &str) -> Option<&'a TemplateDef> {
    app.config.templates.iter().find(|t| t.code == code)
}

async fn list_templates(State(app): State<App>) -> Response {
    let list: Vec<Value> = app
        .config
        .templates
        .iter()
        .map(|t| json!({"name": t.code, "templateCode": t.code, "url": format!("/dc/{}", t.code)}))
        .collect();
    Json(Value::Array(list)).into_response()
}

async fn template(State(app): State<App>, Path(code): Path<String>) -> Response {
    let Some(t) = template_def(&app, &code) else {
        return problem(StatusCode::NOT_FOUND, "Resource not found");
    };
    let attributes: Map<String, Value> = t
        .attributes
        .iter()
        .map(|(a, ty, multi)| (a.clone(), json!({"name": a, "type": ty, "multiValue": multi})))
        .collect();
    let folders: Vec<Value> = t
        .folders
        .iter()
        .map(|f| json!({"folderName": f, "folderCode": f}))
        .collect();
    Json(json!({"name": t.code, "code": t.code, "allowedFolders": folders, "attributes": attributes}))
        .into_response()
}

fn card_json(id: i64, card: &Card, selected: Option<&[String]>) -> Value {
    let data: Map<String, Value> = card
        .data
        .iter()
        .filter(|(k, _)| selected.is_none_or(|s| s.iter().any(|x| x == *k)))
        .map(|(k, vs)| {
            let values: Vec<Value> = vs
                .as_array()
                .into_iter()
                .flatten()
                .map(|v| json!({"value": v}))
                .collect();
            (k.clone(), json!({"name": k, "type": "string", "values": values}))
        })
        .collect();
    json!({
        "dataCardId": id.to_string(), "name": format!("{} {id}", card.template),
        "url": format!("/dc/{}/data/{id}", card.template),
        "templateCode": card.template, "folderCode": card.folder, "data": data,
    })
}

#[derive(Deserialize)]
struct ListQuery {
    filter: Option<String>,
    #[serde(rename = "dataCards")]
    data_cards: Option<bool>,
    #[serde(rename = "selectedAttributes")]
    selected: Option<String>,
    limit: Option<usize>,
    #[serde(rename = "filterId")]
    filter_id: Option<i64>,
}

async fn list_cards(
    State(app): State<App>,
    Path(code): Path<String>,
    Query(q): Query<ListQuery>,
) -> Response {
    if template_def(&app, &code).is_none() {
        return problem(StatusCode::NOT_FOUND, "Resource not found");
    }
    let filter = match q.filter.as_deref().map(filter::parse).transpose() {
        Ok(f) => f,
        Err(e) => return problem(StatusCode::BAD_REQUEST, &format!("Invalid filter: {e}")),
    };
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let selected: Option<Vec<String>> = q
        .selected
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.split(',').map(|a| a.trim().to_string()).collect());
    let data = lock(&app);
    let below = q.filter_id.filter(|id| *id > 0).unwrap_or(i64::MAX);
    // A filter of `=` terms joined by `or` reads the index; anything else scans.
    let indexed: Option<std::collections::BTreeSet<i64>> =
        filter.as_ref().and_then(|f| f.equalities()).map(|terms| {
            terms
                .iter()
                .filter_map(|(a, v)| data.index.get(&(code.clone(), a.clone(), v.clone())))
                .flatten()
                .copied()
                .collect()
        });
    let candidates: Box<dyn Iterator<Item = (&i64, &Card)>> = match &indexed {
        Some(ids) => Box::new(
            ids.range(..below)
                .rev()
                .filter_map(|id| data.cards.get_key_value(id)),
        ),
        None => Box::new(data.cards.range(..below).rev()),
    };
    let page: Vec<Value> = candidates
        .filter(|(_, c)| c.template == code && !c.deleted)
        .filter(|(_, c)| filter.as_ref().is_none_or(|f| f.matches(&|a| c.text(a))))
        .take(limit)
        .map(|(id, c)| {
            if q.data_cards.unwrap_or(false) {
                card_json(*id, c, selected.as_deref())
            } else {
                json!({"dataCardId": id.to_string(), "name": format!("{code} {id}"), "url": format!("/dc/{code}/data/{id}")})
            }
        })
        .collect();
    Json(json!({"meta": {"count": page.len(), "limit": limit, "links": {}}, "data": page})).into_response()
}

/// The longest text a string attribute takes (the real solution has such limits too).
pub const MAX_TEXT: usize = 50;

/// Checks and converts `{attr: {values: [{value}]}}` into the stored shape.
fn values(t: &TemplateDef, data: &Value) -> Result<Map<String, Value>, Vec<Value>> {
    let mut out = Map::new();
    let mut errors = Vec::new();
    for (attr, element) in data.as_object().into_iter().flatten() {
        let Some((_, ty, multi)) = t.attributes.iter().find(|(a, _, _)| a == attr) else {
            errors.push(json!({"attributeCode": attr, "attributeType": "unknown", "message": format!("Attribute {attr} does not exist in template {}", t.code), "error": "Bad Request"}));
            continue;
        };
        let vals: Vec<Value> = element
            .get("values")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| v.get("value").cloned())
            .collect();
        if vals.len() > 1 && !multi {
            errors.push(json!({"attributeCode": attr, "attributeType": ty, "message": "Attribute takes one value", "error": "Bad Request"}));
            continue;
        }
        if ty == "string"
            && vals
                .iter()
                .any(|v| v.as_str().is_some_and(|s| s.chars().count() > MAX_TEXT))
        {
            errors.push(json!({"attributeCode": attr, "attributeType": ty, "message": format!("Value is longer than {MAX_TEXT} characters"), "error": "Bad Request"}));
            continue;
        }
        if ty == "number"
            && vals
                .iter()
                .any(|v| v.as_f64().is_none() && v.as_str().and_then(|s| s.parse::<f64>().ok()).is_none())
        {
            errors.push(json!({"attributeCode": attr, "attributeType": ty, "message": "Value is not a number", "error": "Bad Request"}));
            continue;
        }
        out.insert(attr.clone(), Value::Array(vals));
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

async fn bulk(State(app): State<App>, Path(code): Path<String>, Json(items): Json<Vec<Value>>) -> Response {
    let Some(t) = template_def(&app, &code).cloned() else {
        return problem(StatusCode::NOT_FOUND, "Resource not found");
    };
    let mut data = lock(&app);
    let mut results = Vec::new();
    let (mut saved, mut refused) = (0, 0);
    for item in &items {
        let outcome = match values(&t, item.get("data").unwrap_or(&Value::Null)) {
            Err(errors) => Err(errors),
            Ok(vals) => match item
                .get("dataCardId")
                .and_then(Value::as_str)
                .map(str::parse::<i64>)
            {
                Some(Ok(id)) => match data.cards.get_mut(&id) {
                    Some(card) if card.template == code && !card.deleted => {
                        card.data.extend(vals);
                        Ok(id)
                    }
                    _ => Err(vec![
                        json!({"message": format!("Data card {id} not found"), "error": "Not Found"}),
                    ]),
                },
                Some(Err(_)) => Err(vec![
                    json!({"message": "Invalid dataCardId", "error": "Bad Request"}),
                ]),
                None => match item.get("folderCode").and_then(Value::as_str) {
                    Some(folder) if t.folders.iter().any(|f| f == folder) => Ok(data.insert(Card {
                        template: code.clone(),
                        folder: folder.to_string(),
                        data: vals,
                        deleted: false,
                    })),
                    other => Err(vec![
                        json!({"message": format!("Folder {} does not accept {code}", other.unwrap_or("(none)")), "error": "Bad Request"}),
                    ]),
                },
            },
        };
        results.push(match outcome {
            Ok(id) => {
                saved += 1;
                json!({"dataCard": {"dataCardId": id.to_string(), "name": format!("{code} {id}"), "url": format!("/dc/{code}/data/{id}")}, "errors": []})
            }
            Err(errors) => {
                refused += 1;
                json!({"dataCard": {}, "errors": errors})
            }
        });
    }
    data.bulk_writes += saved;
    if data.cut_after_bulk_writes.is_some_and(|n| data.bulk_writes >= n) {
        data.cut_after_bulk_writes = None;
        drop(data);
        // The cards are saved, but the client never hears so: the connection is cut.
        std::panic::resume_unwind(Box::new("stand-in: connection cut on purpose"));
    }
    Json(json!({
        "meta": {"timestamp": now(), "url": format!("/dc/{code}/data"),
                 "importResult": {"handledDataCards": items.len(), "savedDataCards": saved, "notSavedDataCards": refused}},
        "data": results,
    }))
    .into_response()
}

async fn create(State(app): State<App>, Path(code): Path<String>, Json(body): Json<Value>) -> Response {
    let Some(t) = template_def(&app, &code).cloned() else {
        return problem(StatusCode::NOT_FOUND, "Resource not found");
    };
    let folder = body.get("folderCode").and_then(Value::as_str).unwrap_or_default();
    if !t.folders.iter().any(|f| f == folder) {
        return problem(
            StatusCode::BAD_REQUEST,
            &format!("Folder {folder} does not accept {code}"),
        );
    }
    let vals = match values(&t, body.get("data").unwrap_or(&Value::Null)) {
        Ok(v) => v,
        Err(errors) => return problem(StatusCode::BAD_REQUEST, &Value::Array(errors).to_string()),
    };
    let id = lock(&app).insert(Card {
        template: code.clone(),
        folder: folder.to_string(),
        data: vals,
        deleted: false,
    });
    (
        StatusCode::CREATED,
        Json(json!({"meta": {"timestamp": now(), "url": format!("/dc/{code}/data")}, "dataCard": {"dataCardId": id.to_string()}})),
    )
        .into_response()
}

fn live_card(data: &Data, code: &str, id: &str) -> Option<i64> {
    let id: i64 = id.parse().ok()?;
    data.cards
        .get(&id)
        .filter(|c| c.template == code && !c.deleted)
        .map(|_| id)
}

async fn read(State(app): State<App>, Path((code, id)): Path<(String, String)>) -> Response {
    let data = lock(&app);
    match live_card(&data, &code, &id) {
        Some(id) => Json(card_json(id, &data.cards[&id], None)).into_response(),
        None => problem(StatusCode::NOT_FOUND, "Resource not found"),
    }
}

async fn change(
    State(app): State<App>,
    Path((code, id)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> Response {
    let Some(t) = template_def(&app, &code).cloned() else {
        return problem(StatusCode::NOT_FOUND, "Resource not found");
    };
    let vals = match values(&t, body.get("data").unwrap_or(&Value::Null)) {
        Ok(v) => v,
        Err(errors) => return problem(StatusCode::BAD_REQUEST, &Value::Array(errors).to_string()),
    };
    let mut data = lock(&app);
    let Some(id) = live_card(&data, &code, &id).filter(|id| data.change(*id, &code, vals)) else {
        return problem(StatusCode::NOT_FOUND, "Resource not found");
    };
    Json(json!({"meta": {"timestamp": now(), "url": format!("/dc/{code}/data/{id}")}, "dataCard": {"dataCardId": id.to_string()}}))
        .into_response()
}

/// Upload attachment to data card: multipart `fileName` and `fileUpload`.
async fn upload(
    State(app): State<App>,
    Path((code, id, attribute)): Path<(String, String, String)>,
    mut form: axum::extract::Multipart,
) -> Response {
    let (mut name, mut bytes) = (None, None);
    while let Ok(Some(field)) = form.next_field().await {
        match field.name() {
            Some("fileName") => name = field.text().await.ok(),
            Some("fileUpload") => bytes = field.bytes().await.ok().map(|b| b.to_vec()),
            _ => {}
        }
    }
    let (Some(name), Some(bytes)) = (name, bytes) else {
        return problem(StatusCode::BAD_REQUEST, "fileName and fileUpload are required");
    };
    let mut data = lock(&app);
    let Some(card) = live_card(&data, &code, &id) else {
        return problem(StatusCode::NOT_FOUND, "Resource not found");
    };
    data.attachments.push(Attachment {
        card,
        attribute,
        name,
        bytes,
    });
    Json(json!({"code": 200, "message": "File uploaded", "timestamp": now()})).into_response()
}

async fn delete(State(app): State<App>, Path((code, id)): Path<(String, String)>) -> Response {
    let mut data = lock(&app);
    let Some(id) = live_card(&data, &code, &id) else {
        return problem(StatusCode::NOT_FOUND, "Resource not found");
    };
    data.unindex(id);
    if let Some(card) = data.cards.get_mut(&id) {
        card.deleted = true;
    }
    Json(json!({"code": 200, "message": "Moved to trash", "timestamp": now()})).into_response()
}

/// The subset of the API's filter language the client writes.
pub mod filter {
    /// `$attr$ = 'v'` or `!=`, joined by `and` (binding first) and `or`.
    #[derive(Debug)]
    pub struct Filter(Vec<Vec<(String, bool, String)>>);

    impl Filter {
        /// The (attribute, value) pairs when the filter is only `=` terms joined by `or`.
        pub fn equalities(&self) -> Option<Vec<(String, String)>> {
            self.0
                .iter()
                .map(|all| match all.as_slice() {
                    [(a, true, v)] => Some((a.clone(), v.clone())),
                    _ => None,
                })
                .collect()
        }

        pub fn matches(&self, value: &dyn Fn(&str) -> Option<String>) -> bool {
            self.0.iter().any(|all| {
                all.iter().all(|(attr, equal, v)| {
                    let actual = value(attr).unwrap_or_default();
                    (actual == *v) == *equal
                })
            })
        }
    }

    pub fn parse(text: &str) -> Result<Filter, String> {
        let mut rest = text.trim();
        let mut any = Vec::new();
        let mut all = Vec::new();
        loop {
            rest = rest.trim_start();
            let after = rest.strip_prefix('$').ok_or("expected $attribute$")?;
            let end = after.find('$').ok_or("unclosed $attribute$")?;
            let attr = after[..end].to_string();
            rest = after[end + 1..].trim_start();
            let equal = if let Some(r) = rest.strip_prefix("!=") {
                rest = r;
                false
            } else if let Some(r) = rest.strip_prefix('=') {
                rest = r;
                true
            } else {
                return Err("expected = or !=".into());
            };
            rest = rest
                .trim_start()
                .strip_prefix('\'')
                .ok_or("expected a quoted value")?;
            let mut value = String::new();
            loop {
                let i = rest.find('\'').ok_or("unclosed quote")?;
                value.push_str(&rest[..i]);
                rest = &rest[i + 1..];
                if let Some(r) = rest.strip_prefix('\'') {
                    value.push('\'');
                    rest = r;
                } else {
                    break;
                }
            }
            all.push((attr, equal, value));
            rest = rest.trim_start();
            if rest.is_empty() {
                any.push(all);
                return Ok(Filter(any));
            }
            let lower = rest.to_ascii_lowercase();
            if lower.starts_with("and ") {
                rest = &rest[4..];
            } else if lower.starts_with("or ") {
                rest = &rest[3..];
                any.push(std::mem::take(&mut all));
            } else {
                return Err(format!("expected and / or at '{rest}'"));
            }
        }
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn or_of_ands_with_doubled_quotes() {
            let f = super::parse("$a$ = 'x' and $b$ != 'O''Neil' or $a$ = 'y'").unwrap();
            let card = |a: &str, b: &str| {
                let (a, b) = (a.to_string(), b.to_string());
                move |k: &str| Some(if k == "a" { a.clone() } else { b.clone() })
            };
            assert!(f.matches(&card("x", "z")));
            assert!(!f.matches(&card("x", "O'Neil")));
            assert!(f.matches(&card("y", "O'Neil")));
            assert!(super::parse("$a$ ~ 'x'").is_err());
        }
    }
}
