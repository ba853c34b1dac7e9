//! Test support shared by the server crates' integration tests: the real peers (Prism on
//! GitHub's OpenAPI description, moto behind a CBOR shim, the MCP SDK clients), a recording
//! proxy in front of a peer, a raw JSON-RPC client for a server binary, a sandbox holding
//! one server's config and journal, and podman with the servers' images.
//!
//! A peer that is not installed fails the test with the command that installs it; nothing is
//! skipped. This crate is never shipped.

use std::{
    io::{BufRead, BufReader, Write},
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, ChildStdin, ChildStdout, Command, Stdio},
    sync::{Arc, Mutex, OnceLock, mpsc},
    time::Duration,
};

use serde_json::{Value, json};

/// Where `cargo xtask peers` installs the test peers: `CE_PEERS_DIR`, else
/// `$CARGO_TARGET_DIR/peers` (as xtask chooses it, so that a plain `cargo test` with a shared
/// target directory finds them), else the workspace's `target/peers`.
pub fn peers_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CE_PEERS_DIR") {
        return PathBuf::from(dir);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"));
    workspace_root().join(target).join("peers")
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A file of an installed peer, or a loud failure saying how to install it.
pub fn peer_file(relative: &str) -> PathBuf {
    let path = peers_dir().join(relative);
    assert!(
        path.exists(),
        "test peer missing: {} — install the pinned peers with `cargo xtask peers`",
        path.display()
    );
    path
}

/// A workspace binary built by `cargo build --workspace` (xtask builds before testing).
pub fn workspace_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().unwrap().parent().unwrap().join(name);
    assert!(
        path.exists(),
        "{} missing: run `cargo build --workspace` first (`cargo xtask test` does)",
        path.display()
    );
    path
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Prism's mock server on GitHub's OpenAPI description, started once per test binary (it takes
/// ~13 s and ~330 MB).
pub fn github_prism() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        let prism = peer_file("node_modules/@stoplight/prism-cli/dist/index.js");
        let spec = peer_file("node_modules/@octokit/openapi/generated/api.github.com.json");
        let port = free_port();
        let mut command = Command::new("node");
        command
            .arg(prism)
            .args(["mock", "-h", "127.0.0.1", "-p", &port.to_string()])
            .arg(spec);
        spawn_peer("prism", command);
        let url = format!("http://127.0.0.1:{port}");
        wait_http(&url, Duration::from_secs(120));
        url
    })
}

/// One of Atlassian's OpenAPI descriptions in `../shared/specs` (or `CE_ATLASSIAN_SPECS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AtlassianSpec {
    /// Jira Cloud platform REST API v3 (`/rest/api/3/...`).
    JiraPlatform,
    /// Jira Software Cloud agile API (`/rest/agile/1.0/...`).
    JiraAgile,
    /// Confluence Cloud REST API v1 (`/wiki/rest/api/...`).
    ConfluenceV1,
    /// Confluence Cloud REST API v2 (served under `/wiki/api/v2`).
    ConfluenceV2,
}

impl AtlassianSpec {
    /// The file `cargo xtask peers` prepares it into (xtask/src/specs.rs).
    fn prepared(self) -> &'static str {
        match self {
            AtlassianSpec::JiraPlatform => "atlassian-specs/jira-platform.json",
            AtlassianSpec::JiraAgile => "atlassian-specs/jira-agile.json",
            AtlassianSpec::ConfluenceV1 => "atlassian-specs/confluence-v1.json",
            AtlassianSpec::ConfluenceV2 => "atlassian-specs/confluence-v2.json",
        }
    }
}

/// Prism's mock server on one of Atlassian's specs (prepared for Prism by `cargo xtask peers`
/// from `CE_ATLASSIAN_SPECS`, `../shared/specs` or Atlassian's official URLs), started once
/// per test binary. Prism validates every request against the spec.
pub fn atlassian_prism(spec: AtlassianSpec) -> String {
    static URLS: Mutex<Vec<(AtlassianSpec, String)>> = Mutex::new(Vec::new());
    let mut urls = URLS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, url)) = urls.iter().find(|(s, _)| *s == spec) {
        return url.clone();
    }
    let prism = peer_file("node_modules/@stoplight/prism-cli/dist/index.js");
    let prepared = peer_file(spec.prepared());
    let port = free_port();
    let mut command = Command::new("node");
    command
        .arg(prism)
        .args(["mock", "-h", "127.0.0.1", "-p", &port.to_string()])
        .arg(&prepared);
    spawn_peer("prism-atlassian", command);
    let url = format!("http://127.0.0.1:{port}");
    wait_http(&url, Duration::from_secs(120));
    urls.push((spec, url.clone()));
    url
}

