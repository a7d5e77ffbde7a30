//! The distribution API v2 client (ureq): TLS with the system CAs plus `certs.d`, plain HTTP only for
//! insecure registries, Bearer-token and Basic authentication, manifests (verified when asked for by
//! digest) and streamed blobs whose digest is checked as they are read.

use sha2::Digest as _;
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tracing::debug;

use super::auth::Credentials;
use crate::storage::Digest;

/// The most a manifest or a config blob may weigh (they are read into memory).
pub const MAX_MANIFEST_BYTES: u64 = 8 << 20;
const MAX_JSON_BYTES: u64 = 32 << 20;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("pinging container registry {registry}: {message}")]
    Unreachable { registry: String, message: String },
    #[error("{what}: authentication required: {message}; log in with `warren login {registry}` or pass --creds USER:PASSWORD")]
    Unauthorized { what: String, registry: String, message: String },
    #[error("{what}: {message}")]
    NotFound { what: String, message: String },
    #[error("{what}: registry answered {status}: {message}")]
    Status { what: String, status: u16, message: String },
    #[error("{what}: {message}")]
    Transport { what: String, message: String },
    #[error(
        "{what}: manifest digest mismatch: asked for {expected}, got {got}: the registry served a different manifest"
    )]
    ManifestDigest { what: String, expected: String, got: String },
    #[error("blob {digest} of {reference} does not match its digest (got {got}): the registry served corrupt data")]
    BlobDigest { digest: String, reference: String, got: String },
    #[error("blob {digest} of {reference} is larger than the {expected} bytes its descriptor says: the registry served corrupt data")]
    BlobSize { digest: String, reference: String, expected: u64 },
    #[error("{what}: {message}")]
    Invalid { what: String, message: String },
    #[error("TLS configuration for {registry}: {message}")]
    Tls { registry: String, message: String },
}

impl RegistryError {
    /// The HTTP status, when the registry answered one.
    pub fn status(&self) -> Option<u16> {
        match self {
            RegistryError::Status { status, .. } => Some(*status),
            RegistryError::NotFound { .. } => Some(404),
            RegistryError::Unauthorized { .. } => Some(401),
            _ => None,
        }
    }
}

type Result<T> = std::result::Result<T, RegistryError>;

/// How to reach registries: credentials and TLS, from the command line.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// `--creds USER:PASSWORD`
    pub creds: Option<String>,
    pub authfile: Option<PathBuf>,
    /// `--tls-verify`: None follows registries.conf (`insecure`).
    pub tls_verify: Option<bool>,
    pub cert_dir: Option<PathBuf>,
}

/// A parsed `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Challenge {
    /// The registry wants no authentication.
    #[default]
    None,
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

impl Challenge {
    /// Parse `Bearer realm="...",service="...",scope="..."` or `Basic realm="..."`. The first Bearer or
    /// Basic challenge wins; unknown schemes give None.
    pub fn parse(header: &str) -> Option<Challenge> {
        let h = header.trim();
        let (scheme, rest) = h.split_once(char::is_whitespace).unwrap_or((h, ""));
        let params = parse_auth_params(rest);
        let get = |k: &str| params.iter().find(|(key, _)| key.eq_ignore_ascii_case(k)).map(|(_, v)| v.clone());
        if scheme.eq_ignore_ascii_case("bearer") {
            let realm = get("realm")?;
            Some(Challenge::Bearer { realm, service: get("service"), scope: get("scope") })
        } else if scheme.eq_ignore_ascii_case("basic") {
            Some(Challenge::Basic)
        } else {
            None
        }
    }
}

/// `k="v", k2=v2` with quoted strings that may contain commas and `\"`.
fn parse_auth_params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let b: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && (b[i] == ',' || b[i].is_whitespace()) {
            i += 1;
        }
        let ks = i;
        while i < b.len() && b[i] != '=' && b[i] != ',' {
            i += 1;
        }
        let key = b[ks..i].iter().collect::<String>().trim().to_string();
        if i >= b.len() || b[i] != '=' {
            continue;
        }
        i += 1;
        let mut val = String::new();
        if i < b.len() && b[i] == '"' {
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' && i + 1 < b.len() {
                    i += 1;
                }
                val.push(b[i]);
                i += 1;
            }
            i += 1;
        } else {
            while i < b.len() && b[i] != ',' {
                val.push(b[i]);
                i += 1;
            }
            val = val.trim().to_string();
        }
        if !key.is_empty() {
            out.push((key, val));
        }
    }
    out
}

