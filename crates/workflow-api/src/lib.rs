//! The workflow API: how workflow engines ("Execute custom backend task",
//! "Run provisioning task") reach Provisio's tasks over local HTTP.
//!
//! Under `/api/v1`: invoke an event task, run a scheduled task now, read a
//! run, list the tasks a token may call, and health (no token). Every other
//! request needs `Authorization: Bearer TOKEN` (`provisio api-token create`):
//! without a valid token it gets 401 and nothing runs; a token used for a task
//! it may not call gets 403. Bodies are limited in size, each token in
//! request rate, and runs in number at once: they take the engine's worker
//! slots, shared with the scheduler (`workers`; a caller that would wait
//! longer than the queue timeout gets 503 with a clear message).
//! Before any route, a request's `Host`, `Origin` and declared size are
//! checked ([`gate`]); connections are capped and timed ([`server`]); an
//! address that fails authentication too often is answered 429 without a
//! token check. Unknown routes and methods answer with the same JSON error.
//! HTTPS when given a certificate and key (rustls). The OpenAPI description
//! is generated from this code and served at
//! `/api/v1/openapi.json`; `docs/workflow-api.openapi.json` is its committed copy.

mod gate;
pub mod host;
mod limits;
mod server;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use provisio_engine::error::ErrorCode;
use provisio_engine::model::{ApiToken, EventOutcomeKind, Run, RunKind, RunStatus, RunTrigger, TaskUsage};
use provisio_engine::{Engine, EngineError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{OpenApi, ToSchema};

pub use limits::Limits;
use limits::{FailedAuth, RateLimiter};
pub use server::ClientAddr;

/// The API's own version (its paths start `/api/v1`).
pub const API_VERSION: &str = "1.0.0";

#[derive(Clone)]
struct App {
    engine: Engine,
    limits: Limits,
    rate: Arc<RateLimiter>,
    failed_auth: Arc<FailedAuth>,
    hosts: gate::Hosts,
}

/// The router of the whole API as served on `listen`, whose address (and
/// the loopback names) it answers to. Runs it starts take the engine's
/// worker slots, which the scheduler of the same process shares.
pub fn router(engine: Engine, limits: Limits, listen: SocketAddr) -> Router {
    let app = App {
        // What callers change through the API is audited as theirs.
        engine: engine.with_surface(provisio_engine::model::Surface::WorkflowApi),
        rate: Arc::new(RateLimiter::new(limits.requests_per_minute)),
        failed_auth: Arc::new(FailedAuth::new(limits.failed_auth_per_minute)),
        hosts: gate::Hosts::of(listen),
        limits,
    };
    let authed = Router::new()
        .route("/tasks", get(list_tasks))
        .route("/connectors/{connector}/tasks/{task}/invoke", post(invoke))
        .route("/connectors/{connector}/tasks/{task}/run", post(run_now))
        .route("/runs/{id}", get(read_run))
        .layer(axum::middleware::from_fn_with_state(app.clone(), authorize));
    let api = Router::new()
        .route("/health", get(health))
        .route("/openapi.json", get(openapi))
        .merge(authed)
        .method_not_allowed_fallback(wrong_method)
        .fallback(no_route)
        .layer(DefaultBodyLimit::max(app.limits.body_bytes))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            app.limits.body_read_timeout,
        ));
    Router::new()
        .nest("/api/v1", api)
        .fallback(no_route)
        .layer(axum::middleware::from_fn_with_state(app.clone(), gate::check))
        .with_state(app)
}

async fn no_route(request: Request) -> Response {
    let path = gate::printable(request.uri().path(), 200);
    error(
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
        format!(
            "no such route: {} {path}; the routes are listed at /api/v1/openapi.json",
            request.method()
        ),
    )
}

async fn wrong_method(request: Request) -> Response {
    let path = gate::printable(request.uri().path(), 200);
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::MethodNotAllowed,
        format!(
            "{} is not a method of {path}; the routes are listed at /api/v1/openapi.json",
            request.method()
        ),
    )
}

/// A certificate chain and its private key (PEM files), for HTTPS.
#[derive(Debug, Clone)]
pub struct Tls {
    pub cert: std::path::PathBuf,
    pub key: std::path::PathBuf,
}

/// Serves the API on `addr` (over HTTPS with `tls`) until `shutdown` completes.
pub async fn serve(
    engine: Engine,
    addr: SocketAddr,
    limits: Limits,
    tls: Option<Tls>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), EngineError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| EngineError::io(format!("cannot listen on {addr}"), e))?;
    serve_listener(listener, engine, limits, tls, shutdown).await
}

