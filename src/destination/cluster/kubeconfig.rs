//! Which cluster a command talks to, found as kubectl finds it:
//!
//! 1. `--kubeconfig FILE`: that file alone (it must exist);
//! 2. else `KUBECONFIG`, a list of files (`:`-separated; `;` on Windows),
//!    merged as kubectl merges them; files that do not exist are skipped,
//!    as kubectl skips them; when none exists, `~/.kube/config` is not
//!    read (kubectl does not read it either) and step 4 is tried;
//! 3. else `~/.kube/config`;
//! 4. else the cluster airlock runs in: `KUBERNETES_SERVICE_HOST` and
//!    `KUBERNETES_SERVICE_PORT` set, and a service account token mounted.
//!
//! `--context NAME` picks a context of the kubeconfig found (default: its
//! `current-context`). A kubeconfig found in steps 2 or 3 that holds no
//! context at all counts as none found (kubectl then tries the cluster it
//! runs in too).

use super::ClusterError;
use kube::config::{KubeConfigOptions, Kubeconfig};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where a pod's service account token is mounted.
const SERVICE_ACCOUNT_TOKEN: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/// What the command line says about the cluster: kubectl's flags.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// `--kubeconfig FILE`.
    pub kubeconfig: Option<PathBuf>,
    /// `--context NAME`.
    pub context: Option<String>,
}

/// What the process environment says, read once (tests give their own).
#[derive(Debug, Clone)]
pub struct Environment {
    /// `KUBECONFIG`, as set.
    pub kubeconfig: Option<OsString>,
    /// The home directory (`HOME`), for `~/.kube/config`.
    pub home: Option<PathBuf>,
    /// Whether airlock runs in a pod of a cluster, or why not.
    pub in_cluster: Result<(), String>,
}

impl Environment {
    pub fn of_process() -> Self {
        let set = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let in_cluster = if set("KUBERNETES_SERVICE_HOST").is_none() || set("KUBERNETES_SERVICE_PORT").is_none() {
            Err("KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set".to_string())
        } else if !Path::new(SERVICE_ACCOUNT_TOKEN).is_file() {
            Err(format!("no service account token at {SERVICE_ACCOUNT_TOKEN}"))
        } else {
            Ok(())
        };
        Environment {
            kubeconfig: std::env::var_os("KUBECONFIG"),
            home: set("HOME").or_else(|| set("USERPROFILE")).map(PathBuf::from),
            in_cluster,
        }
    }
}

/// Why a kubeconfig, or the configuration of the cluster airlock runs in,
/// cannot be used: kube's own error, as the cause of
/// [`ClusterError::Kubeconfig`], which names the file.
#[derive(Debug, thiserror::Error)]
pub enum KubeconfigFault {
    /// The file cannot be read (kube's text would repeat its path).
    #[error(transparent)]
    Read(std::io::Error),
    #[error(transparent)]
    Kubeconfig(kube::config::KubeconfigError),
    #[error(transparent)]
    InCluster(kube::config::InClusterError),
    #[error(transparent)]
    Client(kube::Error),
}

fn unusable(origin: String, fault: KubeconfigFault) -> ClusterError {
    ClusterError::Kubeconfig { origin, source: Box::new(fault) }
}

/// The cluster found.
#[derive(Debug, Clone)]
pub enum Located {
    Kubeconfig {
        config: Box<Kubeconfig>,
        context: String,
        /// Where the kubeconfig came from (`kubeconfig admin.conf`, `KUBECONFIG a:b`).
        origin: String,
    },
    InCluster,
}

impl Located {
    /// The cluster, for messages: `context `ctx` of kubeconfig admin.conf`.
    pub fn describe(&self) -> String {
        match self {
            Located::Kubeconfig { context, origin, .. } => format!("context `{context}` of {origin}"),
            Located::InCluster => "the cluster airlock runs in (its pod's service account)".to_string(),
        }
    }

