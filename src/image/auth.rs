//! Registry credentials: `--creds`, and auth.json files in Podman's order (containers-auth.json(5)):
//! `--authfile` / `$REGISTRY_AUTH_FILE` (then only that file), else `$XDG_RUNTIME_DIR/containers/auth.json`,
//! `$XDG_CONFIG_HOME/containers/auth.json` (default `$HOME/.config/...`), `$DOCKER_CONFIG/config.json`
//! (default `$HOME/.docker/config.json`), `$HOME/.dockercfg` (legacy format).

use base64::Engine as _;
use serde_json::{json, Map, Value};
use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("reading {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("parsing {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("writing {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("invalid --creds: {0}")]
    BadCreds(String),
}

type Result<T> = std::result::Result<T, AuthError>;

/// A user name and password (or token). `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Credentials {{ username: {:?}, password: <redacted> }}", self.username)
    }
}

impl Credentials {
    /// `--creds USER[:PASSWORD]`. A missing password is an error here (the CLI prompts for it when it can).
    pub fn parse(s: &str) -> Result<Credentials> {
        match s.split_once(':') {
            Some((u, p)) if !u.is_empty() => Ok(Credentials { username: u.into(), password: p.into() }),
            _ if s.is_empty() => Err(AuthError::BadCreds("empty; expected USERNAME:PASSWORD".into())),
            Some(_) => Err(AuthError::BadCreds("the user name is empty; expected USERNAME:PASSWORD".into())),
            None => Err(AuthError::BadCreds(format!("{s:?} has no password; expected USERNAME:PASSWORD"))),
        }
    }

    /// The `auth` field of auth.json: base64("user:password").
    pub fn encode(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", self.username, self.password))
    }

    pub fn decode(auth: &str) -> Option<Credentials> {
        let raw = base64::engine::general_purpose::STANDARD.decode(auth.trim()).ok()?;
        let s = String::from_utf8(raw).ok()?;
        let (u, p) = s.split_once(':')?;
        Some(Credentials { username: u.into(), password: p.trim_end_matches('\0').into() })
    }
}

/// The files to read, in order, and whether each is the legacy `.dockercfg` format.
pub fn read_paths(authfile: Option<&Path>) -> Vec<(PathBuf, bool)> {
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(p) = authfile.map(Path::to_path_buf).or_else(|| env("REGISTRY_AUTH_FILE")) {
        return vec![(p, false)];
    }
    let home = env("HOME");
    let mut out = Vec::new();
    if let Some(x) = env("XDG_RUNTIME_DIR") {
        out.push((x.join("containers/auth.json"), false));
    } else if let Some(p) = no_xdg_runtime_path() {
        out.push((p, false));
    }
    if let Some(cfg) = env("XDG_CONFIG_HOME").or_else(|| home.as_ref().map(|h| h.join(".config"))) {
        out.push((cfg.join("containers/auth.json"), false));
    }
    if let Some(d) = env("DOCKER_CONFIG") {
        out.push((d.join("config.json"), false));
    } else if let Some(h) = &home {
        out.push((h.join(".docker/config.json"), false));
    }
    if let Some(h) = &home {
        out.push((h.join(".dockercfg"), true));
    }
    out.dedup();
    out
}

/// Root without XDG_RUNTIME_DIR uses /run/containers/0/auth.json, as Podman does.
fn no_xdg_runtime_path() -> Option<PathBuf> {
    nix::unistd::geteuid().is_root().then(|| PathBuf::from("/run/containers/0/auth.json"))
}

/// The file `login` writes and `logout` edits: `--authfile`, `$REGISTRY_AUTH_FILE`,
/// `$XDG_RUNTIME_DIR/containers/auth.json`; without XDG_RUNTIME_DIR, root uses
/// /run/containers/0/auth.json and others `$XDG_CONFIG_HOME/containers/auth.json` (a file Podman reads
/// too), since there is no per-user tmpfs to put it in.
pub fn write_path(authfile: Option<&Path>) -> Option<PathBuf> {
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(p) = authfile.map(Path::to_path_buf).or_else(|| env("REGISTRY_AUTH_FILE")) {
        return Some(p);
    }
    if let Some(x) = env("XDG_RUNTIME_DIR") {
        return Some(x.join("containers/auth.json"));
    }
    if let Some(p) = no_xdg_runtime_path() {
        return Some(p);
    }
    env("XDG_CONFIG_HOME").or_else(|| env("HOME").map(|h| h.join(".config"))).map(|c| c.join("containers/auth.json"))
}

/// Normalise an auth.json key: no scheme, no trailing `/` or `/v1/`-style API suffix; Docker Hub's
/// historical names become `docker.io`.
pub fn normalise_key(key: &str) -> String {
    let k = key.strip_prefix("https://").or_else(|| key.strip_prefix("http://")).unwrap_or(key);
    let mut k = k.trim_end_matches('/');
    for suffix in ["/v1", "/v2"] {
        if let Some(s) = k.strip_suffix(suffix) {
            k = s;
        }
    }
    let (host, rest) = match k.split_once('/') {
        Some((h, r)) => (h, Some(r)),
        None => (k, None),
    };
    let host = match host {
        "index.docker.io" | "registry-1.docker.io" => "docker.io",
        h => h,
    };
    match rest {
        Some(r) => format!("{host}/{r}"),
        None => host.to_string(),
    }
}

