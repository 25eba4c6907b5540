//! `--debug` and `AIRLOCK_LOG`: the logs of the libraries underneath
//! (kube-rs, oci-client, reqwest, hyper-util, rustls), through `tracing`
//! (and `log`, bridged), to stderr, with credentials masked before a line
//! is written: `Authorization` values, Bearer tokens, Basic credentials,
//! passwords and tokens in `key: value`, `key=value` and JSON form, the
//! password of `user:password@` in URLs, and the literal secrets airlock was
//! given (`--password`, `AIRLOCK_PASSWORD`, `AIRLOCK_REGISTRY_PASSWORD`).
//! Without either, nothing is installed and nothing is logged.

use regex::{Captures, Regex};
use std::io::Write;
use std::sync::{Arc, LazyLock};
use tracing_subscriber::fmt::MakeWriter;

/// The filter `--debug` uses: what each layer underneath does on the wire,
/// without the byte-level noise of the TLS and HTTP/2 internals.
pub const DEBUG_FILTER: &str =
    "airlock=debug,kube=debug,oci_client=debug,reqwest=debug,hyper_util=debug,hyper=info,h2=info,rustls=info,tower=info,warn";

/// What stands in for a masked secret.
pub const MASK: &str = "<redacted>";

/// Installs the subscriber when `debug` is set or `AIRLOCK_LOG` gives a
/// filter (RUST_LOG syntax, `oci_client=trace,kube=debug`), which then wins
/// over `--debug`'s, and logs the command line `args` first. The secrets
/// in `args` and airlock's environment are masked wherever they appear.
pub fn init(debug: bool, args: &[String]) {
    let filter = match std::env::var("AIRLOCK_LOG") {
        Ok(filter) if !filter.trim().is_empty() => filter,
        _ if debug => DEBUG_FILTER.to_string(),
        _ => return,
    };
    let filter = tracing_subscriber::EnvFilter::try_new(&filter).unwrap_or_else(|e| {
        let _ = writeln!(std::io::stderr(), "warning: AIRLOCK_LOG `{filter}` is not a filter ({e}); using --debug's");
        tracing_subscriber::EnvFilter::new(DEBUG_FILTER)
    });
    let writer = RedactingStderr { redactor: Arc::new(Redactor::new(given_secrets(args))) };
    // A second init (a test calling run twice) keeps the first: not an error.
    let installed = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .with_target(true)
        .try_init();
    if installed.is_ok() {
        tracing::debug!(target: "airlock", "airlock {} {}", env!("CARGO_PKG_VERSION"), args.get(1..).unwrap_or_default().join(" "));
    }
}

/// The secrets on airlock's own command line and in its environment, to
/// mask literally.
pub fn given_secrets(args: &[String]) -> Vec<String> {
    let mut secrets: Vec<String> =
        ["AIRLOCK_PASSWORD", "AIRLOCK_REGISTRY_PASSWORD"].iter().filter_map(|name| std::env::var(name).ok()).collect();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "--password" {
            secrets.extend(args.next().cloned());
        } else if let Some(value) = arg.strip_prefix("--password=") {
            secrets.push(value.to_string());
        }
    }
    secrets
}

/// Masks credentials in a line of log.
pub struct Redactor {
    /// Literal secrets, longest first (one containing another is masked whole).
    secrets: Vec<String>,
}