/// Serves the API on a bound `listener` (over HTTPS with `tls`) until `shutdown` completes.
pub async fn serve_listener(
    listener: tokio::net::TcpListener,
    engine: Engine,
    limits: Limits,
    tls: Option<Tls>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), EngineError> {
    let addr = listener
        .local_addr()
        .map_err(|e| EngineError::io("the workflow API's address is unknown", e))?;
    let acceptor = match tls {
        None => None,
        Some(tls) => {
            // One process-wide provider (ring); a second install is refused harmlessly.
            let _ = rustls::crypto::ring::default_provider().install_default();
            let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(&tls.cert, &tls.key)
                .await
                .map_err(|e| {
                    EngineError::invalid(
                        "tls",
                        format!(
                            "cannot use the certificate {} with the key {}: {e}; give PEM files",
                            tls.cert.display(),
                            tls.key.display()
                        ),
                    )
                })?;
            Some(tokio_rustls::TlsAcceptor::from(config.get_inner()))
        }
    };
    let app = router(engine, limits.clone(), addr);
    server::serve_connections(listener, app, &limits, acceptor, shutdown).await;
    Ok(())
}

/// The OpenAPI description of this API, as served.
pub fn openapi_json() -> String {
    ApiDoc::openapi().to_pretty_json().unwrap_or_default()
}

// ----- errors ----------------------------------------------------------------

/// Every error: a stable code and a message a person can act on.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiError {
    /// A stable code: `unauthorized`, `forbidden`, `not_found`, `invalid`, `busy`, `in_use`, `rate_limited`, …
    #[schema(value_type = String)]
    pub code: ErrorCode,
    pub message: String,
}

fn error(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Response {
    (
        status,
        Json(ApiError {
            code,
            message: message.into(),
        }),
    )
        .into_response()
}

fn engine_error(e: EngineError) -> Response {
    let status = match e.code() {
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::Invalid | ErrorCode::MissingFields | ErrorCode::Input => StatusCode::BAD_REQUEST,
        ErrorCode::Busy => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::InUse | ErrorCode::AlreadyExists => StatusCode::CONFLICT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    error(status, e.code(), e.to_string())
}

// ----- authentication ----------------------------------------------------------

async fn authorize(State(app): State<App>, mut request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or_default()
        .to_string();
    let address = request.extensions().get::<ClientAddr>().map(|c| c.0.ip());
    if let Some(wait) = address.and_then(|a| app.failed_auth.refuses(a, &presented)) {
        return with_retry_after(
            error(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::RateLimited,
                format!(
                    "more than {} failed authentications a minute came from this address; try again in {} s",
                    app.limits.failed_auth_per_minute,
                    wait.as_secs().max(1)
                ),
            ),
            wait,
        );
    }
    let token = match app.engine.check_api_token(&presented).await {
        Ok(Some(token)) => {
            app.failed_auth.accepted(&presented);
            token
        }
        Ok(None) => {
            if let Some(a) = address {
                app.failed_auth.failed(a);
            }
            return error(
                StatusCode::UNAUTHORIZED,
                ErrorCode::Unauthorized,
                "a valid API token is needed: send 'Authorization: Bearer TOKEN' (provisio api-token create)",
            );
        }
        Err(e) => return engine_error(e),
    };
    if let Err(wait) = app.rate.check(&token.name) {
        return with_retry_after(
            error(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::RateLimited,
                format!(
                    "token '{}' sent more than {} requests a minute; try again in {} s",
                    token.name,
                    app.limits.requests_per_minute,
                    wait.as_secs().max(1)
                ),
            ),
            wait,
        );
    }
    request.extensions_mut().insert(token);
    next.run(request).await
}

fn with_retry_after(mut response: Response, wait: std::time::Duration) -> Response {
    if let Ok(v) = wait.as_secs().max(1).to_string().parse() {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

/// The task a request names, when this token may call it.
async fn task_for(
    app: &App,
    token: &ApiToken,
    connector: &str,
    task: &str,
) -> Result<provisio_engine::model::Task, Response> {
    let found = app
        .engine
        .task(&format!("{connector}/{task}"))
        .await
        .map_err(engine_error)?;
    if !token.may_call(&found.id) {
        return Err(error(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            format!("token '{}' may not call {connector}/{task}", token.name),
        ));
    }
    Ok(found)
}

// ----- endpoints ---------------------------------------------------------------

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: String,
    pub version: String,
}

/// Whether the API is up (no token needed).
#[utoipa::path(get, path = "/api/v1/health", responses((status = 200, body = Health),
    (status = 403, body = ApiError, description = "a web page's foreign Origin (cross_origin)"), (status = 405, body = ApiError, description = "not a method of this route (method_not_allowed)"), (status = 421, body = ApiError, description = "the Host is not this API (wrong_host)")))]
async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}

/// This API's OpenAPI description.
async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], openapi_json()).into_response()
}