#[derive(Default)]
struct AuthState {
    challenge: Challenge,
    /// Bearer tokens by scope.
    tokens: HashMap<String, String>,
}

/// A client for one registry (host[:port]).
pub struct Client {
    /// As in references: `docker.io`, `localhost:5000`.
    pub registry: String,
    /// `https://host` or `http://host`, decided by the ping.
    pub base: String,
    agent: ureq::Agent,
    creds: Option<Credentials>,
    state: Mutex<AuthState>,
}

/// A manifest as fetched.
#[derive(Debug, Clone)]
pub struct FetchedManifest {
    pub bytes: Vec<u8>,
    /// sha256 of `bytes`.
    pub digest: Digest,
    pub content_type: Option<String>,
}

/// The API host for a registry name (Docker Hub's API lives elsewhere).
pub fn api_host(registry: &str) -> &str {
    if registry == "docker.io" {
        "registry-1.docker.io"
    } else {
        registry
    }
}

impl Client {
    /// Connect to `registry` (ping `/v2/`, learning how it wants to be authenticated). `insecure` allows
    /// unverified TLS and then plain HTTP, as Podman does for registries marked insecure.
    pub fn connect(
        registry: &str,
        insecure: bool,
        creds: Option<Credentials>,
        cert_dir: Option<&Path>,
    ) -> Result<Client> {
        let host = api_host(registry);
        let tls = tls_config(registry, !insecure, cert_dir)?;
        let build_agent = |scheme: &str| -> Result<ureq::Agent> {
            let mut b = ureq::AgentBuilder::new()
                .tls_config(tls.clone())
                .timeout_connect(Duration::from_secs(30))
                .timeout_read(Duration::from_secs(120))
                .timeout_write(Duration::from_secs(120))
                .redirects(8)
                .redirect_auth_headers(ureq::RedirectAuthHeaders::SameHost)
                .user_agent(concat!("warren/", env!("CARGO_PKG_VERSION")));
            if let Some(p) = proxy_for(scheme, host, &|k| std::env::var(k).ok()) {
                debug!("using proxy {} for {scheme}://{host}", redact_proxy(&p));
                let proxy = ureq::Proxy::new(&p).map_err(|e| RegistryError::Invalid {
                    what: format!("the proxy for {host}"),
                    message: format!("{}: {e}", redact_proxy(&p)),
                })?;
                b = b.proxy(proxy);
            }
            Ok(b.build())
        };
        let mut schemes = vec!["https"];
        if insecure {
            schemes.push("http");
        }
        let mut last_err = String::new();
        for scheme in schemes {
            let agent = build_agent(scheme)?;
            let base = format!("{scheme}://{host}");
            let url = format!("{base}/v2/");
            debug!("GET {url} (ping)");
            let challenge = match agent.get(&url).call() {
                Ok(r) => {
                    debug!("{url}: {}", r.status());
                    Challenge::None
                }
                Err(ureq::Error::Status(401, r)) => {
                    let h = r.header("www-authenticate").unwrap_or("");
                    debug!("{url}: 401, WWW-Authenticate: {h}");
                    Challenge::parse(h).unwrap_or(Challenge::None)
                }
                Err(ureq::Error::Status(code, r)) => {
                    // Some registries answer /v2/ with 404 or 403 yet serve the API; carry on.
                    debug!("{url}: {code} {}", r.status_text());
                    Challenge::None
                }
                Err(ureq::Error::Transport(t)) => {
                    debug!("ping failed: {t}");
                    last_err = format!("GET {url}: {}", describe_transport(&t));
                    continue;
                }
            };
            return Ok(Client {
                registry: registry.to_string(),
                base,
                agent,
                creds,
                state: Mutex::new(AuthState { challenge, tokens: HashMap::new() }),
            });
        }
        let hint = if last_err.contains("certificate") {
            format!(
                "the registry's certificate is not trusted: put its CA in /etc/containers/certs.d/{registry}/ca.crt \
                 or pass --cert-dir DIR; --tls-verify=false skips verification"
            )
        } else if insecure {
            "is the registry running and reachable?".to_string()
        } else {
            "is the registry running? If it serves plain HTTP, mark it insecure in registries.conf or pass --tls-verify=false".to_string()
        };
        Err(RegistryError::Unreachable { registry: registry.to_string(), message: format!("{last_err} ({hint})") })
    }