/// A long-lived peer process: spawned from a thread that never ends, so that
/// `PR_SET_PDEATHSIG` (which follows the spawning thread) kills it only with the test process.
fn spawn_peer(name: &str, mut command: Command) {
    let log = std::env::temp_dir().join(format!("{name}-{}.log", uuid()));
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let file = std::fs::File::create(&log).unwrap();
        command.stdout(file.try_clone().unwrap()).stderr(file);
        die_with_parent(&mut command);
        let child = command.spawn();
        let started = child.is_ok();
        tx.send(child.map(|_| ()).map_err(|e| e.to_string()))
            .unwrap();
        if started {
            loop {
                std::thread::park();
            }
        }
    });
    if let Err(e) = rx.recv().unwrap() {
        panic!("cannot start test peer {name}: {e}");
    }
}

/// What [`moto`] seeded (the Python seed script's JSON summary).
pub struct Moto {
    /// The URL servers use as `AWS_ENDPOINT_URL`: the CBOR shim in front of moto.
    pub url: String,
    /// The seed summary (`instance_ids`, ...).
    pub seeded: Value,
}

/// moto's server with the CloudWatch CBOR shim in front, seeded once per test binary in
/// `us-east-1` by `crates/aws-mcp/tests/peers/seed.py`.
pub fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(|| {
        let venv = peer_file("venv/bin/moto_server")
            .parent()
            .unwrap()
            .to_owned();
        let peers = workspace_root().join("crates/aws-mcp/tests/peers");
        let (moto_port, shim_port) = (free_port(), free_port());
        let mut moto = Command::new(venv.join("moto_server"));
        moto.args(["-H", "127.0.0.1", "-p", &moto_port.to_string()]);
        spawn_peer("moto", moto);
        let mut shim = Command::new(venv.join("python"));
        shim.arg(peers.join("cbor_shim.py"))
            .arg(shim_port.to_string())
            .arg(format!("http://127.0.0.1:{moto_port}"));
        spawn_peer("cbor-shim", shim);
        let url = format!("http://127.0.0.1:{shim_port}");
        wait_http(
            &format!("http://127.0.0.1:{moto_port}"),
            Duration::from_secs(60),
        );
        wait_http(&url, Duration::from_secs(60));
        let seed = Command::new(venv.join("python"))
            .arg(peers.join("seed.py"))
            .arg(&url)
            .arg("us-east-1")
            .output()
            .unwrap();
        assert!(
            seed.status.success(),
            "seeding moto failed: {}",
            String::from_utf8_lossy(&seed.stderr)
        );
        Moto {
            url,
            seeded: serde_json::from_slice(&seed.stdout).unwrap(),
        }
    })
}

