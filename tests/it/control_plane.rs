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
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, OnceLock};
use std::time::Duration;

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