    /// Whether the registry asks for credentials at all.
    pub fn challenge(&self) -> Challenge {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).challenge.clone()
    }

    /// Check that the credentials are accepted (for `login`): a token fetch for Bearer registries, an
    /// authenticated `/v2/` for Basic ones.
    pub fn check_login(&self) -> Result<()> {
        match self.challenge() {
            Challenge::None => Ok(()),
            Challenge::Bearer { realm, service, .. } => self.fetch_token(&realm, service.as_deref(), None).map(|_| ()),
            Challenge::Basic => {
                let url = format!("{}/v2/", self.base);
                self.send("GET", &url, None, &[], "logging in").map(|_| ())
            }
        }
    }

    /// GET a manifest by tag or digest. When `reference` is a digest the bytes must hash to it.
    pub fn manifest(&self, repository: &str, reference: &str, what: &str) -> Result<FetchedManifest> {
        let url = format!("{}/v2/{repository}/manifests/{reference}", self.base);
        let resp = self.send("GET", &url, Some(&pull_scope(repository)), super::manifest::ACCEPT, what)?;
        let content_type = resp.header("content-type").map(str::to_string);
        let header_digest = resp.header("docker-content-digest").map(str::to_string);
        let bytes = read_limited(resp, MAX_MANIFEST_BYTES, what)?;
        let digest = Digest::sha256_of(&bytes);
        if reference.starts_with("sha256:") && reference != digest.as_str() {
            return Err(RegistryError::ManifestDigest {
                what: what.into(),
                expected: reference.into(),
                got: digest.to_string(),
            });
        }
        if let Some(h) = header_digest.filter(|h| h.starts_with("sha256:") && h != digest.as_str()) {
            tracing::warn!(
                "{what}: Docker-Content-Digest {h} differs from the manifest's digest {digest}; using {digest}"
            );
        }
        debug!(
            "{what}: manifest {digest} ({} bytes, {})",
            bytes.len(),
            content_type.as_deref().unwrap_or("no content type")
        );
        Ok(FetchedManifest { bytes, digest, content_type })
    }

    /// GET a small blob (a config) into memory, verified against its digest.
    pub fn blob_bytes(&self, repository: &str, digest: &Digest, reference: &str) -> Result<Vec<u8>> {
        let mut r = self.blob(repository, digest, None, reference)?;
        let mut out = Vec::new();
        (&mut r).take(MAX_MANIFEST_BYTES + 1).read_to_end(&mut out).map_err(|e| io_to_registry(e, reference))?;
        if out.len() as u64 > MAX_MANIFEST_BYTES {
            return Err(RegistryError::Invalid {
                what: reference.into(),
                message: format!("blob {digest} is too large for a config"),
            });
        }
        Ok(out)
    }

    /// Stream a blob. The reader fails at end of stream when the data does not hash to `digest`, and as
    /// soon as it exceeds `size` when that is known.
    pub fn blob(&self, repository: &str, digest: &Digest, size: Option<u64>, reference: &str) -> Result<BlobReader> {
        let url = format!("{}/v2/{repository}/blobs/{digest}", self.base);
        debug!("fetching blob {digest} of {reference}");
        let resp = self.send(
            "GET",
            &url,
            Some(&pull_scope(repository)),
            &[],
            &format!("fetching blob {digest} of {reference}"),
        )?;
        let content_length = resp.header("content-length").and_then(|v| v.parse::<u64>().ok());
        Ok(BlobReader {
            inner: resp.into_reader(),
            hasher: sha2::Sha256::new(),
            expected: digest.clone(),
            reference: reference.to_string(),
            size,
            content_length,
            read: 0,
            verified: false,
        })
    }

    /// GET a JSON document from an API path (`/v2/_catalog`, `/v2/NAME/tags/list`, `/v1/search?...`).
    pub fn get_json(&self, path_and_query: &str, scope: Option<&str>, what: &str) -> Result<serde_json::Value> {
        self.get_json_page(path_and_query, scope, what).map(|(v, _)| v)
    }

    /// Like [`Client::get_json`], also returning the next page's path from a `Link: <...>; rel="next"`.
    pub fn get_json_page(
        &self,
        path_and_query: &str,
        scope: Option<&str>,
        what: &str,
    ) -> Result<(serde_json::Value, Option<String>)> {
        let url = format!("{}{path_and_query}", self.base);
        let resp = self.send("GET", &url, scope, &["application/json"], what)?;
        let next = resp.header("link").and_then(next_link);
        let bytes = read_limited(resp, MAX_JSON_BYTES, what)?;
        let v = serde_json::from_slice(&bytes)
            .map_err(|e| RegistryError::Invalid { what: what.into(), message: format!("invalid JSON: {e}") })?;
        Ok((v, next))
    }

    /// Send a request with authentication, retrying once after a 401 with a fresh token.
    fn send(
        &self,
        method: &str,
        url: &str,
        scope: Option<&str>,
        accept: &[&str],
        what: &str,
    ) -> Result<ureq::Response> {
        let mut retried = false;
        loop {
            let mut req = self.agent.request(method, url);
            if !accept.is_empty() {
                req = req.set("Accept", &accept.join(", "));
            }
            if let Some(h) = self.auth_header(scope, what)? {
                req = req.set("Authorization", &h);
            }
            debug!("{method} {url}");
            match req.call() {
                Ok(r) => {
                    debug!("{method} {url}: {}", r.status());
                    return Ok(r);
                }
                Err(ureq::Error::Status(401, r)) if !retried => {
                    retried = true;
                    let h = r.header("www-authenticate").unwrap_or("").to_string();
                    debug!("{method} {url}: 401, WWW-Authenticate: {h}");
                    let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
                    match Challenge::parse(&h) {
                        Some(c) => {
                            if c == Challenge::Basic && self.creds.is_none() {
                                return Err(self.unauthorized(what, "the registry wants a user name and password"));
                            }
                            st.challenge = c;
                        }
                        None => return Err(self.unauthorized(what, &error_message(r))),
                    }
                    if let Some(s) = scope {
                        st.tokens.remove(s);
                    }
                    st.tokens.remove("");
                }
                Err(ureq::Error::Status(401, r)) => return Err(self.unauthorized(what, &error_message(r))),
                Err(ureq::Error::Status(code, r)) => {
                    debug!("{method} {url}: {code}");
                    let message = error_message(r);
                    return Err(match code {
                        404 => RegistryError::NotFound { what: what.into(), message },
                        403 => self.unauthorized(what, &format!("access denied: {message}")),
                        _ => RegistryError::Status { what: what.into(), status: code, message },
                    });
                }
                Err(ureq::Error::Transport(t)) => {
                    debug!("{method} failed: {t}");
                    return Err(RegistryError::Transport {
                        what: what.into(),
                        message: format!("{method} {url}: {}", describe_transport(&t)),
                    });
                }
            }
        }
    }

    fn unauthorized(&self, what: &str, message: &str) -> RegistryError {
        let message = if self.creds.is_some() && !message.contains("(the credentials were refused)") {
            format!("{message} (the credentials were refused)")
        } else {
            message.to_string()
        };
        RegistryError::Unauthorized { what: what.into(), registry: self.registry.clone(), message }
    }

    fn auth_header(&self, scope: Option<&str>, what: &str) -> Result<Option<String>> {
        let challenge = self.challenge();
        match challenge {
            Challenge::None => Ok(None),
            Challenge::Basic => Ok(self.creds.as_ref().map(|c| format!("Basic {}", c.encode()))),
            Challenge::Bearer { realm, service, scope: challenge_scope } => {
                let scope = scope.map(str::to_string).or(challenge_scope);
                let key = scope.clone().unwrap_or_default();
                if let Some(t) = self.state.lock().unwrap_or_else(|e| e.into_inner()).tokens.get(&key) {
                    return Ok(Some(format!("Bearer {t}")));
                }
                let token = self.fetch_token(&realm, service.as_deref(), scope.as_deref()).map_err(|e| match e {
                    RegistryError::Unauthorized { message, .. } => self.unauthorized(what, &message),
                    other => other,
                })?;
                self.state.lock().unwrap_or_else(|e| e.into_inner()).tokens.insert(key, token.clone());
                Ok(Some(format!("Bearer {token}")))
            }
        }
    }

    /// GET realm?service=..&scope=.. (with Basic credentials when known) → `token` or `access_token`.
    fn fetch_token(&self, realm: &str, service: Option<&str>, scope: Option<&str>) -> Result<String> {
        let what = format!("getting a token from {realm}");
        let mut req = self.agent.get(realm);
        if let Some(s) = service {
            req = req.query("service", s);
        }
        if let Some(s) = scope {
            req = req.query("scope", s);
        }
        if let Some(c) = &self.creds {
            req = req.set("Authorization", &format!("Basic {}", c.encode()));
        }
        debug!(
            "GET {realm} (token, service={service:?}, scope={scope:?}, {})",
            if self.creds.is_some() { "with credentials" } else { "anonymous" }
        );
        let resp = match req.call() {
            Ok(r) => r,
            Err(ureq::Error::Status(code @ (401 | 403), r)) => {
                debug!("token request: {code}");
                return Err(self.unauthorized(&what, &error_message(r)));
            }
            Err(ureq::Error::Status(code, r)) => {
                return Err(RegistryError::Status { what, status: code, message: error_message(r) })
            }
            Err(ureq::Error::Transport(t)) => {
                return Err(RegistryError::Transport {
                    message: format!("GET {realm}: {}", describe_transport(&t)),
                    what,
                })
            }
        };
        let bytes = read_limited(resp, 1 << 20, &what)?;
        let v: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| RegistryError::Invalid { what: what.clone(), message: e.to_string() })?;
        v.get("token")
            .or_else(|| v.get("access_token"))
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .ok_or(RegistryError::Invalid { what, message: "the token response has no token".into() })
    }
}