    /// A client for it, with airlock's timeouts and no retries.
    pub async fn client(&self) -> Result<kube::Client, ClusterError> {
        let mut config = match self {
            Located::Kubeconfig { config, context, origin } => {
                let options = KubeConfigOptions { context: Some(context.clone()), ..Default::default() };
                kube::Config::from_custom_kubeconfig((**config).clone(), &options)
                    .await
                    .map_err(|e| unusable(format!("{origin} (context `{context}`)"), KubeconfigFault::Kubeconfig(e)))?
            }
            Located::InCluster => kube::Config::incluster()
                .map_err(|e| unusable("the in-cluster configuration".into(), KubeconfigFault::InCluster(e)))?,
        };
        config.connect_timeout = Some(Duration::from_secs(5));
        config.read_timeout = Some(Duration::from_secs(20));
        config.write_timeout = Some(Duration::from_secs(20));
        // kube 5 retries 429, 503 and 504 by default (up to 15 times, backing
        // off for minutes); airlock retries nothing: one clear failure, and a
        // rerun converges.
        config.default_retry = false;
        let origin = self.describe();
        kube::Client::try_from(config).map_err(|e| unusable(origin, KubeconfigFault::Client(e)))
    }
}

/// Finds the cluster as kubectl does (see the module's doc); reads files only.
pub fn locate(selection: &Selection, env: &Environment) -> Result<Located, ClusterError> {
    let mut tried = Vec::new();
    if let Some(path) = &selection.kubeconfig {
        let origin = format!("kubeconfig {}", path.display());
        let config = read(path).map_err(|fault| unusable(origin.clone(), fault))?;
        return pick_context(config, selection.context.as_deref(), origin);
    }
    let list = env.kubeconfig.as_ref().map(|value| {
        let mut paths: Vec<PathBuf> = std::env::split_paths(value).filter(|p| !p.as_os_str().is_empty()).collect();
        // kubectl reads a file named twice once.
        let mut seen = std::collections::HashSet::new();
        paths.retain(|p| seen.insert(p.clone()));
        (value, paths)
    });
    let found = match list {
        // An empty `KUBECONFIG` is no `KUBECONFIG`, for kubectl too (but
        // one of empty names only, `:`, is set, naming no file).
        Some((value, paths)) if !value.is_empty() => {
            let origin = format!("KUBECONFIG {}", value.to_string_lossy());
            let mut merged: Option<Kubeconfig> = None;
            for path in &paths {
                if !exists(path) {
                    continue;
                }
                let err = |fault| unusable(format!("{} (in KUBECONFIG)", path.display()), fault);
                let next = read(path).map_err(err)?;
                // kube's merge is kubectl's: the first file to set a value
                // (current-context, preferences) wins, and so does the first
                // to define a cluster, user or context of a given name, whole:
                // a later file's entry of that name is dropped, even its
                // fields the first left unset. (Unlike kubectl it refuses
                // files whose apiVersion or kind differ; kubeconfigs are v1
                // Config.)
                merged = Some(match merged {
                    None => next,
                    Some(first) => first.merge(next).map_err(|e| err(KubeconfigFault::Kubeconfig(e)))?,
                });
            }
            match merged {
                Some(config) if holds_contexts(&config) || selection.context.is_some() => Some((config, origin)),
                Some(_) => {
                    tried.push(format!("{origin} (no context in it)"));
                    None
                }
                None if paths.is_empty() => {
                    tried.push(format!("KUBECONFIG ({:?}: names no file)", value));
                    None
                }
                None => {
                    let list: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
                    tried.push(format!("KUBECONFIG ({}: not there)", list.join(", ")));
                    None
                }
            }
        }
        _ => match &env.home {
            Some(home) => {
                let path = home.join(".kube").join("config");
                if exists(&path) {
                    let origin = format!("kubeconfig {}", path.display());
                    let config = read(&path).map_err(|fault| unusable(origin.clone(), fault))?;
                    if holds_contexts(&config) || selection.context.is_some() {
                        Some((config, origin))
                    } else {
                        tried.push(format!("{} (no context in it)", path.display()));
                        None
                    }
                } else {
                    tried.push(format!("KUBECONFIG (not set), {} (not there)", path.display()));
                    None
                }
            }
            None => {
                tried.push("KUBECONFIG (not set), ~/.kube/config (HOME is not set)".into());
                None
            }
        },
    };
    if let Some((config, origin)) = found {
        return pick_context(config, selection.context.as_deref(), origin);
    }
    match (&env.in_cluster, &selection.context) {
        (Ok(()), None) => Ok(Located::InCluster),
        (Err(why), None) => {
            tried.push(format!("the cluster airlock runs in ({why})"));
            Err(ClusterError::NoCluster { tried: tried.join(", ") })
        }
        (in_cluster, Some(context)) => {
            // The cluster airlock runs in has no contexts (for kubectl neither).
            let why = in_cluster.as_ref().err().map_or("it has no contexts", String::as_str);
            tried.push(format!("the cluster airlock runs in ({why})"));
            Err(ClusterError::ContextWithoutKubeconfig { context: context.clone(), tried: tried.join(", ") })
        }
    }
}