/// An auth.json file, kept as JSON so that fields Warren does not know survive a rewrite.
#[derive(Debug, Clone)]
pub struct AuthFile {
    pub path: PathBuf,
    pub legacy: bool,
    doc: Value,
}

impl AuthFile {
    /// Read a file; a missing or empty file is an empty document.
    pub fn load(path: &Path, legacy: bool) -> Result<AuthFile> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => return Err(AuthError::Read { path: path.into(), source }),
        };
        let doc = if text.trim().is_empty() {
            json!({})
        } else {
            serde_json::from_str(&text).map_err(|e| AuthError::Parse { path: path.into(), message: e.to_string() })?
        };
        if !doc.is_object() {
            return Err(AuthError::Parse { path: path.into(), message: "not a JSON object".into() });
        }
        Ok(AuthFile { path: path.into(), legacy, doc })
    }

    fn auths(&self) -> Option<&Map<String, Value>> {
        if self.legacy {
            self.doc.as_object()
        } else {
            self.doc.get("auths").and_then(Value::as_object)
        }
    }

    /// The credentials for `registry` (and optionally `repository`): the most specific key wins
    /// (`host/ns/repo` over `host/ns` over `host`).
    pub fn get(&self, registry: &str, repository: Option<&str>) -> Option<Credentials> {
        let auths = self.auths()?;
        let registry = normalise_key(registry);
        let mut best: Option<(usize, Credentials)> = None;
        for (key, entry) in auths {
            let k = normalise_key(key);
            let full = match repository {
                Some(r) => format!("{registry}/{r}"),
                None => registry.clone(),
            };
            let matches = k == registry || (full.starts_with(&k) && full[k.len()..].starts_with('/'));
            if !matches {
                continue;
            }
            let Some(c) = entry.get("auth").and_then(Value::as_str).and_then(Credentials::decode) else {
                continue;
            };
            if best.as_ref().is_none_or(|(len, _)| k.len() > *len) {
                best = Some((k.len(), c));
            }
        }
        best.map(|(_, c)| c)
    }

    /// Set the credentials for a key (`host` or `host/ns/repo`).
    pub fn set(&mut self, key: &str, creds: &Credentials) {
        let key = normalise_key(key);
        self.remove(&key);
        let doc = self.doc.as_object_mut().expect("checked at load");
        let auths = doc.entry("auths").or_insert_with(|| json!({}));
        if !auths.is_object() {
            *auths = json!({});
        }
        auths.as_object_mut().expect("just made an object").insert(key, json!({ "auth": creds.encode() }));
    }

    /// Remove every entry whose key normalises to `key`; true if one was there.
    pub fn remove(&mut self, key: &str) -> bool {
        let key = normalise_key(key);
        let Some(auths) = self.doc.get_mut("auths").and_then(Value::as_object_mut) else { return false };
        let doomed: Vec<String> = auths.keys().filter(|k| normalise_key(k) == key).cloned().collect();
        for k in &doomed {
            auths.remove(k);
        }
        !doomed.is_empty()
    }

    /// Remove all entries.
    pub fn clear(&mut self) {
        if let Some(obj) = self.doc.as_object_mut() {
            obj.insert("auths".into(), json!({}));
        }
    }

    /// Write atomically (temp file + rename), mode 0600, creating the directory (0700) if needed.
    pub fn save(&self) -> Result<()> {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        let werr = |source| AuthError::Write { path: self.path.clone(), source };
        let dir = self.path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(werr)?;
        let name =
            self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "auth.json".into());
        let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
        let mut text = serde_json::to_string_pretty(&self.doc).expect("a JSON value serialises");
        text.push('\n');
        let res = (|| {
            let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, &self.path)
        })();
        if res.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        res.map_err(werr)
    }

    /// Registry keys present.
    pub fn keys(&self) -> Vec<String> {
        self.auths().map(|a| a.keys().cloned().collect()).unwrap_or_default()
    }
}