/// The environment podman runs with in the tests: the configuration and storage that
/// `cargo xtask images` wrote under the peers directory (runc, cgroupfs, vfs; see
/// ../shared/containers.md), where it built the images.
pub fn podman_env() -> [(&'static str, String); 2] {
    let conf = peer_file("podman/containers.conf");
    let storage = peer_file("podman/storage.conf");
    [
        ("CONTAINERS_CONF", conf.display().to_string()),
        ("CONTAINERS_STORAGE_CONF", storage.display().to_string()),
    ]
}

/// The image `cargo xtask images` built for a server binary, `localhost/<binary>:<version>`,
/// or a loud failure saying how to build it.
pub fn server_image(binary: &str, version: &str) -> String {
    let tag = format!("localhost/{binary}:{version}");
    let exists = Command::new("podman")
        .envs(podman_env())
        .args(["image", "exists", &tag])
        .status()
        .unwrap_or_else(|e| panic!("podman cannot run ({e}): apt-get install podman runc"));
    assert!(
        exists.success(),
        "image {tag} missing: build the images with `cargo xtask images` (`cargo xtask test` does)"
    );
    tag
}

/// Makes a spawned child die when the thread that spawned it exits.
pub fn die_with_parent(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

fn wait_http(url: &str, limit: Duration) {
    let started = std::time::Instant::now();
    let addr: SocketAddr = url.trim_start_matches("http://").parse().unwrap();
    while started.elapsed() < limit {
        if std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("test peer did not listen on {url} within {limit:?}");
}

/// One request as the upstream saw it (the Authorization value is never kept).
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub had_authorization: bool,
    pub body: String,
    pub status: u16,
    pub violations: Option<String>,
}

impl Recorded {
    /// Prism's violations of the request (not of its own example responses, some of which
    /// break GitHub's schema), if any.
    pub fn request_violations(&self) -> Option<String> {
        let all: Vec<Value> = serde_json::from_str(self.violations.as_deref()?).ok()?;
        let request: Vec<&Value> = all
            .iter()
            .filter(|v| v["location"][0] == "request")
            .collect();
        (!request.is_empty()).then(|| serde_json::to_string(&request).unwrap())
    }
}

/// A canned answer the proxy gives instead of forwarding.
#[derive(Debug, Clone)]
pub struct Injection {
    pub path_prefix: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub delay: Duration,
    pub remaining: usize,
}

#[derive(Default)]
struct ProxyState {
    recorded: Vec<Recorded>,
    injections: Vec<Injection>,
    /// Forward injected requests too, for the peer's verdict on them (see
    /// [`RecordingProxy::validate_injected`]).
    validate_injected: bool,
}

/// A reverse proxy in front of Prism that records every request and can answer some itself.
/// Runs on its own thread and runtime, so it outlives nothing and serves any test.
pub struct RecordingProxy {
    url: String,
    state: Arc<Mutex<ProxyState>>,
}

impl RecordingProxy {
    /// Starts a proxy forwarding to `upstream`.
    pub fn start(upstream: &str) -> Self {
        Self::start_routed(&[("", upstream)])
    }

    /// Starts a proxy forwarding each request to the upstream of the first route whose path
    /// prefix it starts with (`("/rest/agile/", agile), ("", platform)`).
    pub fn start_routed(routes: &[(&str, &str)]) -> Self {
        Self::start_with(routes, false)
    }

    /// Like [`RecordingProxy::start_routed`], with the matched prefix cut before forwarding:
    /// an API gateway in front of its products (`("/ex/jira/CLOUD-ID", jira_prism)`).
    pub fn start_mounted(routes: &[(&str, &str)]) -> Self {
        Self::start_with(routes, true)
    }

    fn start_with(routes: &[(&str, &str)], strip: bool) -> Self {
        let routes: Arc<Vec<Route>> = Arc::new(
            routes
                .iter()
                .map(|(prefix, url)| Route {
                    prefix: prefix.to_string(),
                    upstream: url.to_string(),
                    strip,
                })
                .collect(),
        );
        let state = Arc::new(Mutex::new(ProxyState::default()));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let shared = state.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                install_crypto_provider();
                // A fresh connection per request: a pooled one can be reset by Prism's
                // five-second keep-alive just as it is reused.
                let client = reqwest::Client::builder()
                    .pool_max_idle_per_host(0)
                    .build()
                    .unwrap();
                let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
                    let state = shared.clone();
                    let client = client.clone();
                    let routes = routes.clone();
                    async move { forward(state, client, &routes, request).await }
                });
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, app).await.unwrap();
            });
        });
        Self { url, state }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().recorded.clone()
    }

    /// Requests whose path starts with `prefix`.
    pub fn requests_to(&self, method: &str, prefix: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == method && r.path.starts_with(prefix))
            .collect()
    }

    /// Answers the next `count` requests under `path_prefix` with `status`, `headers`, `body`.
    pub fn inject(
        &self,
        path_prefix: &str,
        status: u16,
        headers: &[(&str, &str)],
        body: &str,
        count: usize,
    ) {
        self.state.lock().unwrap().injections.push(Injection {
            path_prefix: path_prefix.to_owned(),
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.to_owned(),
            delay: Duration::ZERO,
            remaining: count,
        });
    }

    /// Delays the next `count` requests under `path_prefix` by `delay` before forwarding.
    pub fn delay(&self, path_prefix: &str, delay: Duration, count: usize) {
        self.state.lock().unwrap().injections.push(Injection {
            path_prefix: path_prefix.to_owned(),
            status: 0,
            headers: Vec::new(),
            body: String::new(),
            delay,
            remaining: count,
        });
    }

    /// From now on, a request answered by an injection is also forwarded to the peer, whose
    /// answer is dropped but whose `sl-violations` are recorded: an injected answer then stands
    /// in for what Prism's examples cannot play, without exempting the request from Prism's
    /// validation.
    pub fn validate_injected(&self) {
        self.state.lock().unwrap().validate_injected = true;
    }

    /// Drops every pending injection and delay.
    pub fn clear_injections(&self) {
        self.state.lock().unwrap().injections.clear();
    }

    /// Fails when Prism flagged any request as invalid against GitHub's description.
    pub fn assert_no_violations(&self) {
        let flagged: Vec<String> = self
            .requests()
            .into_iter()
            .filter(|r| r.request_violations().is_some() || r.status == 422)
            .map(|r| {
                format!(
                    "{} {} -> {} {:?}",
                    r.method,
                    r.path,
                    r.status,
                    r.request_violations()
                )
            })
            .collect();
        assert!(
            flagged.is_empty(),
            "Prism flagged requests as invalid:\n{}",
            flagged.join("\n")
        );
    }
}