/// The path of a `Link: </v2/_catalog?last=x&n=100>; rel="next"` header (same host only).
pub fn next_link(h: &str) -> Option<String> {
    h.split(',').find(|l| l.contains("rel=\"next\"") || l.contains("rel=next")).and_then(|l| {
        let start = l.find('<')? + 1;
        let end = l.find('>')?;
        let target = &l[start..end];
        target.starts_with('/').then(|| target.to_string())
    })
}

/// The proxy for a request, by Go's rules (which Podman follows): `HTTPS_PROXY` for https, `HTTP_PROXY`
/// for http (upper or lower case), none for hosts in `NO_PROXY` (`*`, exact hosts, `.domain` or `domain`
/// suffixes, optional ports) or for localhost and loopback addresses.
pub fn proxy_for(scheme: &str, host_port: &str, env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let get = |k: &str| env(k).or_else(|| env(&k.to_ascii_lowercase())).filter(|v| !v.trim().is_empty());
    let proxy = if scheme == "https" { get("HTTPS_PROXY") } else { get("HTTP_PROXY") }?;
    let (host, port) = split_host_port(host_port);
    let host = host.to_ascii_lowercase();
    if host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback()) {
        return None;
    }
    if let Some(no) = get("NO_PROXY") {
        for entry in no.split([',', ' ']).map(str::trim).filter(|e| !e.is_empty()) {
            if entry == "*" {
                return None;
            }
            let (eh, ep) = split_host_port(entry);
            if ep.is_some() && ep != port {
                continue;
            }
            let eh = eh.to_ascii_lowercase();
            let suffix = eh.trim_start_matches("*.").trim_start_matches('.');
            if host == suffix || host.ends_with(&format!(".{suffix}")) {
                return None;
            }
        }
    }
    Some(proxy.trim().to_string())
}