static SCHEME: LazyLock<Regex> = LazyLock::new(|| {
    // `Bearer TOKEN`, `Basic BASE64`: the credential after the scheme.
    Regex::new(r"(?i)\b(bearer|basic)(\s+)([A-Za-z0-9._~+/\-]+=*)").expect("valid")
});
static SCHEME_DEBUG: LazyLock<Regex> = LazyLock::new(|| {
    // A Debug form: `Bearer("...")`, `Basic("user", "password")`.
    Regex::new(r#"(?i)\b(bearer|basic)\(\s*("(?:[^"\\]|\\.)*"\s*,\s*)?"(?:[^"\\]|\\.)*"\s*\)"#).expect("valid")
});
static HEADER: LazyLock<Regex> = LazyLock::new(|| {
    // `authorization: VALUE`, `"authorization": "VALUE"`: the whole value
    // (after its scheme, when it has one).
    Regex::new(r#"(?i)\b((?:proxy-)?authorization|x-registry-auth|cookie|set-cookie)("?\s*[:=]\s*"?)([^"\r\n,}]+)"#)
        .expect("valid")
});
static KEY_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    // `password: "x"`, `"password":"x"`, `password=x`, `token=x&...`.
    Regex::new(
        r#"(?i)\b((?:password|passwd|secret|client_secret|token|access_token|refresh_token|identitytoken|identity_token|registrytoken|auth)"?\s*[:=]\s*)(Some\("(?:[^"\\]|\\.)*"\)|"(?:[^"\\]|\\.)*"|[^\s"&,;)}\]]+)"#,
    )
    .expect("valid")
});
static USERINFO: LazyLock<Regex> = LazyLock::new(|| {
    // `scheme://user:password@host`.
    Regex::new(r"(?i)\b([a-z][a-z0-9+.\-]*://[^/\s:@]+:)([^/\s@]+)@").expect("valid")
});

/// Authorization schemes whose name is kept before the masked credential.
const SCHEMES: &[&str] = &["bearer", "basic", "negotiate", "digest", "token", "aws4-hmac-sha256"];

/// Words that follow `Bearer`/`Basic` in prose and challenges, in any
/// case, not credentials.
const NOT_CREDENTIALS: &[&str] = &["auth", "authentication", "authorization", "token", "realm", "challenge"];

impl Redactor {
    pub fn new(secrets: Vec<String>) -> Self {
        let mut secrets: Vec<String> = secrets.into_iter().filter(|s| s.len() >= 4).collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Redactor { secrets }
    }

    pub fn redact(&self, line: &str) -> String {
        let mut out = line.to_string();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), MASK);
            }
        }
        let out = SCHEME_DEBUG.replace_all(&out, |c: &Captures| {
            format!("{}({}\"{MASK}\")", &c[1], c.get(2).map(|m| m.as_str()).unwrap_or(""))
        });
        let out = HEADER.replace_all(&out, |c: &Captures| {
            let value = c[3].trim();
            let scheme = value.split_once(' ').map(|(scheme, _)| scheme.to_ascii_lowercase());
            if value.eq_ignore_ascii_case("sensitive") || value == MASK {
                c[0].to_string()
            } else if let Some(scheme) = scheme.filter(|s| SCHEMES.contains(&s.as_str())) {
                format!("{}{}{} {MASK}", &c[1], &c[2], &value[..scheme.len()])
            } else {
                format!("{}{}{MASK}", &c[1], &c[2])
            }
        });
        let out = SCHEME.replace_all(&out, |c: &Captures| {
            // A word of prose (`Bearer challenge`, `basic authentication.`)
            // is no credential: those mix cases, digits and symbols.
            let word = c[3].trim_end_matches(['=', '.']);
            let prose = word.bytes().all(|b| b.is_ascii_lowercase())
                || NOT_CREDENTIALS.contains(&word.to_ascii_lowercase().as_str());
            if prose {
                c[0].to_string()
            } else {
                format!("{}{}{MASK}", &c[1], &c[2])
            }
        });
        let out = KEY_VALUE.replace_all(&out, |c: &Captures| {
            let value = &c[2];
            if value.starts_with('"') {
                format!("{}\"{MASK}\"", &c[1])
            } else {
                format!("{}{MASK}", &c[1])
            }
        });
        USERINFO.replace_all(&out, |c: &Captures| format!("{}{MASK}@", &c[1])).into_owned()
    }
}

/// Hands the fmt layer one buffer per event, masked and written to
/// stderr whole when the event is done.
#[derive(Clone)]
struct RedactingStderr {
    redactor: Arc<Redactor>,
}

impl<'a> MakeWriter<'a> for RedactingStderr {
    type Writer = EventBuffer;

    fn make_writer(&'a self) -> EventBuffer {
        EventBuffer { redactor: self.redactor.clone(), bytes: Vec::new() }
    }
}