/// Where the proxy sends the requests under a path prefix.
struct Route {
    prefix: String,
    upstream: String,
    /// Cut the prefix from the forwarded path.
    strip: bool,
}

async fn forward(
    state: Arc<Mutex<ProxyState>>,
    client: reqwest::Client,
    routes: &[Route],
    request: axum::extract::Request,
) -> axum::response::Response {
    let method = request.method().clone();
    let path = request
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    let headers = request.headers().clone();
    let body = axum::body::to_bytes(request.into_body(), 64 << 20)
        .await
        .unwrap_or_default();
    let (injection, validate_injected) = {
        let mut state = state.lock().unwrap();
        let found = state
            .injections
            .iter_mut()
            .find(|i| i.remaining > 0 && path.starts_with(&i.path_prefix));
        let injection = found.map(|i| {
            i.remaining -= 1;
            i.clone()
        });
        (injection, state.validate_injected)
    };
    let mut record = Recorded {
        method: method.to_string(),
        path: path.clone(),
        had_authorization: headers.contains_key("authorization"),
        body: String::from_utf8_lossy(&body).into_owned(),
        status: 0,
        violations: None,
    };
    // Only a request that reaches the peer needs a route: a proxy of injected answers alone
    // (`start_routed(&[])`) has none.
    let outgoing = || {
        let route = routes
            .iter()
            .find(|route| path.starts_with(route.prefix.as_str()))
            .expect("a route for every forwarded path (end with the \"\" prefix)");
        let forwarded = if route.strip {
            &path[route.prefix.len()..]
        } else {
            path.as_str()
        };
        let mut outgoing = client
            .request(method.clone(), format!("{}{forwarded}", route.upstream))
            .body(body.to_vec());
        for (name, value) in headers.iter() {
            if name != "host" {
                outgoing = outgoing.header(name, value);
            }
        }
        outgoing
    };
    if let Some(injection) = &injection {
        tokio::time::sleep(injection.delay).await;
        if injection.status != 0 {
            if validate_injected {
                let verdict = outgoing().send().await.expect("Prism answers");
                record.violations = verdict
                    .headers()
                    .get("sl-violations")
                    .map(|v| v.to_str().unwrap_or("").to_owned());
            }
            record.status = injection.status;
            state.lock().unwrap().recorded.push(record);
            let mut response = axum::response::Response::builder().status(injection.status);
            for (k, v) in &injection.headers {
                response = response.header(k, v);
            }
            return response
                .body(axum::body::Body::from(injection.body.clone()))
                .unwrap();
        }
    }
    let answer = outgoing().send().await.expect("Prism answers");
    record.status = answer.status().as_u16();
    record.violations = answer
        .headers()
        .get("sl-violations")
        .map(|v| v.to_str().unwrap_or("").to_owned());
    let mut response = axum::response::Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        if name != "transfer-encoding" && name != "content-length" {
            response = response.header(name, value);
        }
    }
    let bytes = answer.bytes().await.unwrap_or_default();
    state.lock().unwrap().recorded.push(record);
    response.body(axum::body::Body::from(bytes)).unwrap()
}

/// Chooses rustls' crypto provider for this process: with the workspace's features unified,
/// reqwest may be built without a default one (the servers choose ring the same way).
pub fn install_crypto_provider() {
    #[expect(
        clippy::disallowed_methods,
        reason = "a test process's start-up, as a binary's main"
    )]
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A server process driven with raw JSON-RPC lines over stdio.
pub struct McpStdio {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    pub stderr_path: PathBuf,
    next_id: u64,
}