fn split_host_port(s: &str) -> (&str, Option<&str>) {
    if let Some(rest) = s.strip_prefix('[') {
        if let Some((h, after)) = rest.split_once(']') {
            return (h, after.strip_prefix(':'));
        }
    }
    match s.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') && p.bytes().all(|b| b.is_ascii_digit()) => (h, Some(p)),
        _ => (s, None),
    }
}

/// A proxy URL without its password, for logs and errors.
fn redact_proxy(p: &str) -> String {
    match (p.find("://"), p.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***@{}", &p[..s], &p[at + 1..]),
        _ => p.to_string(),
    }
}

/// `repository:NAME:pull`
pub fn pull_scope(repository: &str) -> String {
    format!("repository:{repository}:pull")
}

fn read_limited(resp: ureq::Response, limit: u64, what: &str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    resp.into_reader().take(limit + 1).read_to_end(&mut out).map_err(|e| io_to_registry(e, what))?;
    if out.len() as u64 > limit {
        return Err(RegistryError::Invalid {
            what: what.into(),
            message: format!("response larger than {limit} bytes"),
        });
    }
    Ok(out)
}

fn io_to_registry(e: std::io::Error, what: &str) -> RegistryError {
    // A digest error from a BlobReader travels inside the io::Error: give it back as itself.
    if e.get_ref().is_some_and(|inner| inner.is::<RegistryError>()) {
        if let Ok(inner) = e.into_inner().expect("checked").downcast::<RegistryError>() {
            return *inner;
        }
        unreachable!("checked the type above");
    }
    RegistryError::Transport { what: what.into(), message: format!("reading the response: {e}") }
}

