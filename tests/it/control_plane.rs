//! The real Kubernetes control plane the cluster tests run against: etcd,
//! kube-apiserver, kube-controller-manager, kube-scheduler and kwok's
//! simulated nodes, built from Go modules by `scripts/build-tools.sh` and
//! started by `scripts/cluster.sh` (the same script a person runs by hand).
//! One per test binary run: tests isolate themselves by namespace and
//! release name. The script stops every process by its own PID when this
//! test process ends (it runs under `setpriv --pdeathsig TERM`, tied to a
//! thread that lives as long as the process).
//!
//! The tests read what airlock sent from the API server's audit log (every
//! request of the `admin` user, in order, with its timing, and under the
//! user each test has airlock act as: see corner.rs) and what the cluster
//! holds through kubectl.

use serde_json::Value;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

pub struct ControlPlane {
    /// The admin's kubeconfig (audited).
    pub kubeconfig: PathBuf,
    /// The tests' own kubeconfig (not audited).
    tester: PathBuf,
    pub audit_log: PathBuf,
    kubectl: PathBuf,
}

/// The control plane of this test run, started on first use. A start
/// that failed fails every test that needs it, without trying again.
pub fn control_plane() -> &'static ControlPlane {
    static PLANE: OnceLock<Result<ControlPlane, String>> = OnceLock::new();
    let started = PLANE.get_or_init(|| {
        std::panic::catch_unwind(start).map_err(|e| {
            e.downcast_ref::<String>().cloned().or(e.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default()
        })
    });
    match started {
        Ok(plane) => plane,
        Err(why) => panic!("the control plane did not start: {why}"),
    }
}

/// A started process of the run: its PID and the pipes it was given.
pub struct Started {
    pub pid: u32,
    pub stdout: Option<std::process::ChildStdout>,
    pub stderr: Option<std::process::ChildStderr>,
}

/// Starts `program` under `setpriv --pdeathsig TERM`, its arguments,
/// environment and streams set by `configure`, so it gets SIGTERM at its
/// own PID when this test process ends. The signal comes when the thread
/// that started it ends, so it is started from a thread that lives as long
/// as the process (and reaps it), never from a test's own thread.
pub fn start_for_the_run(
    program: &Path,
    configure: impl FnOnce(&mut Command) + Send + 'static,
) -> Result<Started, String> {
    let (tx, rx) = mpsc::channel();
    let program = program.to_path_buf();
    std::thread::spawn(move || {
        let mut command = Command::new("setpriv");
        command.args(["--pdeathsig", "TERM", "--"]).arg(&program).stdin(Stdio::null());
        configure(&mut command);
        match command.spawn() {
            Ok(mut child) => {
                let started = Started { pid: child.id(), stdout: child.stdout.take(), stderr: child.stderr.take() };
                let _ = tx.send(Ok(started));
                let _ = child.wait();
            }
            Err(e) => {
                let _ = tx.send(Err(format!("cannot run {}: {e}", program.display())));
            }
        }
        loop {
            std::thread::park();
        }
    });
    rx.recv().map_err(|e| e.to_string())?
}

/// The repository (where `target/tools` and `scripts` are).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn start() -> ControlPlane {
    let bin = repo().join("target/tools/bin");
    for tool in ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl", "kwok"] {
        assert!(
            bin.join(tool).exists(),
            "{tool} is not built: run scripts/build-tools.sh kubernetes etcd kwok (about 12 minutes cold; \
             scripts/test.sh does it)"
        );
    }
    let runs = repo().join("target/test-cluster");
    // Earlier runs' directories (data, logs, audit log) are kept for reading
    // after a failure, until the next run: each takes hundreds of MB.
    for old in std::fs::read_dir(&runs).into_iter().flatten().flatten() {
        let pid = old.file_name().to_string_lossy().into_owned();
        if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(&pid).exists() {
            let _ = std::fs::remove_dir_all(old.path());
        }
    }
    let dir = runs.join(std::process::id().to_string());
    let (lines_tx, lines_rx) = mpsc::channel::<Result<String, String>>();
    let script = start_for_the_run(&repo().join("scripts/cluster.sh"), move |command| {
        command.arg("--dir").arg(&dir).stdout(Stdio::piped()).stderr(Stdio::piped());
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let (stdout, stderr) = (script.stdout.unwrap(), script.stderr.unwrap());
    std::thread::spawn(move || {
        let errors = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(Ok(line));
        }
        let _ = lines_tx.send(Err(format!("scripts/cluster.sh exited: {}", errors.join().unwrap())));
    });
    let mut kubeconfig = None;
    let mut audit_log = None;
    loop {
        match lines_rx.recv_timeout(Duration::from_secs(240)) {
            Ok(Ok(line)) if line == "ready" => break,
            Ok(Ok(line)) => {
                if let Some(path) = line.strip_prefix("kubeconfig: ") {
                    kubeconfig = Some(PathBuf::from(path));
                } else if let Some(path) = line.strip_prefix("audit log: ") {
                    audit_log = Some(PathBuf::from(path));
                }
            }
            Ok(Err(e)) => panic!("the control plane did not start: {e}"),
            Err(e) => panic!("the control plane did not start within 240 s: {e}"),
        }
    }
    let kubeconfig = kubeconfig.expect("cluster.sh printed its kubeconfig");
    ControlPlane {
        // The tests' own reads and writes, under a user the audit log
        // leaves out, so it holds only what airlock sent.
        tester: kubeconfig.with_file_name("tester.kubeconfig"),
        kubeconfig,
        audit_log: audit_log.expect("cluster.sh printed its audit log"),
        kubectl: bin.join("kubectl"),
    }
}