impl McpStdio {
    /// Spawns `program` with `envs` (and a clean XDG_STATE_HOME unless given).
    pub fn spawn(program: &Path, args: &[&str], envs: &[(&str, &str)]) -> Self {
        let stderr_path = std::env::temp_dir().join(format!("mcp-stderr-{}.log", uuid()));
        let mut command = Command::new(program);
        command
            .args(args)
            .env_remove("GITHUB_TOKEN")
            .env_remove("CLAUDE_ENTERPRISE_CONFIG")
            .env_remove("ATLASSIAN_API_TOKEN")
            .env_remove("ATLASSIAN_PAT")
            .env_remove("ATLASSIAN_OAUTH_TOKEN")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr_path).unwrap());
        for (k, v) in envs {
            command.env(k, v);
        }
        let mut child = command.spawn().unwrap();
        let stdout: ChildStdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            stdin: child.stdin.take(),
            child,
            lines: rx,
            stderr_path,
            next_id: 100,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn send_raw(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(line.as_bytes()).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
    }

    /// The next line the server writes, parsed.
    pub fn read(&mut self) -> Value {
        let line = self
            .lines
            .recv_timeout(Duration::from_secs(60))
            .expect("the server answered within 60 s");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON from server: {e}: {line}"))
    }

    /// Sends a request and waits for the response with its id (skipping notifications).
    pub fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.send_request(method, params);
        self.response(id)
    }

    pub fn send_request(&mut self, method: &str, params: Value) -> u64 {
        self.next_id += 1;
        let id = self.next_id;
        self.send_raw(
            &json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string(),
        );
        id
    }

    pub fn response(&mut self, id: u64) -> Value {
        loop {
            let message = self.read();
            if message["id"] == json!(id) {
                return message;
            }
        }
    }

    pub fn initialize(&mut self) -> Value {
        let answer = self.request(
            "initialize",
            json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}),
        );
        self.send_raw(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
        answer
    }

    /// `tools/call`, returning the result object (panics on a protocol error).
    pub fn call(&mut self, name: &str, arguments: Value) -> Value {
        let answer = self.request("tools/call", json!({"name": name, "arguments": arguments}));
        assert!(
            answer.get("error").is_none(),
            "{name}: protocol error {answer}"
        );
        assert_within_budget(name, &answer["result"]);
        answer["result"].clone()
    }

    pub fn kill9(&mut self) {
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }

    /// Closes stdin and waits for a clean exit.
    pub fn close(mut self) -> std::process::ExitStatus {
        drop(self.stdin.take());
        self.child.wait().unwrap()
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }
}

impl Drop for McpStdio {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every tool result any test sees fits the kernel's budget
/// (`governance::server::RESULT_BUDGET_BYTES`, in bytes of the text block the model reads) by
/// the server's own bounds: never the kernel's safety net, which leaves only a `truncated` note.
pub fn assert_within_budget(name: &str, result: &Value) {
    let text = result["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("{name}: a result without a text block: {result}"));
    assert!(
        text.len() <= governance::server::RESULT_BUDGET_BYTES,
        "{name}: a result of {} bytes, over the budget of {} bytes",
        text.len(),
        governance::server::RESULT_BUDGET_BYTES
    );
    let structured = &result["structuredContent"];
    let withheld = structured.get("truncated").is_some()
        && structured.get("note").is_some()
        && structured.as_object().is_some_and(|o| o.len() == 2);
    assert!(
        !withheld,
        "{name}: the kernel withheld a result over the budget: {text}"
    );
}

/// The text of a tool result (all text blocks joined).
pub fn result_text(result: &Value) -> String {
    result["content"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["text"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn uuid() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

/// `text` as the kernel shows untrusted text (`trust.untrusted_content = "mark"`): fenced
/// between an opening line naming `author` and `why` and a closing line, `inner` inside.
pub fn assert_fenced(text: &str, author: &str, why: &str, inner: &str) {
    let lines: Vec<&str> = text.lines().collect();
    let (first, last) = (lines[0], lines[lines.len() - 1]);
    assert!(
        first.starts_with("[untrusted content ") && first.contains(author) && first.contains(why),
        "not fenced as untrusted text by {author} ({why}): {text}"
    );
    assert!(
        last.starts_with("[end of untrusted content "),
        "no closing fence: {text}"
    );
    assert!(text.contains(inner), "{inner:?} not inside: {text}");
}

/// Every line of every journal segment in `dir`, in segment-name order, parsed (an
/// unparsable line, such as a torn tail, is skipped); none when `dir` does not exist.
pub fn read_journal(dir: &Path) -> Vec<Value> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    paths.sort();
    paths
        .iter()
        .flat_map(|path| {
            std::fs::read_to_string(path)
                .unwrap()
                .lines()
                .filter_map(|line| serde_json::from_str(line).ok())
                .collect::<Vec<Value>>()
        })
        .collect()
}

/// A temporary state dir (journal) and optional config for one server.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new(config: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.toml"), config).unwrap();
        Self { dir }
    }

    pub fn config_path(&self) -> String {
        self.dir.path().join("config.toml").display().to_string()
    }

    pub fn state_home(&self) -> String {
        self.dir.path().join("state").display().to_string()
    }

    pub fn journal_dir(&self) -> PathBuf {
        self.dir.path().join("state/claude-enterprise/audit")
    }

    /// Every journal line, parsed.
    pub fn journal(&self) -> Vec<Value> {
        read_journal(&self.journal_dir())
    }

    /// Everything written under the sandbox, for secret greps.
    pub fn all_text(&self) -> String {
        fn walk(dir: &Path, out: &mut String) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else if let Ok(text) = std::fs::read_to_string(&path) {
                    out.push_str(&text);
                }
            }
        }
        let mut out = String::new();
        walk(self.dir.path(), &mut out);
        out
    }