/// Credentials for a registry: `--creds` if given, else the first auth file (in Podman's order) that
/// has an entry for it.
pub fn lookup(
    creds: Option<&str>,
    authfile: Option<&Path>,
    registry: &str,
    repository: Option<&str>,
) -> Result<Option<Credentials>> {
    if let Some(c) = creds {
        return Credentials::parse(c).map(Some);
    }
    for (path, legacy) in read_paths(authfile) {
        let f = match AuthFile::load(&path, legacy) {
            Ok(f) => f,
            Err(e) => {
                // An unreadable file further down the list must not break a pull: say so and go on.
                tracing::warn!("ignoring credentials file: {e}");
                continue;
            }
        };
        if let Some(c) = f.get(registry, repository) {
            tracing::debug!("using credentials for {registry} from {}", path.display());
            return Ok(Some(c));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(u: &str, p: &str) -> Credentials {
        Credentials { username: u.into(), password: p.into() }
    }

    #[test]
    fn creds_flag() {
        assert_eq!(Credentials::parse("u:p").unwrap(), c("u", "p"));
        assert_eq!(Credentials::parse("u:p:q").unwrap(), c("u", "p:q"));
        assert_eq!(Credentials::parse("u:").unwrap(), c("u", ""));
        assert!(Credentials::parse("u").is_err());
        assert!(Credentials::parse(":p").is_err());
        assert!(Credentials::parse("").is_err());
        assert!(!format!("{:?}", c("u", "secret")).contains("secret"));
    }

    #[test]
    fn encode_decode() {
        let e = c("testuser", "testpassword").encode();
        assert_eq!(e, "dGVzdHVzZXI6dGVzdHBhc3N3b3Jk");
        assert_eq!(Credentials::decode(&e).unwrap(), c("testuser", "testpassword"));
        assert!(Credentials::decode("!!!").is_none());
    }

    #[test]
    fn keys_normalise() {
        assert_eq!(normalise_key("https://index.docker.io/v1/"), "docker.io");
        assert_eq!(normalise_key("localhost:5000"), "localhost:5000");
        assert_eq!(normalise_key("http://localhost:5000/"), "localhost:5000");
        assert_eq!(normalise_key("quay.io/ns/repo"), "quay.io/ns/repo");
    }

    #[test]
    fn read_and_most_specific_match() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("auth.json");
        std::fs::write(
            &p,
            format!(
                r#"{{"auths":{{"localhost:5000":{{"auth":"{}"}},"localhost:5000/team":{{"auth":"{}"}},"https://index.docker.io/v1/":{{"auth":"{}"}}}},"credHelpers":{{}}}}"#,
                c("a", "1").encode(),
                c("b", "2").encode(),
                c("d", "3").encode()
            ),
        )
        .unwrap();
        let f = AuthFile::load(&p, false).unwrap();
        assert_eq!(f.get("localhost:5000", Some("other/x")).unwrap(), c("a", "1"));
        assert_eq!(f.get("localhost:5000", Some("team/x")).unwrap(), c("b", "2"));
        assert_eq!(f.get("localhost:5000", Some("teamx/y")).unwrap(), c("a", "1"));
        assert_eq!(f.get("localhost:5000", None).unwrap(), c("a", "1"));
        assert_eq!(f.get("docker.io", Some("library/busybox")).unwrap(), c("d", "3"));
        assert!(f.get("quay.io", None).is_none());
        // --authfile means only that file.
        assert_eq!(lookup(None, Some(&p), "localhost:5000", None).unwrap().unwrap(), c("a", "1"));
        assert!(lookup(None, Some(&p), "quay.io", None).unwrap().is_none());
        // --creds wins.
        assert_eq!(lookup(Some("x:y"), Some(&p), "localhost:5000", None).unwrap().unwrap(), c("x", "y"));
    }

    #[test]
    fn write_atomically_with_0600_and_keep_unknown_fields() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("sub/containers/auth.json");
        let mut f = AuthFile::load(&p, false).unwrap();
        f.set("localhost:5000", &c("u", "p"));
        f.set("quay.io", &c("q", "r"));
        f.save().unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        assert_eq!(v["auths"]["localhost:5000"]["auth"], c("u", "p").encode());
        // Unknown fields survive; remove works on normalised keys.
        std::fs::write(
            &p,
            format!(
                r#"{{"auths":{{"http://localhost:5000/":{{"auth":"{}"}}}},"credHelpers":{{"x":"y"}}}}"#,
                c("u", "p").encode()
            ),
        )
        .unwrap();
        let mut f = AuthFile::load(&p, false).unwrap();
        assert!(f.remove("localhost:5000"));
        assert!(!f.remove("localhost:5000"));
        f.save().unwrap();
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        assert_eq!(v["credHelpers"]["x"], "y");
        assert!(v["auths"].as_object().unwrap().is_empty());
        // No temp files left behind.
        assert_eq!(std::fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
        let mut f = AuthFile::load(&p, false).unwrap();
        f.set("a.io", &c("u", "p"));
        f.clear();
        assert!(f.keys().is_empty());
    }

    #[test]
    fn legacy_dockercfg() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join(".dockercfg");
        std::fs::write(&p, format!(r#"{{"https://index.docker.io/v1/":{{"auth":"{}"}}}}"#, c("o", "p").encode()))
            .unwrap();
        assert_eq!(AuthFile::load(&p, true).unwrap().get("docker.io", None).unwrap(), c("o", "p"));
    }

    #[test]
    fn bad_json_is_an_error_naming_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("auth.json");
        std::fs::write(&p, "{nope").unwrap();
        assert!(AuthFile::load(&p, false).unwrap_err().to_string().contains("auth.json"));
    }
}