/// The context `--context` names, else the current one; an error that
/// lists the contexts there are when that is not one of them.
fn pick_context(config: Kubeconfig, flag: Option<&str>, origin: String) -> Result<Located, ClusterError> {
    let names: Vec<&str> = config.contexts.iter().map(|c| c.name.as_str()).collect();
    let has = if names.is_empty() { "it has no contexts".to_string() } else { format!("it has: {}", names.join(", ")) };
    let current = config.current_context.as_deref().filter(|c| !c.is_empty());
    let context = match (flag, current) {
        (Some(name), _) => {
            if !names.contains(&name) {
                return Err(ClusterError::UnknownContext { context: name.into(), origin, has });
            }
            name
        }
        (None, Some(name)) => {
            if !names.contains(&name) {
                return Err(ClusterError::BadCurrentContext { context: name.into(), origin, has });
            }
            name
        }
        (None, None) => return Err(ClusterError::NoCurrentContext { origin, has }),
    };
    let context = context.to_string();
    Ok(Located::Kubeconfig { config: Box::new(config), context, origin })
}

fn exists(path: &Path) -> bool {
    // As kubectl: only a file that is not there is skipped; one that
    // cannot be read is an error.
    !matches!(std::fs::metadata(path), Err(e) if e.kind() == std::io::ErrorKind::NotFound)
}

fn holds_contexts(config: &Kubeconfig) -> bool {
    !config.contexts.is_empty() || config.current_context.as_deref().is_some_and(|c| !c.is_empty())
}