/// The registry's error document (`{"errors":[{"code":..,"message":..}]}`) or the status text.
fn error_message(r: ureq::Response) -> String {
    let status = format!("{} {}", r.status(), r.status_text());
    let mut body = Vec::new();
    let _ = r.into_reader().take(64 << 10).read_to_end(&mut body);
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body) {
        let msgs: Vec<String> = v
            .get("errors")
            .and_then(|e| e.as_array())
            .map(|a| {
                a.iter()
                    .map(|e| {
                        let code = e.get("code").and_then(|c| c.as_str()).unwrap_or("");
                        let msg = e.get("message").and_then(|c| c.as_str()).unwrap_or("");
                        format!("{code}: {msg}").trim_matches([' ', ':']).to_string()
                    })
                    .collect()
            })
            .unwrap_or_default();
        if !msgs.is_empty() {
            return format!("{status} ({})", msgs.join("; "));
        }
    }
    status
}

fn describe_transport(t: &ureq::Transport) -> String {
    // ureq's Display repeats the URL; say what failed and why.
    let mut s = t.kind().to_string();
    if let Some(m) = t.message() {
        s = format!("{s}: {m}");
    }
    if let Some(src) = std::error::Error::source(t) {
        s = format!("{s}: {src}");
    }
    s
}

/// A blob stream that hashes what it reads and fails at end of stream on a digest mismatch.
pub struct BlobReader {
    inner: Box<dyn Read + Send + Sync + 'static>,
    hasher: sha2::Sha256,
    expected: Digest,
    reference: String,
    size: Option<u64>,
    content_length: Option<u64>,
    read: u64,
    verified: bool,
}

impl BlobReader {
    /// Bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.read
    }

    /// The blob's size, from the descriptor or the Content-Length.
    pub fn total(&self) -> Option<u64> {
        self.size.or(self.content_length)
    }

    /// Read the rest of the stream (so that its digest is checked); used when a consumer stopped early.
    pub fn drain(&mut self) -> std::io::Result<u64> {
        std::io::copy(self, &mut std::io::sink())
    }
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.verified || buf.is_empty() {
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        if n > 0 {
            self.hasher.update(&buf[..n]);
            self.read += n as u64;
            if let Some(size) = self.size.filter(|s| *s > 0 && self.read > *s) {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    RegistryError::BlobSize {
                        digest: self.expected.to_string(),
                        reference: self.reference.clone(),
                        expected: size,
                    },
                ));
            }
            return Ok(n);
        }
        let got = Digest::from_sha256_hex(&hex::encode(self.hasher.clone().finalize()));
        if got != self.expected {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                RegistryError::BlobDigest {
                    digest: self.expected.to_string(),
                    reference: self.reference.clone(),
                    got: got.to_string(),
                },
            ));
        }
        self.verified = true;
        Ok(0)
    }
}

// --- TLS ---------------------------------------------------------------------------------------------

fn system_roots() -> &'static [rustls::pki_types::CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<rustls::pki_types::CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let r = rustls_native_certs::load_native_certs();
        for e in &r.errors {
            debug!("loading system CA certificates: {e}");
        }
        debug!("loaded {} system CA certificates", r.certs.len());
        r.certs
    })
}

/// Where per-registry certificates live: `--cert-dir`, else `/etc/containers/certs.d/HOST`,
/// `$HOME/.config/containers/certs.d/HOST` (rootless) and `/etc/docker/certs.d/HOST`.
pub fn cert_dirs(registry: &str, cert_dir: Option<&Path>) -> Vec<PathBuf> {
    if let Some(d) = cert_dir {
        return vec![d.to_path_buf()];
    }
    let mut out = vec![PathBuf::from("/etc/containers/certs.d").join(registry)];
    if !nix::unistd::geteuid().is_root() {
        if let Some(h) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
            out.push(PathBuf::from(h).join(".config/containers/certs.d").join(registry));
        }
    }
    out.push(PathBuf::from("/etc/docker/certs.d").join(registry));
    out
}