    /// Spawns `program` (a server binary) with this sandbox's config and state, and `envs`.
    pub fn spawn(&self, program: &Path, envs: &[(&str, &str)]) -> McpStdio {
        let config = self.config_path();
        let state = self.state_home();
        let mut all = vec![
            ("CLAUDE_ENTERPRISE_CONFIG", config.as_str()),
            ("XDG_STATE_HOME", state.as_str()),
            ("CLAUDE_ENTERPRISE_LOG", "debug"),
        ];
        all.extend_from_slice(envs);
        McpStdio::spawn(program, &[], &all)
    }
}

/// The SSO peer, running.
pub struct OidcPeer {
    /// The issuer URL (`https://127.0.0.1:PORT`).
    pub issuer: String,
    /// The PEM certificate the peer serves (self-signed for 127.0.0.1): trust it as a CA.
    pub ca_file: PathBuf,
}

/// The SSO peer: `oidc-provider` (npm, pinned in xtask/peers) with the config in
/// `crates/auth/tests/peers/oidc-provider.mjs`, over HTTPS with a fresh self-signed
/// certificate, started once per test binary. Clients: `claude-enterprise` and `other-app`,
/// both public with PKCE.
pub fn oidc_provider() -> &'static OidcPeer {
    // The clients a test builds next (auth's, its own reqwest) use the process's crypto
    // provider, which a binary's main installs: a test process installs it here.
    install_crypto_provider();
    static PEER: OnceLock<OidcPeer> = OnceLock::new();
    PEER.get_or_init(|| {
        peer_file("node_modules/oidc-provider/package.json");
        let dir = std::env::temp_dir().join(format!("oidc-peer-{}", uuid()));
        std::fs::create_dir_all(&dir).unwrap();
        let (ca, cert, key) = (
            dir.join("ca.pem"),
            dir.join("cert.pem"),
            dir.join("key.pem"),
        );
        test_certificates(&dir, &ca, &cert, &key);
        // ESM resolves packages from the script's own directory: run a copy beside them.
        let script = peers_dir().join(format!("oidc-provider-{}.mjs", uuid()));
        std::fs::copy(
            workspace_root().join("crates/auth/tests/peers/oidc-provider.mjs"),
            &script,
        )
        .unwrap();
        let port = free_port();
        let mut command = Command::new("node");
        command
            .arg(&script)
            .arg(port.to_string())
            .arg(&cert)
            .arg(&key);
        spawn_peer("oidc-provider", command);
        wait_http(&format!("http://127.0.0.1:{port}"), Duration::from_secs(60));
        let _ = std::fs::remove_file(&script);
        OidcPeer {
            issuer: format!("https://127.0.0.1:{port}"),
            ca_file: ca,
        }
    })
}