/// A task a token may call, with its last run.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskView {
    pub id: String,
    pub connector: String,
    pub name: String,
    /// `scheduled`, `event` or `authentication`.
    #[schema(value_type = String)]
    pub usage: TaskUsage,
    pub enabled: bool,
    /// The status of its last run, if it has run.
    #[schema(value_type = Option<String>)]
    pub last_status: Option<RunStatus>,
    pub last_run_id: Option<String>,
}

/// The tasks this token may call, with their last run's status.
#[utoipa::path(get, path = "/api/v1/tasks", security(("token" = [])),
    responses((status = 200, body = [TaskView]), (status = 401, body = ApiError), (status = 403, body = ApiError, description = "a token that may not call the task, or a web page's foreign Origin (cross_origin)"), (status = 405, body = ApiError, description = "not a method of this route (method_not_allowed)"), (status = 421, body = ApiError, description = "the Host is not this API (wrong_host)"),
              (status = 429, body = ApiError, description = "over a token's rate, or too many failed authentications from this address")))]
async fn list_tasks(State(app): State<App>, Extension(token): Extension<ApiToken>) -> Response {
    let tasks = match app.engine.list_tasks(None).await {
        Ok(t) => t,
        Err(e) => return engine_error(e),
    };
    let mut out = Vec::new();
    for t in tasks.into_iter().filter(|t| token.may_call(&t.id)) {
        let last = app
            .engine
            .history(&t.id, 1)
            .await
            .ok()
            .and_then(|h| h.into_iter().next());
        out.push(TaskView {
            id: t.id,
            connector: t.connector_name,
            name: t.name,
            usage: t.usage,
            enabled: t.enabled,
            last_status: last.as_ref().map(|r| r.status),
            last_run_id: last.map(|r| r.id),
        });
    }
    Json(out).into_response()
}

/// What a workflow sends to an event task.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvokeRequest {
    /// The datacard's values by template attribute (the task's mappings turn them into the script's names).
    #[schema(value_type = Object)]
    pub values: Value,
    /// The calling workflow's name, recorded as a workflow reference of the task.
    pub caller: Option<String>,
    /// Read tasks: the card of the task's template to write the read values to.
    pub card: Option<CardRequest>,
}

/// A card of the task's template: the one whose `attribute` holds `key`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CardRequest {
    pub attribute: String,
    pub key: String,
}

/// A run as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunView {
    pub id: String,
    /// `CONNECTOR/TASK`.
    pub task: String,
    /// `scheduled`, `event`, `undo` or `held`.
    #[schema(value_type = String)]
    pub kind: RunKind,
    /// `running`, `succeeded`, `failed`, `interrupted`, `stopped`, …
    #[schema(value_type = String)]
    pub status: RunStatus,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// Event runs: `completed` or `exception` (the script raised).
    #[schema(value_type = Option<String>)]
    pub outcome: Option<EventOutcomeKind>,
    /// What the run said: the event script's message, or the stage that ended it.
    pub message: Option<String>,
    /// Read tasks: the values the script read, by template attribute.
    #[schema(value_type = Option<Object>)]
    pub values: Option<Value>,
    #[schema(value_type = Object)]
    pub counts: Value,
}

fn run_view(run: &Run) -> RunView {
    let message = run
        .message
        .clone()
        .or_else(|| run.load.info.clone().filter(|_| run.load.status.is_some()))
        .or_else(|| run.extract.info.clone());
    RunView {
        id: run.id.clone(),
        task: run.task.clone(),
        kind: run.kind,
        status: run.status,
        started_at: run.started_at.clone(),
        finished_at: run.finished_at.clone(),
        outcome: run.outcome,
        message,
        values: run.returned.clone(),
        counts: serde_json::to_value(&run.counts).unwrap_or_default(),
    }
}

/// Invokes an event task with the workflow's values and waits for its end. A
/// read task answers with the values its script read (and writes them to
/// `card` when one is named).
#[utoipa::path(post, path = "/api/v1/connectors/{connector}/tasks/{task}/invoke", security(("token" = [])),
    params(("connector" = String, Path, description = "connector name or id"), ("task" = String, Path, description = "task name")),
    request_body = InvokeRequest,
    responses((status = 200, body = RunView), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, body = ApiError, description = "a token that may not call the task, or a web page's foreign Origin (cross_origin)"), (status = 404, body = ApiError), (status = 405, body = ApiError, description = "not a method of this route (method_not_allowed)"),
              (status = 413, body = ApiError, description = "the body, or its declared length, is over the limit (too_large)"),
              (status = 421, body = ApiError, description = "the Host is not this API (wrong_host)"), (status = 429, body = ApiError), (status = 503, body = ApiError)))]