/// A name no other test of this run uses: `PREFIX-N`, a DNS label.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(1);
    format!("{prefix}-{}-{}", std::process::id() % 100_000, NEXT.fetch_add(1, Ordering::SeqCst))
}

impl ControlPlane {
    pub fn kubectl(&self, args: &[&str]) -> Output {
        Command::new(&self.kubectl)
            .arg("--kubeconfig")
            .arg(&self.tester)
            .arg("--request-timeout=30s")
            .args(args)
            .output()
            .expect("kubectl runs")
    }

    /// kubectl that must succeed; its stdout.
    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(out.status.success(), "kubectl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The object at an API path (`/api/v1/namespaces/web/configmaps/x`),
    /// or None when the server says it is not found.
    pub fn object(&self, path: &str) -> Option<Value> {
        let out = self.kubectl(&["get", "--raw", path]);
        if out.status.success() {
            return Some(serde_json::from_slice(&out.stdout).expect("the API server answers JSON"));
        }
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("NotFound") || err.contains("not found"), "GET {path}: {err}");
        None
    }

    /// The names of the objects listed at an API path.
    pub fn names(&self, path: &str) -> Vec<String> {
        let list = self.object(path).unwrap_or_default();
        list["items"]
            .as_array()
            .map(|items| items.iter().map(|i| i["metadata"]["name"].as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    }

    /// Polls (bounded) until `done` holds; false if it never did.
    pub fn eventually(&self, seconds: u64, mut done: impl FnMut() -> bool) -> bool {
        let deadline = std::time::Instant::now() + Duration::from_secs(seconds);
        while std::time::Instant::now() < deadline {
            if done() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        done()
    }

    /// A kubeconfig in `dir` for the admin acting as `user` (with the
    /// admin's rights): the audit log then tells this user's requests from
    /// those of the tests running beside it.
    pub fn kubeconfig_as(&self, dir: &Path, user: &str) -> PathBuf {
        let admin = std::fs::read_to_string(&self.kubeconfig).unwrap();
        let marker = "  user:\n";
        assert!(admin.contains(marker), "cluster.sh's kubeconfig changed shape: {admin}");
        let text = admin.replacen(marker, &format!("{marker}    as: {user}\n    as-groups: [system:masters]\n"), 1);
        let path = dir.join(format!("{user}.kubeconfig"));
        std::fs::write(&path, text).unwrap();
        path
    }

    /// A copy of `kubeconfig` whose context's namespace is `namespace`
    /// (where objects that name none go).
    pub fn kubeconfig_in(&self, kubeconfig: &Path, namespace: &str) -> PathBuf {
        let text = std::fs::read_to_string(kubeconfig).unwrap();
        let marker = "context: {cluster: airlock-test, ";
        assert!(text.contains(marker), "cluster.sh's kubeconfig changed shape: {text}");
        let path = kubeconfig.with_extension(format!("{namespace}.kubeconfig"));
        std::fs::write(&path, text.replacen(marker, &format!("{marker}namespace: {namespace}, "), 1)).unwrap();
        path
    }

    /// A kubeconfig in `dir` for an API server on `port` of 127.0.0.1 (none).
    pub fn kubeconfig_at(&self, dir: &Path, port: u16) -> PathBuf {
        let text = std::fs::read_to_string(&self.kubeconfig).unwrap();
        let (before, rest) = text.split_once("server: https://127.0.0.1:").expect("a loopback server");
        let after = &rest[rest.find('\n').unwrap()..];
        let path = dir.join(format!("port-{port}.kubeconfig"));
        std::fs::write(&path, format!("{before}server: https://127.0.0.1:{port}{after}")).unwrap();
        path
    }

    /// Every audited request `user` made whose path contains `part`, in the
    /// order the server received them.
    pub fn requests(&self, user: &str, part: &str) -> Vec<Request> {
        audit_requests(&self.audit_log, part).into_iter().filter(|r| r.user == user).collect()
    }
}

/// One request as the API server's audit log records it.
#[derive(Debug, Clone)]
pub struct Request {
    /// Who made it: the impersonated user, else the authenticated one.
    pub user: String,
    pub verb: String,
    /// The path without its query (`/api/v1/namespaces/web/configmaps/x`).
    pub path: String,
    pub query: String,
    pub code: u16,
    pub received: String,
    pub completed: String,
}

impl Request {
    pub fn is_write(&self) -> bool {
        matches!(self.verb.as_str(), "create" | "update" | "patch" | "delete" | "deletecollection")
            && !self.query.contains("dryRun")
    }
}

fn audit_requests(log: &Path, part: &str) -> Vec<Request> {
    let text = std::fs::read_to_string(log).expect("the audit log is there");
    let mut requests: Vec<Request> = text
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|e| e["stage"] == "ResponseComplete")
        .filter_map(|e| {
            let uri = e["requestURI"].as_str()?;
            if !uri.contains(part) {
                return None;
            }
            let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
            let user = e["impersonatedUser"]["username"].as_str().or(e["user"]["username"].as_str())?;
            Some(Request {
                user: user.to_string(),
                verb: e["verb"].as_str()?.to_string(),
                path: path.to_string(),
                query: query.to_string(),
                code: e["responseStatus"]["code"].as_u64().unwrap_or(0) as u16,
                received: e["requestReceivedTimestamp"].as_str()?.to_string(),
                completed: e["stageTimestamp"].as_str()?.to_string(),
            })
        })
        .collect();
    // RFC 3339 with microseconds, all in UTC: text order is time order.
    requests.sort_by(|a, b| a.received.cmp(&b.received));
    requests
}

/// The most requests in flight at once among these.
pub fn most_at_once(requests: &[Request]) -> usize {
    requests
        .iter()
        .map(|r| requests.iter().filter(|o| o.received <= r.received && r.received < o.completed).count())
        .max()
        .unwrap_or(0)
}

/// A second kube-apiserver on the run's etcd (Kubernetes runs several API
/// servers on one etcd for HA), started by a test on demand: it serves the
/// same cluster as the shared server, on its own port of 127.0.0.1, and a
/// test may kill it (SIGKILL, by its own PID) and start it again on that
/// port without disturbing the tests that use the shared server. It runs
/// with the shared server's flags (scripts/cluster.sh writes them to
/// `kube-apiserver.args`) but its own `--secure-port`, no audit log (the
/// shared audit log stays the shared server's alone) and no identity
/// lease (below). Killed by its PID on drop, and dies with this test
/// process (`setpriv --pdeathsig KILL`).
///
/// What it shares with the shared server, and leaves alone:
/// - the `kubernetes` Service and its Endpoints: with
///   `--endpoint-reconciler-type none` neither server writes Endpoints (the
///   second logs a harmless "Found stale data, removed previous endpoints"
///   at start), and an API server only creates the Service when there is
///   none (it has not corrected an existing one since Kubernetes 1.17), so
///   the Service's target port stays the shared server's port;
/// - the API server identity lease, `kube-system/apiserver-HASH`, named
///   after the host name, so the same for both: left on, the second server
///   replaced it with its own (a new object and holder, which the shared
///   server then kept renewing under the killed server's name; both logged
///   update conflicts). So it runs with
///   `--feature-gates=APIServerIdentity=false` (and
///   `UnknownVersionInteroperabilityProxy=false`, the peer proxy, beta and
///   on in 1.37, which needs identity leases; between two servers of one
///   version it proxies nothing anyway) and writes no lease.
///
/// Measured on the 2-core machine the suite runs on: a start (spawn to
/// `/readyz` answering `ok`) takes 2.2-3.5 s (2.4 s, and 2.6 s to start
/// again, with the whole suite running beside it); a kill, until the port
/// refuses connections, under 0.1 s.
pub struct ApiServer {
    /// The admin's kubeconfig pointing at this server (no audit log).
    pub kubeconfig: PathBuf,
    /// Its port on 127.0.0.1, the same across `kill` and `start`.
    pub port: u16,
    program: PathBuf,
    /// Its arguments, `--secure-port` included.
    args: Vec<String>,
    kubectl: PathBuf,
    /// Every start's output, appended.
    log: PathBuf,
    /// The process of the last start, reaped by the thread that started it
    /// (see `spawn_reaped`): its PID is not reused while `child` holds it
    /// unreaped, so a kill through it never hits another process.
    running: Option<Arc<Mutex<Reaped>>>,
    pid: u32,
}

struct Reaped {
    child: Child,
    exited: Option<ExitStatus>,
}

impl ControlPlane {
    /// Starts a second API server on this run's etcd (see `ApiServer`), its
    /// kubeconfig and log (`second-kube-apiserver.log`) in `dir`, and waits
    /// (at most 90 s) until it is ready; panics with its log's tail when it
    /// is not.
    ///
    /// Its port is a free one below the kernel's ephemeral range, as
    /// scripts/cluster.sh picks its own: a test's server that asks for port
    /// 0 is never given it, neither between this check and the server's
    /// bind nor while the server is killed. Another pick of a port below
    /// the range (another second server) could still take it in between:
    /// when the server then cannot bind, it is started on another port,
    /// up to 5 times.
    pub fn second_api_server(&self, dir: &Path) -> ApiServer {
        let config = self.kubeconfig.parent().expect("the kubeconfig is in the cluster's directory");
        let file = config.join("kube-apiserver.args");
        let text = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("{}: {e} (scripts/cluster.sh writes it)", file.display()));
        let shared: Vec<String> = text.split('\0').filter(|a| !a.is_empty()).map(str::to_string).collect();
        assert!(
            shared.iter().all(|a| a.starts_with("--")),
            "{} holds an argument that is not one `--flag=value`: {shared:?}",
            file.display()
        );
        assert!(shared.iter().any(|a| a == "--bind-address=127.0.0.1"), "the API server binds 127.0.0.1: {shared:?}");
        let mut flags: Vec<String> =
            shared.into_iter().filter(|a| !a.starts_with("--secure-port=") && !a.starts_with("--audit-")).collect();
        let gates = "APIServerIdentity=false,UnknownVersionInteroperabilityProxy=false";
        match flags.iter_mut().find(|a| a.starts_with("--feature-gates=")) {
            Some(set) => *set = format!("{set},{gates}"),
            None => flags.push(format!("--feature-gates={gates}")),
        }
        let mut failures = Vec::new();
        for _ in 0..5 {
            let port = free_port_below_ephemeral();
            let mut server = ApiServer {
                kubeconfig: self.kubeconfig_at(dir, port),
                port,
                program: self.kubectl.with_file_name("kube-apiserver"),
                args: flags.iter().cloned().chain([format!("--secure-port={port}")]).collect(),
                kubectl: self.kubectl.clone(),
                log: dir.join("second-kube-apiserver.log"),
                running: None,
                pid: 0,
            };
            match server.launch() {
                Ok(()) => return server,
                Err(Launch::PortTaken(why)) => failures.push(why),
                Err(Launch::Failed(why)) => panic!("{why}"),
            }
        }
        panic!("the second API server found no free port in 5 tries: {failures:#?}")
    }
}

enum Launch {
    /// It exited because its port was taken.
    PortTaken(String),
    Failed(String),
}

impl ApiServer {
    /// The PID of its last start (the same process `kill` kills).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Kills it (SIGKILL, by its PID) unless it has exited already, then
    /// waits (at most 10 s) until its port refuses connections.
    pub fn kill(&mut self) {
        self.kill_and_reap();
        let address = std::net::SocketAddr::from(([127, 0, 0, 1], self.port));
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect_timeout(&address, Duration::from_secs(1)).is_ok() {
            assert!(
                Instant::now() < deadline,
                "127.0.0.1:{} still accepts connections 10 s after its API server (PID {}) was killed",
                self.port,
                self.pid
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Starts it again on the same port (after `kill`, or after the test
    /// killed it by its PID) and waits (at most 90 s) until it is ready;
    /// panics with its log's tail when it is not.
    pub fn start(&mut self) {
        if let Some(running) = &self.running {
            // A kill by PID from the test: the thread that reaps it notices
            // within 50 ms.
            let deadline = Instant::now() + Duration::from_secs(10);
            while lock(running).exited.is_none() {
                assert!(Instant::now() < deadline, "the API server (PID {}) still runs: kill() it first", self.pid);
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        match self.launch() {
            Ok(()) => {}
            Err(Launch::PortTaken(why) | Launch::Failed(why)) => panic!("{why}"),
        }
    }

    fn kill_and_reap(&mut self) {
        if let Some(running) = &self.running {
            let mut reaped = lock(running);
            if reaped.exited.is_none() {
                let _ = reaped.child.kill();
                reaped.exited = reaped.child.wait().ok();
            }
        }
    }

    /// Starts it and waits until `/readyz` answers `ok`; on failure, kills
    /// it and says why with its log's tail.
    fn launch(&mut self) -> Result<(), Launch> {
        use std::io::Write;
        let mut log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).unwrap();
        let offset = log.metadata().unwrap().len();
        writeln!(log, "--- airlock tests: starting a second API server on 127.0.0.1:{}", self.port).unwrap();
        let (tx, rx) = mpsc::channel();
        let mut command = Command::new("setpriv");
        command
            .args(["--pdeathsig", "KILL", "--"])
            .arg(&self.program)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        spawn_reaped(command, tx);
        let running =
            rx.recv().unwrap().unwrap_or_else(|e| panic!("cannot run setpriv {}: {e}", self.program.display()));
        self.pid = lock(&running).child.id();
        self.running = Some(running.clone());
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let out = Command::new(&self.kubectl)
                .arg("--kubeconfig")
                .arg(&self.kubeconfig)
                .args(["--request-timeout=5s", "get", "--raw", "/readyz"])
                .output()
                .expect("kubectl runs");
            // Ready, and not another server on that port: this process
            // said it serves there and still runs.
            let serving = format!("Serving securely on 127.0.0.1:{}", self.port);
            if out.status.success()
                && out.stdout.trim_ascii() == b"ok"
                && self.log_since(offset).contains(&serving)
                && lock(&running).exited.is_none()
            {
                return Ok(());
            }
            let exited = lock(&running).exited;
            if exited.is_some() || Instant::now() >= deadline {
                self.kill_and_reap();
                let tail = self.log_tail(offset);
                let why = match exited {
                    Some(status) => format!("exited ({status})"),
                    None => "was not ready within 90 s".to_string(),
                };
                let message = format!(
                    "the second API server on 127.0.0.1:{} (PID {}) {why}; the end of {}:\n{tail}",
                    self.port,
                    self.pid,
                    self.log.display()
                );
                return Err(if exited.is_some() && tail.contains("address already in use") {
                    Launch::PortTaken(message)
                } else {
                    Launch::Failed(message)
                });
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// What its log got since `offset`.
    fn log_since(&self, offset: u64) -> String {
        let text = std::fs::read(&self.log).unwrap_or_default();
        String::from_utf8_lossy(text.get(offset as usize..).unwrap_or_default()).into_owned()
    }

    /// The last 30 lines its log got since `offset`.
    fn log_tail(&self, offset: u64) -> String {
        let text = self.log_since(offset);
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        self.kill_and_reap();
    }
}

fn lock(reaped: &Mutex<Reaped>) -> std::sync::MutexGuard<'_, Reaped> {
    reaped.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Spawns `command` from a thread of its own that reaps it (polling every
/// 50 ms) and lives until it has exited: `setpriv --pdeathsig` signals the
/// process when the thread that started it ends, so a test's own thread,
/// or a thread that ends first, would kill it too early. The test process
/// ending ends the thread, and so the process.
fn spawn_reaped(mut command: Command, tx: mpsc::Sender<std::io::Result<Arc<Mutex<Reaped>>>>) {
    std::thread::spawn(move || {
        let running = match command.spawn() {
            Ok(child) => Arc::new(Mutex::new(Reaped { child, exited: None })),
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
        };
        let _ = tx.send(Ok(running.clone()));
        loop {
            {
                let mut reaped = lock(&running);
                if reaped.exited.is_some() {
                    return;
                }
                match reaped.child.try_wait() {
                    Ok(Some(status)) => {
                        reaped.exited = Some(status);
                        return;
                    }
                    Ok(None) => {}
                    // Reaped elsewhere (cannot be: only `kill_and_reap` waits,
                    // and it records the status).
                    Err(_) => return,
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    });
}

/// A port of 127.0.0.1 nothing listens on, below the kernel's ephemeral
/// range (where port 0 binds are given theirs), as scripts/cluster.sh
/// picks them.
fn free_port_below_ephemeral() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap_or_default();
    let low: u32 = range.split_whitespace().next().and_then(|p| p.parse().ok()).unwrap_or(32768);
    let top = low.min(32768);
    let bottom = if top > 21000 { 20000 } else { 1024 };
    for _ in 0..1000 {
        let random = std::collections::hash_map::RandomState::new().build_hasher().finish();
        let port = (bottom + (random % u64::from(top - bottom)) as u32) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port of 127.0.0.1 in {bottom}..{top} after 1000 tries")
}