/// A throwaway CA (`ca`) and a server certificate for 127.0.0.1 it signed (`cert`, `key`).
fn test_certificates(dir: &Path, ca: &Path, cert: &Path, key: &Path) {
    let openssl = system_tool("openssl", "openssl");
    let (ca_key, csr, ext) = (
        dir.join("ca.key"),
        dir.join("leaf.csr"),
        dir.join("ext.cnf"),
    );
    std::fs::write(
        &ext,
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let mut make_ca = Command::new(&openssl);
    make_ca
        .args([
            "req",
            "-x509",
            "-days",
            "2",
            "-subj",
            "/CN=claude-enterprise test CA",
        ])
        .args(ec)
        .arg("-keyout")
        .arg(&ca_key)
        .arg("-out")
        .arg(ca);
    let mut make_csr = Command::new(&openssl);
    make_csr
        .args(["req", "-subj", "/CN=127.0.0.1"])
        .args(ec)
        .arg("-keyout")
        .arg(key)
        .arg("-out")
        .arg(&csr);
    let mut sign = Command::new(&openssl);
    sign.args(["x509", "-req", "-days", "2", "-set_serial", "1", "-in"])
        .arg(&csr)
        .arg("-CA")
        .arg(ca)
        .arg("-CAkey")
        .arg(&ca_key)
        .arg("-extfile")
        .arg(&ext)
        .arg("-out")
        .arg(cert);
    for mut step in [make_ca, make_csr, sign] {
        let out = step.output().unwrap();
        assert!(
            out.status.success(),
            "{step:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Where [`OidcBrowser`] stopped.
#[derive(Debug)]
pub enum BrowserEnd {
    /// A redirect to a URL under the stop prefix (not followed).
    Redirect(String),
    /// A page with no form (the device flow's "done" page).
    Page(String),
}

/// A scripted browser for `oidc-provider`'s dev interactions: follows redirects, keeps
/// cookies, and submits each page's first form (login name `login`, any password; consent).
pub struct OidcBrowser {
    client: reqwest::Client,
    login: String,
}

impl OidcBrowser {
    /// A browser that logs in as `login` (the account id; e-mail `<login>@example.test`).
    pub fn new(login: &str) -> Self {
        let ca = std::fs::read(&oidc_provider().ca_file).unwrap();
        install_crypto_provider();
        let client = reqwest::Client::builder()
            .tls_certs_merge(reqwest::Certificate::from_pem_bundle(&ca).unwrap())
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            client,
            login: login.to_owned(),
        }
    }

    /// Opens `url` and plays the pages until a redirect under `stop_prefix` (returned, not
    /// followed) or a page without a form.
    pub async fn run(&self, url: &str, stop_prefix: &str) -> BrowserEnd {
        let form_re =
            regex::Regex::new(r#"(?s)<form[^>]*action="([^"]*)"[^>]*>(.*?)</form>"#).unwrap();
        let input_re = regex::Regex::new(r#"<input[^>]*>"#).unwrap();
        let attr = |tag: &str, name: &str| {
            regex::Regex::new(&format!(r#"[ \t\n]{name}="([^"]*)""#))
                .unwrap()
                .captures(tag)
                .map(|c| c[1].replace("&amp;", "&"))
        };
        let mut request = self.client.get(url);
        let mut base = reqwest::Url::parse(url).unwrap();
        for _ in 0..30 {
            let response = request.send().await.expect("the OIDC provider answers");
            let status = response.status();
            if status.is_redirection() {
                let location = response.headers()["location"].to_str().unwrap().to_owned();
                let next = base.join(&location).unwrap();
                if next.as_str().starts_with(stop_prefix) {
                    return BrowserEnd::Redirect(next.to_string());
                }
                base = next.clone();
                request = self.client.get(next);
                continue;
            }
            let page = response.text().await.unwrap();
            assert!(
                status.is_success(),
                "OIDC provider answered {status}: {page}"
            );
            let Some(form) = form_re.captures(&page) else {
                return BrowserEnd::Page(page);
            };
            let action = base.join(&form[1].replace("&amp;", "&")).unwrap();
            let mut fields: Vec<(String, String)> = Vec::new();
            for input in input_re.find_iter(&form[2]) {
                let Some(name) = attr(input.as_str(), "name") else {
                    continue;
                };
                let value = match name.as_str() {
                    "login" => self.login.clone(),
                    "password" => "any-password".to_owned(),
                    _ => attr(input.as_str(), "value").unwrap_or_default(),
                };
                fields.push((name, value));
            }
            base = action.clone();
            request = self.client.post(action).form(&fields);
        }
        panic!("the OIDC provider's pages did not end within 30 steps");
    }
}

/// Joins a fresh anonymous kernel session keyring (what `keyctl session -` does) on the
/// calling thread; children it spawns inherit it. The keyutils store works there, isolated
/// from the login session's keyring.
pub fn join_fresh_session_keyring() {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    // SAFETY: keyctl(JOIN_SESSION_KEYRING, NULL) takes no pointer the kernel writes to.
    let id = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_JOIN_SESSION_KEYRING,
            std::ptr::null::<libc::c_char>(),
        )
    };
    assert!(
        id >= 0,
        "keyctl(JOIN_SESSION_KEYRING) failed: {} (the kernel keyutils store is needed: \
         on Debian `apt-get install keyutils`)",
        std::io::Error::last_os_error()
    );
}

/// A command's full path, or a loud failure with the Debian package that provides it.
pub fn system_tool(name: &str, package: &str) -> PathBuf {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("test peer missing: `{name}` — install it with `apt-get install {package}`")
        })
}

/// The local stand-ins for Splunk HEC, Elasticsearch `_bulk` and OTLP/HTTP logs
/// (`crates/audit-ship/tests/peers/receivers.py`): no real Splunk or Elasticsearch can run
/// here, so one small server answers as the vendors document, records what it receives and
/// takes faults. One fresh process per [`audit_receivers`] call, so tests do not share state.
pub struct AuditReceivers {
    /// `http://127.0.0.1:PORT`: every receiver's routes on it.
    pub url: String,
}

impl AuditReceivers {
    /// Merges `faults` into the receiver's settings (`hec_token`, `hec_ack`,
    /// `hec_ack_pending`, `hec_request_faults`, `es_api_key`, `es_request_faults`,
    /// `es_item_faults`, `otlp_request_faults`, `otlp_retry_after`, `otlp_partial_reject`).
    pub fn faults(&self, faults: Value) {
        let (status, _) = http_plain(&self.url, "POST", "/_test/faults", &faults.to_string());
        assert_eq!(status, 200, "setting the receiver's faults failed");
    }

    /// Everything received so far (`hec`, `hec_requests`, `hec_ack_queries`, `es`, `es_order`,
    /// `es_requests`, `es_templates`, `es_ilm`, `otlp`, `otlp_requests`, `violations`).
    pub fn received(&self) -> Value {
        let (status, body) = http_plain(&self.url, "GET", "/_test/received", "");
        assert_eq!(status, 200, "reading the receiver failed: {body}");
        serde_json::from_str(&body).unwrap()
    }

    /// Fails the test if any request broke the shape its vendor documents.
    pub fn assert_no_violations(&self) {
        let received = self.received();
        assert_eq!(
            received["violations"],
            json!([]),
            "requests the vendors would refuse"
        );
    }
}

/// Starts a fresh [`AuditReceivers`] with the peers' Python (`opentelemetry-proto` installed
/// from xtask/peers/requirements.txt by `cargo xtask peers`).
pub fn audit_receivers() -> AuditReceivers {
    static CHECKED: OnceLock<()> = OnceLock::new();
    let python = peer_file("venv/bin/python");
    CHECKED.get_or_init(|| {
        let check = Command::new(&python)
            .args([
                "-c",
                "import opentelemetry.proto.collector.logs.v1.logs_service_pb2",
            ])
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "test peer missing: the opentelemetry-proto package in {} — install the pinned \
             peers with `cargo xtask peers`: {}",
            python.display(),
            String::from_utf8_lossy(&check.stderr)
        );
    });
    let port = free_port();
    let mut command = Command::new(&python);
    command
        .arg(workspace_root().join("crates/audit-ship/tests/peers/receivers.py"))
        .arg(port.to_string());
    spawn_peer("audit-receivers", command);
    let url = format!("http://127.0.0.1:{port}");
    wait_http(&url, Duration::from_secs(60));
    AuditReceivers { url }
}

/// One plain HTTP/1.1 exchange (no TLS, `Connection: close`), for test control endpoints.
fn http_plain(url: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    use std::io::Read;
    let addr = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, body.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(structured: Value) -> Value {
        json!({"content": [{"type": "text", "text": structured.to_string()}],
            "structuredContent": structured})
    }

    #[test]
    fn results_within_the_budget_pass() {
        assert_within_budget("t", &result(json!({"content": "x".repeat(1_000)})));
        assert_within_budget("t", &result(json!({"content": "x", "truncated": true})));
    }

    #[test]
    #[should_panic(expected = "over the budget")]
    fn results_over_the_budget_fail() {
        let big = "x".repeat(governance::server::RESULT_BUDGET_BYTES);
        assert_within_budget("t", &result(json!({"content": big})));
    }

    #[test]
    #[should_panic(expected = "the kernel withheld")]
    fn the_kernels_safety_net_fails() {
        assert_within_budget("t", &result(json!({"truncated": true, "note": "over"})));
    }
}
