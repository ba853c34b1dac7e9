//! `cargo xtask bench`: our servers side by side with the anchors, in one run, as ratios.
//!
//! Spawn to `tools/list` answered and RSS right after (median of `--runs`, default 15), for
//! github-mcp, the official Go github-mcp-server and `@modelcontextprotocol/server-github`;
//! then github-mcp's per-call overhead (policy + durable audit + trimming) against the same
//! request sent straight to Prism; then aws-mcp beside awslabs.cloudwatch-mcp-server against
//! the same moto, and jira-mcp (and confluence-mcp) beside sooperset's mcp-atlassian against
//! the same Prism on Atlassian's specs (spawn, RSS, latency of the named calls); then the
//! audit journal's durable appends (events/s with 1, 8 and 64 concurrent writers, and the
//! p50/p99 an append adds), on the state disk and on tmpfs; then the audit shipper's events/s
//! to the file sink and to moto's CloudWatch Logs; then the OCI images' sizes (release, static)
//! beside the official Go server's binary and published image. `--only
//! github|aws|atlassian|journal|ship|images` runs one section. Timing is wall-clock on this machine: read
//! the ratios.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Child, ChildStdin, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::{Value, json};

use crate::{Result, install, peers_dir, root, target_dir};

struct Anchor {
    name: &'static str,
    program: PathBuf,
    args: Vec<String>,
}

/// One MCP server over stdio, spoken to line by line.
struct StdioServer {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<std::process::ChildStdout>,
}

impl StdioServer {
    fn spawn(anchor: &Anchor, envs: &[(&str, &str)]) -> Result<Self> {
        let mut command = Command::new(&anchor.program);
        command
            .args(&anchor.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (k, v) in envs {
            command.env(k, v);
        }
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", anchor.program.display()))?;
        Ok(Self {
            stdin: child.stdin.take().unwrap(),
            stdout: BufReader::new(child.stdout.take().unwrap()),
            child,
        })
    }

    fn send(&mut self, message: Value) -> Result<()> {
        writeln!(self.stdin, "{message}").map_err(|e| e.to_string())?;
        self.stdin.flush().map_err(|e| e.to_string())
    }

    fn answer(&mut self, id: u64) -> Result<Value> {
        let mut line = String::new();
        loop {
            line.clear();
            if self
                .stdout
                .read_line(&mut line)
                .map_err(|e| e.to_string())?
                == 0
            {
                return Err("server closed stdout".into());
            }
            if let Ok(v) = serde_json::from_str::<Value>(&line)
                && v["id"] == json!(id)
            {
                return Ok(v);
            }
        }
    }

    fn handshake(&mut self) -> Result<()> {
        self.send(
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "xtask-bench", "version": "1"}}}),
        )?;
        self.answer(1)?;
        self.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))?;
        self.send(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}))?;
        let tools = self.answer(2)?;
        if !tools["result"]["tools"].is_array() {
            return Err(format!("tools/list failed: {tools}"));
        }
        Ok(())
    }

    fn rss_kb(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for StdioServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(|a, b| a.total_cmp(b));
    samples[samples.len() / 2]
}

fn spawn_to_list(anchor: &Anchor, runs: usize, envs: &[(&str, &str)]) -> Result<(f64, f64)> {
    let mut times = Vec::new();
    let mut rss = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        let mut server = StdioServer::spawn(anchor, envs)?;
        server.handshake()?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        rss.push(server.rss_kb() as f64 / 1024.0);
    }
    Ok((median(times), median(rss)))
}

/// A minimal keep-alive HTTP/1.1 GET, the baseline a server's call is compared with.
fn http_get(stream: &mut BufReader<TcpStream>, path: &str) -> Result<()> {
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: token bench\r\nAccept: application/json\r\nUser-Agent: xtask\r\n\r\n"
    );
    stream
        .get_mut()
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut length = None;
    let mut line = String::new();
    loop {
        line.clear();
        stream.read_line(&mut line).map_err(|e| e.to_string())?;
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse::<usize>().ok();
        }
    }
    let mut body = vec![0; length.ok_or("Prism answered without Content-Length")?];
    stream.read_exact(&mut body).map_err(|e| e.to_string())?;
    Ok(())
}

fn start_prism(peers: &Path) -> Result<(Child, String)> {
    start_prism_on(
        peers,
        &peers.join("node_modules/@octokit/openapi/generated/api.github.com.json"),
    )
}