fn tls_config(registry: &str, verify: bool, cert_dir: Option<&Path>) -> Result<Arc<rustls::ClientConfig>> {
    let tls_err = |m: String| RegistryError::Tls { registry: registry.to_string(), message: m };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_err(e.to_string()))?;
    let mut cas = Vec::new();
    let mut client_cert = None;
    for dir in cert_dirs(registry, cert_dir) {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        files.sort();
        for f in files {
            let ext = f.extension().and_then(|e| e.to_str()).unwrap_or("");
            match ext {
                "crt" => {
                    debug!("trusting CA certificates from {}", f.display());
                    cas.extend(read_certs(&f).map_err(tls_err)?);
                }
                "cert" if client_cert.is_none() => {
                    let key = f.with_extension("key");
                    if !key.exists() {
                        return Err(tls_err(format!(
                            "missing key {} for client certificate {}",
                            key.display(),
                            f.display()
                        )));
                    }
                    debug!("using client certificate {}", f.display());
                    client_cert = Some((read_certs(&f).map_err(tls_err)?, read_key(&key).map_err(tls_err)?));
                }
                _ => {}
            }
        }
    }
    let builder = if verify {
        let mut roots = rustls::RootCertStore::empty();
        let (_added, ignored) = roots.add_parsable_certificates(system_roots().iter().cloned());
        if ignored > 0 {
            debug!("ignored {ignored} unparsable system CA certificates");
        }
        for c in cas {
            roots.add(c).map_err(|e| tls_err(format!("adding a CA certificate: {e}")))?;
        }
        builder.with_root_certificates(roots)
    } else {
        builder.dangerous().with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
    };
    let config = match client_cert {
        Some((certs, key)) => {
            builder.with_client_auth_cert(certs, key).map_err(|e| tls_err(format!("client certificate: {e}")))?
        }
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

fn read_certs(path: &Path) -> std::result::Result<Vec<rustls::pki_types::CertificateDer<'static>>, String> {
    let f = std::fs::File::open(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    rustls_pemfile::certs(&mut std::io::BufReader::new(f))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| format!("parsing {}: {e}", path.display()))
}

fn read_key(path: &Path) -> std::result::Result<rustls::pki_types::PrivateKeyDer<'static>, String> {
    let f = std::fs::File::open(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    rustls_pemfile::private_key(&mut std::io::BufReader::new(f))
        .map_err(|e| format!("parsing {}: {e}", path.display()))?
        .ok_or_else(|| format!("{} holds no private key", path.display()))
}