struct EventBuffer {
    redactor: Arc<Redactor>,
    bytes: Vec<u8>,
}

impl Write for EventBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for EventBuffer {
    fn drop(&mut self) {
        if !self.bytes.is_empty() {
            let text = self.redactor.redact(&String::from_utf8_lossy(&self.bytes));
            let _ = std::io::stderr().lock().write_all(text.as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redact(line: &str) -> String {
        Redactor::new(vec!["s3cret-pass".into()]).redact(line)
    }

    #[test]
    fn headers_and_schemes_are_masked() {
        assert_eq!(redact("authorization: Bearer eyJhbGciOi.eyJzdWIi.c2ln"), "authorization: Bearer <redacted>");
        assert_eq!(
            redact(r#"{"authorization": "Basic dGVzdGVyOnMzY3JldA=="}"#),
            r#"{"authorization": "Basic <redacted>"}"#
        );
        assert_eq!(redact("Proxy-Authorization: Negotiate abc123"), "Proxy-Authorization: Negotiate <redacted>");
        assert_eq!(redact("set-cookie: a=b; Path=/, x"), "set-cookie: <redacted>, x");
        assert_eq!(redact(r#"headers={"authorization": Sensitive}"#), r#"headers={"authorization": Sensitive}"#);
        assert_eq!(redact("cookie: session=abcdef"), "cookie: <redacted>");
        assert_eq!(redact(r#"with Bearer("tok-en.1")"#), r#"with Bearer("<redacted>")"#);
        assert_eq!(redact(r#"Basic("tester", "pw\"x")"#), r#"Basic("tester", "<redacted>")"#);
    }

    #[test]
    fn prose_about_schemes_is_kept() {
        for line in [
            "Falling back to HTTP Basic Auth",
            "Using HTTP basic authentication.",
            r#"error="Cannot find Bearer challenge""#,
            "Bearer token is not a JWT, assuming a 60 seconds validity",
            r#"www-authenticate: Bearer realm="https://auth.example/token",service="registry""#,
        ] {
            assert_eq!(redact(line), line);
        }
    }

    #[test]
    fn passwords_and_tokens_in_any_form_are_masked() {
        assert_eq!(redact(r#"{"username":"u","password":"p@ss w"}"#), r#"{"username":"u","password":"<redacted>"}"#);
        assert_eq!(redact(r#"{"identitytoken": "abc", "x": 1}"#), r#"{"identitytoken": "<redacted>", "x": 1}"#);
        assert_eq!(redact(r#"{"token":"eyJ.x.y","expires_in":60}"#), r#"{"token":"<redacted>","expires_in":60}"#);
        assert_eq!(
            redact("GET /token?service=r&access_token=abc&scope=x"),
            "GET /token?service=r&access_token=<redacted>&scope=x"
        );
        assert_eq!(redact("Config { password: Some(\"x\") }"), "Config { password: <redacted> }");
        assert_eq!(redact(r#"auth: "dGVzdGVyOnMzY3JldA==""#), r#"auth: "<redacted>""#);
        assert_eq!(redact("password=hunter2 user=me"), "password=<redacted> user=me");
    }

    #[test]
    fn urls_lose_their_password() {
        assert_eq!(
            redact("GET https://tester:pw@registry.site:5000/v2/"),
            "GET https://tester:<redacted>@registry.site:5000/v2/"
        );
        assert_eq!(redact("https://registry.site:5000/v2/"), "https://registry.site:5000/v2/");
    }

    #[test]
    fn given_secrets_are_masked_anywhere() {
        assert_eq!(
            redact("odd place s3cret-pass, and again:s3cret-pass"),
            "odd place <redacted>, and again:<redacted>"
        );
        assert_eq!(
            given_secrets(&["push".into(), "--password".into(), "pw1".into(), "--password=pw2".into()])
                .into_iter()
                .filter(|s| s.starts_with("pw"))
                .collect::<Vec<_>>(),
            ["pw1", "pw2"]
        );
    }
}