fn start_prism_on(peers: &Path, spec: &Path) -> Result<(Child, String)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let child = Command::new("node")
        .arg(peers.join("node_modules/@stoplight/prism-cli/dist/index.js"))
        .args(["mock", "-h", "127.0.0.1", "-p", &port.to_string()])
        .arg(spec)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start Prism: {e}"))?;
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if started.elapsed() > Duration::from_secs(120) {
            return Err("Prism did not start within 120 s".into());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok((child, format!("127.0.0.1:{port}")))
}

/// Median latency of `samples` calls of one tool (after 5 warm-up calls).
fn call_latency(
    server: &mut StdioServer,
    tool: &str,
    arguments: Value,
    samples: usize,
) -> Result<f64> {
    let mut times = Vec::new();
    for n in 0..samples + 5 {
        let id = 1000 + n as u64;
        let started = Instant::now();
        server.send(json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": tool, "arguments": arguments}}))?;
        let answer = server.answer(id)?;
        if answer["result"]["isError"] == json!(true) || answer.get("error").is_some() {
            return Err(format!("{tool} failed: {answer}"));
        }
        if n >= 5 {
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    Ok(median(times))
}

/// moto with the CloudWatch CBOR shim in front, seeded; returns the processes and the shim URL.
fn start_moto(peers: &Path) -> Result<(Vec<Child>, String)> {
    let free = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .map_err(|e| e.to_string())
    };
    let (moto_port, shim_port) = (free()?, free()?);
    let venv = peers.join("venv/bin");
    let test_peers = root().join("crates/aws-mcp/tests/peers");
    let moto = Command::new(venv.join("moto_server"))
        .args(["-H", "127.0.0.1", "-p", &moto_port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start moto: {e}"))?;
    let shim = Command::new(venv.join("python"))
        .arg(test_peers.join("cbor_shim.py"))
        .arg(shim_port.to_string())
        .arg(format!("http://127.0.0.1:{moto_port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the CBOR shim: {e}"))?;
    let started = Instant::now();
    while [moto_port, shim_port]
        .iter()
        .any(|p| TcpStream::connect(("127.0.0.1", *p)).is_err())
    {
        if started.elapsed() > Duration::from_secs(60) {
            return Err("moto did not start within 60 s".into());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let url = format!("http://127.0.0.1:{shim_port}");
    crate::run(
        Command::new(venv.join("python"))
            .arg(test_peers.join("seed.py"))
            .arg(&url)
            .arg("us-east-1")
            .stdout(Stdio::null()),
    )?;
    Ok((vec![moto, shim], url))
}

/// aws-mcp beside awslabs.cloudwatch-mcp-server against the same moto.
fn bench_aws(peers: &Path, target: &Path, state: &Path, runs: usize) -> Result<()> {
    let (mut processes, url) = start_moto(peers)?;
    let envs: Vec<(&str, String)> = [
        ("AWS_ENDPOINT_URL", url.as_str()),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("FASTMCP_LOG_LEVEL", "ERROR"),
        ("XDG_STATE_HOME", state.to_str().unwrap()),
        ("CLAUDE_ENTERPRISE_CONFIG", "/dev/null"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect();
    let ours = Contender {
        anchor: Anchor {
            name: "aws-mcp (ours)",
            program: target.join("release/aws-mcp"),
            args: vec![],
        },
        envs: envs.clone(),
        calls: vec![(
            "aws_cloudwatch_get_metrics",
            json!({"namespace": "AWS/EC2", "metric_name": "CPUUtilization", "statistic": "Average", "minutes": 180}),
        )],
    };
    let awslabs = Contender {
        anchor: Anchor {
            name: "awslabs.cloudwatch-mcp-server",
            program: peers.join("bench-venv/bin/awslabs.cloudwatch-mcp-server"),
            args: vec![],
        },
        envs,
        calls: vec![(
            "get_metric_data",
            json!({"namespace": "AWS/EC2", "metric_name": "CPUUtilization", "statistic": "Average"}),
        )],
    };
    let measured = side_by_side(
        "server (against moto)",
        &["get metrics ms"],
        &[ours, awslabs],
        runs,
    );
    for process in &mut processes {
        let _ = process.kill();
        let _ = process.wait();
    }
    measured
}

/// Median per-call latency through github-mcp, and straight to Prism, interleaved.
fn call_overhead(ours: &Anchor, prism: &str, state: &Path, samples: usize) -> Result<(f64, f64)> {
    let api = format!("http://{prism}");
    let envs = [
        ("GITHUB_TOKEN", "bench"),
        ("GITHUB_API_URL", api.as_str()),
        ("XDG_STATE_HOME", state.to_str().unwrap()),
        ("CLAUDE_ENTERPRISE_CONFIG", "/dev/null"),
    ];
    let mut server = StdioServer::spawn(ours, &envs)?;
    server.handshake()?;
    let mut direct = BufReader::new(TcpStream::connect(prism).map_err(|e| e.to_string())?);
    direct
        .get_ref()
        .set_nodelay(true)
        .map_err(|e| e.to_string())?;
    let path = "/repos/octo/hello/pulls/1";
    let mut id = 10;
    let mut call = |server: &mut StdioServer| -> Result<f64> {
        id += 1;
        let started = Instant::now();
        server.send(
            json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {
            "name": "github_get_pull_request",
            "arguments": {"owner": "octo", "repo": "hello", "pull_number": 1}}}),
        )?;
        let answer = server.answer(id)?;
        if answer["result"]["isError"] == json!(true) || answer.get("error").is_some() {
            return Err(format!("bench call failed: {answer}"));
        }
        Ok(started.elapsed().as_secs_f64() * 1000.0)
    };
    for _ in 0..20 {
        call(&mut server)?;
        http_get(&mut direct, path)?;
    }
    let (mut through, mut straight) = (Vec::new(), Vec::new());
    for _ in 0..samples {
        through.push(call(&mut server)?);
        let started = Instant::now();
        http_get(&mut direct, path)?;
        straight.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    Ok((median(through), median(straight)))
}

/// The comparisons `--only` can pick.
const SECTIONS: &[&str] = &["github", "aws", "atlassian", "journal", "ship", "images"];

pub fn run(args: &[String]) -> Result<()> {
    let usage = || {
        format!(
            "usage: cargo xtask bench [--runs N] [--only {}]",
            SECTIONS.join("|")
        )
    };
    let (mut runs, mut only) = (15usize, None::<String>);
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        match (flag.as_str(), rest.next()) {
            ("--runs", Some(n)) => runs = n.parse().map_err(|_| "--runs takes a number")?,
            ("--only", Some(name)) if SECTIONS.contains(&name.as_str()) => {
                only = Some(name.clone())
            }
            _ => return Err(usage()),
        }
    }
    let wanted = |section: &str| only.as_deref().is_none_or(|o| o == section);
    let peers = peers_dir();
    let servers = wanted("github") || wanted("aws") || wanted("atlassian") || wanted("ship");
    if servers {
        install(
            &peers,
            "package.json",
            Some("package-lock.json"),
            &peers.join("venv"),
            "requirements.txt",
        )?;
    }
    if wanted("github") || wanted("aws") || wanted("images") {
        install(
            &peers.join("bench-npm"),
            "bench-package.json",
            None,
            &peers.join("bench-venv"),
            "bench-requirements.txt",
        )?;
    }
    // Release builds of just the servers the chosen comparisons run.
    let packages: Vec<&str> = [
        ("github", &["github-mcp"][..]),
        ("aws", &["aws-mcp"]),
        ("atlassian", &["jira-mcp", "confluence-mcp"]),
    ]
    .into_iter()
    .filter(|(section, _)| wanted(section))
    .flat_map(|(_, packages)| packages.iter().copied())
    .collect();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    if !packages.is_empty() {
        let mut build = Command::new(&cargo);
        build.args(["build", "--release"]).current_dir(root());
        for package in packages {
            build.args(["-p", package]);
        }
        crate::run(&mut build)?;
    }
    if wanted("journal") {
        crate::run(Command::new(&cargo).current_dir(root()).args([
            "build",
            "--release",
            "-p",
            "governance",
            "--example",
            "journal_bench",
        ]))?;
    }
    if wanted("ship") {
        crate::run(Command::new(&cargo).current_dir(root()).args([
            "build",
            "--release",
            "-p",
            "audit-ship",
            "--example",
            "ship_bench",
        ]))?;
    }
    let target = target_dir();
    let state = tempdir()?;
    let measured = (|| -> Result<()> {
        if wanted("github") {
            bench_github(&peers, &target, &state, runs)?;
        }
        if wanted("aws") {
            bench_aws(&peers, &target, &state, runs)?;
        }
        if wanted("atlassian") {
            bench_atlassian(&peers, &target, &state, runs)?;
        }
        if wanted("journal") {
            bench_journal(&target, &state)?;
        }
        if wanted("ship") {
            bench_ship(&peers, &target, &state)?;
        }
        if wanted("images") {
            bench_images(&peers, &target)?;
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&state);
    measured
}

/// github-mcp beside the official Go server and the Node reference server, then its per-call
/// overhead against the same request sent straight to Prism.
fn bench_github(peers: &Path, target: &Path, state: &Path, runs: usize) -> Result<()> {
    let anchors_dir = peers.join("bench-npm");
    let ours = Anchor {
        name: "github-mcp (ours)",
        program: target.join("release/github-mcp"),
        args: vec![],
    };
    let go = Anchor {
        name: "github-mcp-server (Go, official)",
        program: peers.join("bench-venv/bin/github-mcp-server"),
        args: vec!["stdio".into()],
    };
    let node = Anchor {
        name: "@modelcontextprotocol/server-github",
        program: "node".into(),
        args: vec![
            anchors_dir
                .join("node_modules/@modelcontextprotocol/server-github/dist/index.js")
                .display()
                .to_string(),
        ],
    };
    let envs = [
        ("GITHUB_TOKEN", "bench"),
        ("GITHUB_PERSONAL_ACCESS_TOKEN", "bench"),
        ("XDG_STATE_HOME", state.to_str().unwrap()),
        ("CLAUDE_ENTERPRISE_CONFIG", "/dev/null"),
    ];
    println!("spawn -> tools/list answered, and RSS after it (median of {runs} runs)\n");
    println!("{:<38} {:>10} {:>10}", "server", "ms", "RSS MiB");
    let mut results = Vec::new();
    for anchor in [&ours, &go, &node] {
        let (ms, rss) = spawn_to_list(anchor, runs, &envs)?;
        println!("{:<38} {:>10.2} {:>10.1}", anchor.name, ms, rss);
        results.push((ms, rss));
    }
    let (ours_ms, ours_rss) = results[0];
    println!(
        "\nours vs Go:   {:.1}x faster, {:.2} of its memory   (targets: >= 2x, <= 0.67)",
        results[1].0 / ours_ms,
        ours_rss / results[1].1
    );
    println!(
        "ours vs node: {:.1}x faster, {:.2} of its memory",
        results[2].0 / ours_ms,
        ours_rss / results[2].1
    );

    let (mut prism, address) = start_prism(peers)?;
    let measured = call_overhead(&ours, &address, state, 300);
    let _ = prism.kill();
    let _ = prism.wait();
    let (through, straight) = measured?;
    println!(
        "\nper call, github_get_pull_request vs the same GET straight to Prism (median of 300):\n  \
         through github-mcp {through:.3} ms, straight {straight:.3} ms, overhead {:.3} ms   (target: <= 1 ms)",
        through - straight
    );
    Ok(())
}

/// One server of a side-by-side comparison: how to start it and the calls to time.
struct Contender<'a> {
    anchor: Anchor,
    envs: Vec<(&'a str, String)>,
    calls: Vec<(&'a str, Value)>,
}

/// Spawn to tools/list, RSS and per-call latency of ours (first) and an anchor, then ratios.
fn side_by_side(
    title: &str,
    labels: &[&str],
    contenders: &[Contender<'_>],
    runs: usize,
) -> Result<()> {
    print!("\n{title:<38} {:>10} {:>10}", "ms", "RSS MiB");
    for label in labels {
        print!(" {label:>18}");
    }
    println!();
    let mut rows: Vec<Vec<f64>> = Vec::new();
    for contender in contenders {
        let envs: Vec<(&str, &str)> = contender
            .envs
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .collect();
        let (ms, rss) = spawn_to_list(&contender.anchor, runs, &envs)?;
        let mut server = StdioServer::spawn(&contender.anchor, &envs)?;
        server.handshake()?;
        let mut row = vec![ms, rss];
        for (tool, arguments) in &contender.calls {
            row.push(call_latency(&mut server, tool, arguments.clone(), 50)?);
        }
        print!("{:<38} {:>10.2} {:>10.1}", contender.anchor.name, ms, rss);
        for latency in &row[2..] {
            print!(" {latency:>18.3}");
        }
        println!();
        rows.push(row);
    }
    let (ours, theirs) = (&rows[0], &rows[1]);
    print!(
        "ours vs {}: {:.1}x faster to tools/list, {:.2} of its memory",
        contenders[1].anchor.name,
        theirs[0] / ours[0],
        ours[1] / theirs[1]
    );
    for (label, (o, t)) in labels.iter().zip(ours[2..].iter().zip(&theirs[2..])) {
        let call = label.trim_end_matches(" ms");
        print!(", {:.1}x faster per {call}", t / o);
    }
    println!();
    Ok(())
}

/// An issue as Jira Data Center answers `GET /rest/api/2/issue/{key}` (REST v2: the
/// description is wiki markup).
const BENCH_ISSUE: &str = r#"{"expand":"renderedFields,names,schema","id":"10001","self":"http://jira.bench/rest/api/2/issue/10001","key":"EX-1",
"fields":{"summary":"Checkout fails for saved cards","issuetype":{"id":"10004","name":"Bug","subtask":false},
"project":{"id":"10000","key":"EX","name":"Example"},"status":{"id":"3","name":"In Progress","statusCategory":{"id":4,"key":"indeterminate","name":"In Progress"}},
"priority":{"id":"2","name":"High"},"assignee":{"name":"jdoe","key":"jdoe","displayName":"Jane Doe","emailAddress":"jane.doe@corp.example","active":true},
"reporter":{"name":"rpatel","key":"rpatel","displayName":"Raj Patel","emailAddress":"raj.patel@corp.example","active":true},
"labels":["checkout","payments"],"created":"2026-11-02T09:00:00.000+0000","updated":"2026-11-30T10:00:00.000+0000",
"description":"h2. Steps\n# Save a card\n# Pay with it\n\n*Expected*: the order goes through.\n{code:java}\nNullPointerException at Checkout.pay(Checkout.java:42)\n{code}",
"comment":{"startAt":0,"maxResults":1,"total":1,"comments":[{"id":"100","author":{"name":"rpatel","displayName":"Raj Patel"},"body":"Seen on staging too.","created":"2026-11-03T09:00:00.000+0000","updated":"2026-11-03T09:00:00.000+0000"}]},
"components":[],"fixVersions":[],"versions":[],"issuelinks":[],"subtasks":[],"attachment":[],"watches":{"watchCount":1,"isWatching":false},"timetracking":{}}}"#;

/// Jira's platform spec as prepared for Prism, with every `/rest/api/3` path also served as
/// `/rest/api/2`: mcp-atlassian treats a loopback site as Data Center (REST v2), so both
/// servers run in Data Center mode against the same mock.
fn jira_bench_spec(peers: &Path, state: &Path) -> Result<PathBuf> {
    let prepared = crate::specs::prepare(peers)?.join("jira-platform.json");
    let text = std::fs::read_to_string(&prepared).map_err(|e| e.to_string())?;
    let mut spec: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let paths = spec["paths"]
        .as_object_mut()
        .ok_or("the spec has no paths")?;
    let v2: Vec<(String, Value)> = paths
        .iter()
        .filter_map(|(p, item)| {
            p.strip_prefix("/rest/api/3/")
                .map(|rest| (format!("/rest/api/2/{rest}"), item.clone()))
        })
        .collect();
    paths.extend(v2);
    // Prism's generated issue is not one mcp-atlassian can read: both get a real one.
    let issue: Value = serde_json::from_str(BENCH_ISSUE).map_err(|e| e.to_string())?;
    for (pointer, example) in [
        (
            "/paths/~1rest~1api~12~1issue~1{issueIdOrKey}/get/responses/200/content/application~1json",
            issue.clone(),
        ),
        (
            "/paths/~1rest~1api~12~1search/get/responses/200/content/application~1json",
            json!({"startAt": 0, "maxResults": 10, "total": 1, "issues": [issue]}),
        ),
    ] {
        spec.pointer_mut(pointer)
            .and_then(Value::as_object_mut)
            .ok_or_else(|| format!("the Jira spec has no {pointer}"))?
            .insert("example".into(), example);
    }
    let both = state.join("jira-platform-v2-v3.json");
    std::fs::write(&both, spec.to_string()).map_err(|e| e.to_string())?;
    Ok(both)
}

/// jira-mcp, then confluence-mcp, beside sooperset's mcp-atlassian against the same Prism.
fn bench_atlassian(peers: &Path, target: &Path, state: &Path, runs: usize) -> Result<()> {
    install_python(
        &peers.join("bench-atlassian-venv"),
        "bench-atlassian-requirements.txt",
    )?;
    let spec = jira_bench_spec(peers, state)?;
    let (mut prism, address) = start_prism_on(peers, &spec)?;
    let url = format!("http://{address}");
    let common = [
        ("XDG_STATE_HOME", state.display().to_string()),
        ("CLAUDE_ENTERPRISE_CONFIG", "/dev/null".to_owned()),
    ];
    let ours = Contender {
        anchor: Anchor {
            name: "jira-mcp (ours)",
            program: target.join("release/jira-mcp"),
            args: vec![],
        },
        envs: [
            ("JIRA_URL", url.clone()),
            ("JIRA_DEPLOYMENT", "datacenter".to_owned()),
            ("ATLASSIAN_PAT", "bench".to_owned()),
        ]
        .into_iter()
        .chain(common.clone())
        .collect(),
        calls: vec![
            ("jira_get_issue", json!({"issue_key": "EX-1"})),
            (
                "jira_search_issues",
                json!({"jql": "project = EX", "max_results": 10}),
            ),
        ],
    };
    let theirs = Contender {
        anchor: Anchor {
            name: "mcp-atlassian 0.23.1 (sooperset)",
            program: peers.join("bench-atlassian-venv/bin/mcp-atlassian"),
            args: vec![],
        },
        envs: [
            ("JIRA_URL", url.clone()),
            ("JIRA_PERSONAL_TOKEN", "bench".to_owned()),
        ]
        .into_iter()
        .chain(common)
        .collect(),
        calls: vec![
            ("jira_get_issue", json!({"issue_key": "EX-1"})),
            ("jira_search", json!({"jql": "project = EX", "limit": 10})),
        ],
    };
    let measured = side_by_side(
        "server (against Prism, Jira)",
        &["get_issue ms", "search ms"],
        &[ours, theirs],
        runs,
    );
    let _ = prism.kill();
    let _ = prism.wait();
    measured?;
    bench_confluence(peers, target, state, runs)
}

/// A page as Confluence Data Center answers `GET /rest/api/content/{id}` with the expansions
/// both servers ask for: the bench serves it as the spec's example, because the prepared v1
/// spec has none and the body Prism would generate (schemas cut at depth 3) is not one that
/// mcp-atlassian can read.
const BENCH_PAGE: &str = r#"{"id":"65538","type":"page","status":"current","title":"Deploy runbook",
"space":{"id":98305,"key":"ENG","name":"Engineering","type":"global","status":"current","_links":{"webui":"/spaces/ENG"}},
"history":{"latest":true,"createdBy":{"type":"known","accountId":"5b10ac8d82e05b22cc7d4ef5","username":"jdoe","userKey":"jdoe","displayName":"Jane Doe"},"createdDate":"2026-11-02T09:00:00.000Z"},
"version":{"by":{"type":"known","accountId":"5b10ac8d82e05b22cc7d4ef5","username":"jdoe","userKey":"jdoe","displayName":"Jane Doe"},"when":"2026-11-30T10:00:00.000Z","number":7,"minorEdit":false,"message":""},
"body":{"storage":{"value":"<h2>Steps</h2><ol><li><p>Drain the <strong>blue</strong> pool</p></li><li><p>Run <code>make deploy</code></p></li></ol><table><tbody><tr><th><p>Env</p></th><th><p>Owner</p></th></tr><tr><td><p>prod</p></td><td><p>SRE</p></td></tr></tbody></table>","representation":"storage"}},
"children":{"attachment":{"results":[],"size":0,"start":0,"limit":25}},
"metadata":{"labels":{"results":[{"prefix":"global","name":"runbook","id":"1"}],"size":1}},
"_links":{"webui":"/display/ENG/Deploy+runbook","base":"http://confluence.bench","self":"http://confluence.bench/rest/api/content/65538"}}"#;

/// Confluence's v1 spec as prepared for Prism, with [`BENCH_PAGE`] as the page example.
fn confluence_bench_spec(peers: &Path, state: &Path) -> Result<PathBuf> {
    let prepared = crate::specs::prepare(peers)?.join("confluence-v1.json");
    let text = std::fs::read_to_string(&prepared).map_err(|e| e.to_string())?;
    let mut spec: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let media = spec
        .pointer_mut(
            "/paths/~1wiki~1rest~1api~1content~1{id}/get/responses/200/content/application~1json",
        )
        .and_then(Value::as_object_mut)
        .ok_or("the Confluence v1 spec has no GET /wiki/rest/api/content/{id}")?;
    media.insert(
        "example".into(),
        serde_json::from_str(BENCH_PAGE).map_err(|e| e.to_string())?,
    );
    let out = state.join("confluence-v1-bench.json");
    std::fs::write(&out, spec.to_string()).map_err(|e| e.to_string())?;
    Ok(out)
}

/// confluence-mcp beside mcp-atlassian against the same Prism, both in Data Center mode (REST
/// v1), since mcp-atlassian treats a loopback site as Data Center.
fn bench_confluence(peers: &Path, target: &Path, state: &Path, runs: usize) -> Result<()> {
    let spec = confluence_bench_spec(peers, state)?;
    let (mut prism, address) = start_prism_on(peers, &spec)?;
    let url = format!("http://{address}/wiki");
    let common = [
        ("XDG_STATE_HOME", state.display().to_string()),
        ("CLAUDE_ENTERPRISE_CONFIG", "/dev/null".to_owned()),
    ];
    let search = "type = page AND text ~ \"deploy\"";
    let ours = Contender {
        anchor: Anchor {
            name: "confluence-mcp (ours)",
            program: target.join("release/confluence-mcp"),
            args: vec![],
        },
        envs: [
            ("CONFLUENCE_URL", url.clone()),
            ("CONFLUENCE_DEPLOYMENT", "datacenter".to_owned()),
            ("ATLASSIAN_PAT", "bench".to_owned()),
        ]
        .into_iter()
        .chain(common.clone())
        .collect(),
        calls: vec![
            ("confluence_get_page", json!({"page_id": "65538"})),
            ("confluence_search", json!({"cql": search, "limit": 10})),
        ],
    };
    let theirs = Contender {
        anchor: Anchor {
            name: "mcp-atlassian 0.23.1 (sooperset)",
            program: peers.join("bench-atlassian-venv/bin/mcp-atlassian"),
            args: vec![],
        },
        envs: [
            ("CONFLUENCE_URL", url.clone()),
            ("CONFLUENCE_PERSONAL_TOKEN", "bench".to_owned()),
        ]
        .into_iter()
        .chain(common)
        .collect(),
        calls: vec![
            ("confluence_get_page", json!({"page_id": "65538"})),
            ("confluence_search", json!({"query": search, "limit": 10})),
        ],
    };
    let measured = side_by_side(
        "server (against Prism, Confluence)",
        &["get_page ms", "search ms"],
        &[ours, theirs],
        runs,
    );
    let _ = prism.kill();
    let _ = prism.wait();
    measured
}

/// Installs `requirements` into its own venv unless the stamp says they are current.
fn install_python(venv: &Path, requirements: &str) -> Result<()> {
    let pins = root().join("xtask/peers").join(requirements);
    let wanted = std::fs::read_to_string(&pins).map_err(|e| format!("{}: {e}", pins.display()))?;
    let stamp = venv.join(".stamp");
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == wanted) {
        return Ok(());
    }
    if !venv.join("bin/python").exists() {
        crate::run(Command::new("python3").arg("-m").arg("venv").arg(venv))?;
    }
    crate::run(
        Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
            .arg(&pins),
    )?;
    std::fs::write(&stamp, wanted).map_err(|e| e.to_string())
}

/// Durable appends through the journal's writer thread: one writer, then eight and 64 in
/// flight sharing syncs (group commit). On the state disk the figure is bound by its
/// `fdatasync` time; tmpfs shows the writer's own ceiling.
fn bench_journal(target: &Path, state: &Path) -> Result<()> {
    let program = target.join("release/examples/journal_bench");
    let mut places = vec![("state disk", state.join("journal"))];
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        places.push((
            "tmpfs",
            shm.join(format!("xtask-journal-{}", std::process::id())),
        ));
    }
    println!("\naudit journal: durable appends (fdatasync each batch)");
    println!(
        "  {:<11} {:>7} {:>8} {:>10} {:>9} {:>9}",
        "where", "writers", "events", "events/s", "p50 ms", "p99 ms"
    );
    for (place, dir) in &places {
        for (writers, events) in [(1, 1_000), (8, 8_000), (64, 32_000)] {
            let _ = std::fs::remove_dir_all(dir);
            let out = Command::new(&program)
                .arg(dir)
                .args([writers.to_string(), events.to_string()])
                .output()
                .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
            if !out.status.success() {
                return Err(format!(
                    "journal_bench failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            let result: Value = serde_json::from_slice(&out.stdout)
                .map_err(|e| format!("journal_bench printed no JSON ({e})"))?;
            println!(
                "  {:<11} {:>7} {:>8} {:>10} {:>9.3} {:>9.3}",
                place,
                writers,
                result["events"],
                result["events_per_s"],
                result["p50_ms"].as_f64().unwrap_or(f64::NAN),
                result["p99_ms"].as_f64().unwrap_or(f64::NAN),
            );
        }
        let _ = std::fs::remove_dir_all(dir);
    }
    println!("  (a write call makes two durable appends: its intent and its outcome)");
    Ok(())
}

/// The shipper draining a journal once: to the file sink (fsync per batch) and to moto's
/// CloudWatch Logs (one PutLogEvents per batch of up to 1,000 events).
fn bench_ship(peers: &Path, target: &Path, state: &Path) -> Result<()> {
    let program = target.join("release/examples/ship_bench");
    let (mut moto, url) = start_moto(peers)?;
    println!("\naudit shipper: one drain of a fresh journal (default [audit.ship] batching)");
    println!(
        "  {:<22} {:>8} {:>9} {:>10}",
        "sink", "events", "seconds", "events/s"
    );
    let measured = (|| -> Result<()> {
        for (sink, events) in [("file", 20_000u64), ("cloudwatch (moto)", 20_000)] {
            let dir = state.join("ship-journal");
            let _ = std::fs::remove_dir_all(&dir);
            let out_file = state.join("ship-out.jsonl");
            let _ = std::fs::remove_file(&out_file);
            let (kind, to) = match sink {
                "file" => ("file", out_file.display().to_string()),
                _ => ("cloudwatch", url.clone()),
            };
            let out = Command::new(&program)
                .arg(&dir)
                .args([events.to_string(), kind.to_owned(), to])
                .env("AWS_ACCESS_KEY_ID", "testing")
                .env("AWS_SECRET_ACCESS_KEY", "testing")
                .env("AWS_EC2_METADATA_DISABLED", "true")
                .output()
                .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
            if !out.status.success() {
                return Err(format!(
                    "ship_bench failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            let result: Value = serde_json::from_slice(&out.stdout)
                .map_err(|e| format!("ship_bench printed no JSON ({e})"))?;
            println!(
                "  {:<22} {:>8} {:>9.2} {:>10}",
                sink,
                result["events"],
                result["seconds"].as_f64().unwrap_or(f64::NAN),
                result["events_per_s"],
            );
            let _ = std::fs::remove_dir_all(&dir);
        }
        Ok(())
    })();
    for child in &mut moto {
        let _ = child.kill();
        let _ = child.wait();
    }
    measured
}

fn tempdir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("xtask-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    Ok(dir)
}

/// Reported for the official image, which cannot be pulled here (no registry access): the
/// compressed size of `ghcr.io/github/github-mcp-server:v0.30.2` as given in
/// github/gh-aw-mcpg#523. Its Dockerfile puts the Go binary on distroless/base-debian12.
const GO_IMAGE_REPORTED_MB: f64 = 30.0;

/// Each image's size as podman reports it (uncompressed layers) and gzip-compressed (what a
/// registry stores and a pull transfers), beside the official Go server: its binary from the
/// wheel (a floor for any image holding it) and its published image as reported.
fn bench_images(peers: &Path, target: &Path) -> Result<()> {
    crate::images::build("release")?;
    println!("\nOCI images (release, static, FROM scratch): size in MB");
    println!(
        "  {:<38} {:>12} {:>11}",
        "image", "uncompressed", "compressed"
    );
    let mut github = (0.0, 0.0);
    // Every context holds the same CA bundle: compressed once.
    let ca_compressed = gzip_size(
        &target
            .join("images")
            .join(crate::images::SERVERS[0])
            .join("ca-certificates.crt"),
    )?;
    let version = crate::images::workspace_version()?;
    for server in crate::images::SERVERS {
        let tag = format!("localhost/{server}:{version}");
        let size = crate::images::image_size(&tag)? as f64 / 1e6;
        let context = target.join("images").join(server);
        let compressed = gzip_size(&context.join("server"))? + ca_compressed;
        if server == "github-mcp" {
            github = (size, compressed);
        }
        println!("  {tag:<38} {size:>12.1} {compressed:>11.1}");
    }
    let go_binary = peers.join("bench-venv/bin/github-mcp-server");
    let go_size = std::fs::metadata(&go_binary)
        .map_err(|e| format!("{}: {e}", go_binary.display()))?
        .len() as f64
        / 1e6;
    let go_compressed = gzip_size(&go_binary)?;
    println!(
        "  {:<38} {go_size:>12.1} {go_compressed:>11.1}",
        "github-mcp-server binary (Go, wheel)"
    );
    println!(
        "  {:<38} {:>12} {GO_IMAGE_REPORTED_MB:>11.1}",
        "ghcr.io/github/github-mcp-server (rep.)", "-"
    );
    println!(
        "  github-mcp image / Go binary alone: {:.2}x uncompressed, {:.2}x compressed; \
         / published image: {:.2}x compressed",
        github.0 / go_size,
        github.1 / go_compressed,
        github.1 / GO_IMAGE_REPORTED_MB
    );
    Ok(())
}

/// The gzip -9 size of a file, in MB.
fn gzip_size(file: &Path) -> Result<f64> {
    let out = Command::new("gzip")
        .args(["-9", "-c"])
        .arg(file)
        .output()
        .map_err(|e| format!("cannot run gzip: {e}"))?;
    if !out.status.success() {
        return Err(format!("gzip {} failed", file.display()));
    }
    Ok(out.stdout.len() as f64 / 1e6)
}