fn read(path: &Path) -> Result<Kubeconfig, KubeconfigFault> {
    let mut config = Kubeconfig::read_from(path).map_err(|e| match e {
        // kube's text repeats the path, which the message names already.
        kube::config::KubeconfigError::ReadConfig(io, _) => KubeconfigFault::Read(io),
        other => KubeconfigFault::Kubeconfig(other),
    })?;
    // An empty current-context is unset (kubectl's merge skips it, kube's
    // would let it win).
    if config.current_context.as_deref() == Some("") {
        config.current_context = None;
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn cluster(name: &str, port: u16) -> String {
        format!("{{name: {name}, cluster: {{server: \"http://127.0.0.1:{port}\"}}}}")
    }

    fn env(kubeconfig: Option<&str>, home: Option<&Path>, in_cluster: bool) -> Environment {
        Environment {
            kubeconfig: kubeconfig.map(OsString::from),
            home: home.map(Path::to_path_buf),
            in_cluster: if in_cluster { Ok(()) } else { Err("not in a pod".into()) },
        }
    }

    fn server(located: &Located) -> String {
        let Located::Kubeconfig { config, context, .. } = located else { panic!("in-cluster: {located:?}") };
        let ctx = config.contexts.iter().find(|c| &c.name == context).unwrap().context.clone().unwrap();
        let cluster = config.clusters.iter().find(|c| c.name == ctx.cluster).unwrap();
        format!("{context}@{}", cluster.cluster.as_ref().unwrap().server.as_deref().unwrap())
    }

    #[test]
    fn the_order_kubectl_looks_in() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let home = d.join("home");
        std::fs::create_dir_all(home.join(".kube")).unwrap();
        let kubeconfig = |ctx: &str, port: u16| {
            format!(
                "clusters: [{}]\ncontexts: [{{name: {ctx}, context: {{cluster: c}}}}]\ncurrent-context: {ctx}\n",
                cluster("c", port)
            )
        };
        write(&home.join(".kube"), "config", &kubeconfig("home", 3));
        let flag = write(d, "flag", &kubeconfig("flag", 1));
        let listed = write(d, "listed", &kubeconfig("listed", 2));
        let selection =
            |kubeconfig: Option<&Path>| Selection { kubeconfig: kubeconfig.map(Path::to_path_buf), context: None };
        let listed_env = listed.to_str().unwrap();

        let found = |s: &Selection, e: &Environment| server(&locate(s, e).unwrap());
        assert_eq!(
            found(&selection(Some(&flag)), &env(Some(listed_env), Some(&home), true)),
            "flag@http://127.0.0.1:1"
        );
        assert_eq!(found(&selection(None), &env(Some(listed_env), Some(&home), true)), "listed@http://127.0.0.1:2");
        // An empty KUBECONFIG is none; one of empty names only is set.
        assert_eq!(found(&selection(None), &env(Some(""), Some(&home), true)), "home@http://127.0.0.1:3");
        assert!(matches!(locate(&selection(None), &env(Some(":"), Some(&home), true)), Ok(Located::InCluster)));
        assert_eq!(found(&selection(None), &env(None, Some(&home), true)), "home@http://127.0.0.1:3");
        // Nothing: the cluster airlock runs in.
        let empty = d.join("empty-home");
        assert!(matches!(locate(&selection(None), &env(None, Some(&empty), true)), Ok(Located::InCluster)));
        // KUBECONFIG whose files are all missing: not ~/.kube/config (as kubectl).
        let missing = d.join("missing");
        let e = env(Some(missing.to_str().unwrap()), Some(&home), true);
        assert!(matches!(locate(&selection(None), &e), Ok(Located::InCluster)));
        // A --kubeconfig that is not there is an error, never skipped.
        let err = locate(&selection(Some(&missing)), &env(None, Some(&home), true)).unwrap_err().to_string();
        assert!(err.contains(&format!("cannot use kubeconfig {}", missing.display())), "{err}");
        // A ~/.kube/config without contexts is as none.
        write(&home.join(".kube"), "config", "apiVersion: v1\nkind: Config\n");
        assert!(matches!(locate(&selection(None), &env(None, Some(&home), true)), Ok(Located::InCluster)));
    }

    #[test]
    fn nothing_found_says_what_was_tried() {
        let dir = tempfile::tempdir().unwrap();
        let error = locate(&Selection::default(), &env(None, Some(dir.path()), false)).unwrap_err();
        let err = error.to_string();
        let hints = crate::diagnosis::diagnose(&anyhow::Error::from(error)).hints;
        let home_config = dir.path().join(".kube/config");
        assert!(err.starts_with("no cluster found: tried KUBECONFIG (not set)"), "{err}");
        assert!(err.contains(&format!("{} (not there)", home_config.display())), "{err}");
        assert!(err.contains("the cluster airlock runs in (not in a pod)"), "{err}");
        assert!(hints.iter().any(|h| h.contains("--kubeconfig FILE")), "{hints:?}");
        let err = locate(&Selection::default(), &env(Some("/nope/a:/nope/b"), None, false)).unwrap_err().to_string();
        assert!(err.contains("KUBECONFIG (/nope/a, /nope/b: not there)"), "{err}");
        // A context asked for where there is no kubeconfig.
        let selection = Selection { kubeconfig: None, context: Some("prod".into()) };
        let err = locate(&selection, &env(None, Some(dir.path()), true)).unwrap_err().to_string();
        assert!(
            err.starts_with("context `prod` is not in any kubeconfig: none was found (tried KUBECONFIG (not set)"),
            "{err}"
        );
        assert!(err.contains("the cluster airlock runs in (it has no contexts)"), "{err}");
    }

    #[test]
    fn kubeconfig_files_merge_as_kubectl_merges_them() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        // a: the context (and current-context); b: its cluster and user, and
        // entries of the same names that lose to a's.
        let a = write(
            d,
            "a",
            &format!("current-context: here\ncontexts: [{{name: here, context: {{cluster: live, user: u}}}}]\nclusters: [{}]\n", cluster("first", 1)),
        );
        let b = write(
            d,
            "b",
            &format!(
                "current-context: there\ncontexts: [{{name: here, context: {{cluster: first}}}}, {{name: there, context: {{cluster: first}}}}]\nclusters: [{}, {}]\nusers: [{{name: u, user: {{token: t}}}}]\n",
                cluster("live", 2),
                cluster("first", 3)
            ),
        );
        let value = format!("{}:{}:{}", d.join("missing").display(), a.display(), b.display());
        let located = locate(&Selection::default(), &env(Some(&value), None, false)).unwrap();
        assert_eq!(server(&located), "here@http://127.0.0.1:2");
        let Located::Kubeconfig { config, origin, .. } = &located else { unreachable!() };
        assert_eq!(origin, &format!("KUBECONFIG {value}"));
        assert_eq!(config.auth_infos.len(), 1);
        let first = config.clusters.iter().find(|c| c.name == "first").unwrap();
        assert_eq!(first.cluster.as_ref().unwrap().server.as_deref(), Some("http://127.0.0.1:1"));
        // --context reaches b's own context, whose cluster is a's `first`.
        let selection = Selection { kubeconfig: None, context: Some("there".into()) };
        assert_eq!(server(&locate(&selection, &env(Some(&value), None, false)).unwrap()), "there@http://127.0.0.1:1");
        // A file that cannot be parsed is an error that names it.
        let bad = write(d, "bad", "contexts: {oops\n");
        let value = format!("{}:{}", a.display(), bad.display());
        let err = locate(&Selection::default(), &env(Some(&value), None, false)).unwrap_err();
        assert_eq!(err.to_string(), format!("cannot use {} (in KUBECONFIG)", bad.display()));
        // kube's reason is the cause, and says what is wrong.
        let cause = std::error::Error::source(&err).expect("a cause").to_string();
        assert!(cause.starts_with("failed to parse kubeconfig YAML"), "{cause}");
    }

    #[test]
    fn an_unknown_context_is_named_with_the_ones_there() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "config",
            &format!(
                "clusters: [{}]\ncontexts: [{{name: dev, context: {{cluster: c}}}}, {{name: staging, context: {{cluster: c}}}}]\n",
                cluster("c", 1)
            ),
        );
        let selection =
            |context: Option<&str>| Selection { kubeconfig: Some(path.clone()), context: context.map(String::from) };
        let e = env(None, None, false);
        let err = locate(&selection(Some("prod")), &e).unwrap_err().to_string();
        assert!(err.starts_with(&format!("context `prod` is not in kubeconfig {}", path.display())), "{err}");
        assert!(err.contains("it has: dev, staging"), "{err}");
        // No current-context and no --context.
        let error = locate(&selection(None), &e).unwrap_err();
        let err = error.to_string();
        assert!(err.contains("sets no current-context") && err.contains("dev, staging"), "{err}");
        let hints = crate::diagnosis::diagnose(&anyhow::Error::from(error)).hints;
        assert_eq!(hints, ["choose one with --context NAME"]);
        // A current-context that is not among them.
        let gone =
            write(dir.path(), "gone", &format!("{}current-context: gone\n", std::fs::read_to_string(&path).unwrap()));
        let err = locate(&Selection { kubeconfig: Some(gone), context: None }, &e).unwrap_err().to_string();
        assert!(err.contains("current-context `gone`") && err.contains("it has: dev, staging"), "{err}");
        assert_eq!(server(&locate(&selection(Some("staging")), &e).unwrap()), "staging@http://127.0.0.1:1");
    }
}