/// Accepts any server certificate (registries marked insecure, `--tls-verify=false`); signatures are
/// still checked so the handshake itself is sound.
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> std::result::Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn www_authenticate_bearer() {
        let c = Challenge::parse(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull""#,
        )
        .unwrap();
        assert_eq!(
            c,
            Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:library/busybox:pull".into()),
            }
        );
        // Commas inside quotes, spaces, unquoted values, case-insensitive names.
        let c =
            Challenge::parse(r#"bearer Realm="https://r/t", scope="repository:a/b:pull,push", service=reg"#).unwrap();
        assert_eq!(
            c,
            Challenge::Bearer {
                realm: "https://r/t".into(),
                service: Some("reg".into()),
                scope: Some("repository:a/b:pull,push".into()),
            }
        );
        let c = Challenge::parse(r#"Bearer realm="https://r/t""#).unwrap();
        assert_eq!(c, Challenge::Bearer { realm: "https://r/t".into(), service: None, scope: None });
        assert!(Challenge::parse("Bearer service=\"x\"").is_none(), "a Bearer challenge needs a realm");
    }

    #[test]
    fn www_authenticate_basic_and_unknown() {
        assert_eq!(Challenge::parse(r#"Basic realm="Registry Realm""#).unwrap(), Challenge::Basic);
        assert_eq!(Challenge::parse("basic").unwrap(), Challenge::Basic);
        assert!(Challenge::parse("Negotiate abc").is_none());
        assert!(Challenge::parse("").is_none());
        let p = parse_auth_params(r#"a="x\"y", b=z"#);
        assert_eq!(p, [("a".to_string(), "x\"y".to_string()), ("b".to_string(), "z".to_string())]);
    }

    #[test]
    fn blob_reader_verifies() {
        let data = b"hello blob".to_vec();
        let good = Digest::sha256_of(&data);
        let mk = |d: &Digest, size| BlobReader {
            inner: Box::new(std::io::Cursor::new(data.clone())),
            hasher: sha2::Sha256::new(),
            expected: d.clone(),
            reference: "localhost:5000/warren/corrupt:latest".into(),
            size,
            content_length: None,
            read: 0,
            verified: false,
        };
        let mut out = Vec::new();
        mk(&good, Some(data.len() as u64)).read_to_end(&mut out).unwrap();
        assert_eq!(out, data);
        let bad = Digest::sha256_of(b"other");
        let e = mk(&bad, None).read_to_end(&mut Vec::new()).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains(&format!(
                "blob {bad} of localhost:5000/warren/corrupt:latest does not match its digest (got {good})"
            )),
            "{msg}"
        );
        assert!(msg.contains("corrupt data"));
        assert!(matches!(io_to_registry(e, "x"), RegistryError::BlobDigest { .. }));
        let e = mk(&good, Some(3)).read_to_end(&mut Vec::new()).unwrap_err();
        assert!(e.to_string().contains("larger than the 3 bytes"), "{e}");
    }

    #[test]
    fn proxies_follow_go_rules() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        };
        let e = env(&[
            ("HTTPS_PROXY", "http://proxy:3128"),
            ("http_proxy", "http://p2:80"),
            ("NO_PROXY", "internal.example, .corp,10.0.0.1:5000"),
        ]);
        assert_eq!(proxy_for("https", "quay.io", &e).as_deref(), Some("http://proxy:3128"));
        assert_eq!(proxy_for("http", "quay.io", &e).as_deref(), Some("http://p2:80"));
        assert_eq!(proxy_for("https", "localhost:5000", &e), None);
        assert_eq!(proxy_for("https", "127.0.0.1:5000", &e), None);
        assert_eq!(proxy_for("https", "[::1]:5000", &e), None);
        assert_eq!(proxy_for("https", "internal.example", &e), None);
        assert_eq!(proxy_for("https", "reg.internal.example:443", &e), None);
        assert_eq!(proxy_for("https", "x.corp", &e), None);
        assert_eq!(proxy_for("https", "10.0.0.1:5000", &e), None);
        assert_eq!(proxy_for("https", "10.0.0.1:5001", &e).as_deref(), Some("http://proxy:3128"));
        assert_eq!(proxy_for("https", "notinternal.example", &e).as_deref(), Some("http://proxy:3128"));
        let all = env(&[("HTTPS_PROXY", "http://proxy:3128"), ("no_proxy", "*")]);
        assert_eq!(proxy_for("https", "quay.io", &all), None);
        assert_eq!(proxy_for("https", "quay.io", &env(&[])), None);
        assert_eq!(redact_proxy("http://u:secret@proxy:3128"), "http://***@proxy:3128");
    }

    #[test]
    fn link_headers() {
        assert_eq!(
            next_link(r#"</v2/_catalog?last=b&n=100>; rel="next""#).as_deref(),
            Some("/v2/_catalog?last=b&n=100")
        );
        assert_eq!(next_link(r#"<https://elsewhere/x>; rel="next""#), None);
        assert_eq!(next_link(r#"</v2/x>; rel="prev""#), None);
    }

    #[test]
    fn cert_dir_flag_wins() {
        assert_eq!(cert_dirs("h:1", Some(Path::new("/x"))), [PathBuf::from("/x")]);
        assert_eq!(cert_dirs("h:1", None)[0], PathBuf::from("/etc/containers/certs.d/h:1"));
    }

    #[test]
    fn tls_configs_build() {
        assert!(tls_config("example.com", true, None).is_ok());
        assert!(tls_config("example.com", false, None).is_ok());
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("client.cert"), "").unwrap();
        let e = tls_config("example.com", true, Some(tmp.path())).unwrap_err().to_string();
        assert!(e.contains("client.key"), "{e}");
    }
}