async fn invoke(
    State(app): State<App>,
    Extension(token): Extension<ApiToken>,
    Path((connector, task)): Path<(String, String)>,
    body: Result<Json<InvokeRequest>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let found = match task_for(&app, &token, &connector, &task).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let Json(request) = match body {
        Ok(b) => b,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return gate::too_large(&app),
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                ErrorCode::Invalid,
                format!("the body is not an invocation: {}", e.body_text()),
            )
        }
    };
    if found.usage != TaskUsage::Event {
        return error(
            StatusCode::BAD_REQUEST,
            ErrorCode::Invalid,
            format!("{connector}/{task} is a scheduled task: run it with POST …/run instead"),
        );
    }
    let _permit = match app.engine.worker_slots().take(app.limits.queue_timeout).await {
        Some(p) => p,
        None => return busy(&app),
    };
    let caller = request.caller.as_deref().filter(|c| !c.trim().is_empty());
    let card = request.card.map(|c| provisio_engine::api::CardKey {
        attribute: c.attribute,
        key: c.key,
    });
    match app
        .engine
        .invoke_event_for(&found.id, &request.values, caller, card.as_ref())
        .await
    {
        Ok(run) => Json(run_view(&run)).into_response(),
        Err(e) => engine_error(e),
    }
}

fn busy(app: &App) -> Response {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Busy,
        format!(
            "all {} workers stayed busy for {:.1} s; nothing was run, try again later",
            app.engine.worker_slots().size(),
            app.limits.queue_timeout.as_secs_f64()
        ),
    )
}

/// The run a scheduled task started.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunStarted {
    pub id: String,
    /// Where to read it.
    pub url: String,
}

/// Runs a scheduled task now; answers at once with the run to read.
#[utoipa::path(post, path = "/api/v1/connectors/{connector}/tasks/{task}/run", security(("token" = [])),
    params(("connector" = String, Path, description = "connector name or id"), ("task" = String, Path, description = "task name")),
    responses((status = 202, body = RunStarted), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, body = ApiError, description = "a token that may not call the task, or a web page's foreign Origin (cross_origin)"), (status = 404, body = ApiError), (status = 405, body = ApiError, description = "not a method of this route (method_not_allowed)"), (status = 409, body = ApiError),
              (status = 421, body = ApiError, description = "the Host is not this API (wrong_host)"), (status = 429, body = ApiError), (status = 503, body = ApiError)))]
async fn run_now(
    State(app): State<App>,
    Extension(token): Extension<ApiToken>,
    Path((connector, task)): Path<(String, String)>,
) -> Response {
    let found = match task_for(&app, &token, &connector, &task).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let Some(permit) = app.engine.worker_slots().take(app.limits.queue_timeout).await else {
        return busy(&app);
    };
    let run = match app.engine.create_run(&found.id, RunTrigger::Api).await {
        Ok(run) => run,
        Err(e) => return engine_error(e),
    };
    let (engine, id) = (app.engine.clone(), run.id.clone());
    tokio::spawn(async move {
        let _permit = permit;
        if let Err(e) = engine.execute_run(&id, false).await {
            tracing::warn!(run_id = %id, error = %e, "a run the workflow API started failed to execute");
        }
    });
    (
        StatusCode::ACCEPTED,
        Json(RunStarted {
            url: format!("/api/v1/runs/{}", run.id),
            id: run.id,
        }),
    )
        .into_response()
}

/// Reads a run of a task this token may call.
#[utoipa::path(get, path = "/api/v1/runs/{id}", security(("token" = [])),
    params(("id" = String, Path, description = "run id")),
    responses((status = 200, body = RunView), (status = 401, body = ApiError), (status = 403, body = ApiError, description = "a token that may not call the task, or a web page's foreign Origin (cross_origin)"),
              (status = 404, body = ApiError), (status = 405, body = ApiError, description = "not a method of this route (method_not_allowed)"), (status = 421, body = ApiError, description = "the Host is not this API (wrong_host)"), (status = 429, body = ApiError)))]
async fn read_run(
    State(app): State<App>,
    Extension(token): Extension<ApiToken>,
    Path(id): Path<String>,
) -> Response {
    match app.engine.run(&id).await {
        Ok(run) if token.may_call(&run.task_id) => Json(run_view(&run)).into_response(),
        Ok(run) => error(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            format!("token '{}' may not read runs of {}", token.name, run.task),
        ),
        Err(e) => engine_error(e),
    }
}

// ----- the description ---------------------------------------------------------

struct TokenScheme;

impl utoipa::Modify for TokenScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("a token from `provisio api-token create`"))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Provisio workflow API", version = "1.0.0",
         description = "Local HTTP API for workflow engines: invoke event tasks, run scheduled tasks, read runs."),
    paths(health, list_tasks, invoke, run_now, read_run),
    components(schemas(ApiError, Health, TaskView, InvokeRequest, CardRequest, RunView, RunStarted)),
    modifiers(&TokenScheme)
)]
struct ApiDoc;
