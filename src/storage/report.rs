//! What the image commands show, built from store records and image configs in Podman's shapes:
//! `images` rows and JSON, `image inspect` objects, `history` rows, and `--filter` matching.
//! Pure functions over records, so they are tested without a store.

use anyhow::{bail, Result};
use serde_json::{json, Map, Value};

use super::{ImageRecord, Store};
use crate::format;

/// `localhost:5000/lab/busybox:latest` → (`localhost:5000/lab/busybox`, `latest`); a digest-only name gives
/// the tag `<none>`.
pub fn split_name(name: &str) -> (String, String) {
    let base = name.split('@').next().unwrap_or(name);
    match base.rfind(':') {
        Some(i) if !base[i..].contains('/') => (base[..i].to_string(), base[i + 1..].to_string()),
        _ => (base.to_string(), "<none>".to_string()),
    }
}

/// The name `tag` gives an image, like Podman: a name without a registry goes under `localhost/`, a name
/// without a tag gets `:latest`. Digests are refused.
pub fn normalize_new_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        bail!("empty image name");
    }
    if name.contains('@') {
        bail!("{name:?}: a tag cannot contain a digest");
    }
    if name.chars().any(|c| c.is_ascii_uppercase() && !name.contains(':')) || name.contains(char::is_whitespace) {
        bail!("{name:?}: invalid reference format (repository names must be lowercase, without spaces)");
    }
    let first = name.split('/').next().unwrap_or("");
    let has_registry = name.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    let mut full = if has_registry { name.to_string() } else { format!("localhost/{name}") };
    let (_, tag) = split_name(&full);
    if tag == "<none>" {
        full.push_str(":latest");
    }
    let (repo, _) = split_name(&full);
    if repo.chars().any(|c| c.is_ascii_uppercase()) {
        bail!("{name:?}: invalid reference format (repository names must be lowercase)");
    }
    Ok(full)
}

/// The image's config blob as JSON (an empty object when it cannot be parsed).
pub fn config_json(store: &Store, rec: &ImageRecord) -> Value {
    store.image_config(&rec.id).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_else(|| json!({}))
}

fn created_unix(rec: &ImageRecord, config: &Value) -> i64 {
    rec.created
        .as_deref()
        .or_else(|| config.get("created").and_then(Value::as_str))
        .and_then(format::parse_rfc3339)
        .unwrap_or(0)
}

fn created_string(rec: &ImageRecord, config: &Value) -> String {
    rec.created
        .clone()
        .or_else(|| config.get("created").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| format::format_rfc3339(0))
}

fn labels(config: &Value) -> Value {
    match config.pointer("/config/Labels") {
        Some(Value::Object(m)) if !m.is_empty() => Value::Object(m.clone()),
        _ => Value::Null,
    }
}

pub fn short_id(rec: &ImageRecord) -> String {
    rec.id.hex()[..12].to_string()
}

/// The `podman images --format json` object of one image.
pub fn summary_json(rec: &ImageRecord, config: &Value) -> Value {
    let created = created_unix(rec, config);
    json!({
        "Id": rec.id.hex(),
        "ParentId": "",
        "RepoTags": if rec.names.is_empty() { Value::Null } else { json!(rec.names) },
        "RepoDigests": rec.repo_digests,
        "Size": rec.size,
        "SharedSize": 0,
        "VirtualSize": rec.size,
        "Labels": labels(config),
        "Containers": 0,
        "Names": if rec.names.is_empty() { Value::Null } else { json!(rec.names) },
        "Digest": rec.digest.as_str(),
        "History": if rec.names.is_empty() { Value::Null } else { json!(rec.names) },
        "Created": created,
        "CreatedAt": format::format_rfc3339(created),
        "Dangling": rec.names.is_empty(),
    })
}

/// One `podman images` row per name (`<none>` for a dangling image), for templates and the table.
pub fn image_rows(rec: &ImageRecord, config: &Value, no_trunc: bool) -> Vec<Value> {
    let created = created_unix(rec, config);
    let id = if no_trunc { rec.id.to_string() } else { short_id(rec) };
    let names: Vec<(String, String)> = if rec.names.is_empty() {
        vec![("<none>".into(), "<none>".into())]
    } else {
        rec.names.iter().map(|n| split_name(n)).collect()
    };
    names
        .into_iter()
        .map(|(repo, tag)| {
            json!({
                "ID": id,
                "Id": rec.id.hex(),
                "Repository": repo,
                "Tag": tag,
                "Digest": rec.digest.as_str(),
                "Created": format::time_ago(created),
                "CreatedSince": format::time_ago(created),
                "CreatedAt": format::go_time_string(created),
                "CreatedTime": format::format_rfc3339(created),
                "Size": format::human_size(rec.size),
                "VirtualSize": format::human_size(rec.size),
                "SharedSize": format::human_size(0),
                "ReadOnly": false,
                "Containers": 0,
                "Labels": labels(config),
                "Names": rec.names,
                "History": rec.names.join(", "),
                "Dangling": rec.names.is_empty(),
                "IsReadOnly": false,
            })
        })
        .collect()
}

/// The OCI part of the config's `config` (what Podman shows as `Config`), without empty members.
fn oci_config(config: &Value) -> Value {
    const KEYS: [&str; 10] = [
        "User",
        "ExposedPorts",
        "Env",
        "Entrypoint",
        "Cmd",
        "Volumes",
        "WorkingDir",
        "Labels",
        "StopSignal",
        "ArgsEscaped",
    ];
    let mut out = Map::new();
    if let Some(Value::Object(c)) = config.get("config") {
        for k in KEYS {
            match c.get(k) {
                None | Some(Value::Null) => {}
                Some(Value::String(s)) if s.is_empty() => {}
                Some(Value::Array(a)) if a.is_empty() => {}
                Some(Value::Object(o)) if o.is_empty() => {}
                Some(Value::Bool(false)) => {}
                Some(v) => {
                    out.insert(k.to_string(), v.clone());
                }
            }
        }
    }
    Value::Object(out)
}

/// The `podman image inspect` object of one image.
pub fn inspect_json(store: &Store, rec: &ImageRecord, driver: &str) -> Value {
    let config = config_json(store, rec);
    let s = |k: &str| config.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let diffs: Vec<Value> = config.pointer("/rootfs/diff_ids").and_then(Value::as_array).cloned().unwrap_or_default();
    let layer_dirs: Vec<String> =
        rec.layers.iter().rev().map(|l| store.layer_diff_dir(l).display().to_string()).collect();
    let mut data = Map::new();
    if let Some((upper, lowers)) = layer_dirs.split_first() {
        if !lowers.is_empty() {
            data.insert("LowerDir".into(), json!(lowers.join(":")));
        }
        data.insert("UpperDir".into(), json!(upper));
    }
    let annotations = store
        .image_manifest(&rec.id)
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|m| m.get("annotations").cloned())
        .unwrap_or_else(|| json!({}));
    let history = config.get("history").cloned().unwrap_or_else(|| json!([]));
    json!({
        "Id": rec.id.hex(),
        "Digest": rec.digest.as_str(),
        "RepoTags": rec.names,
        "RepoDigests": rec.repo_digests,
        "Parent": "",
        "Comment": s("comment"),
        "Created": created_string(rec, &config),
        "Config": oci_config(&config),
        "Version": s("docker_version"),
        "Author": s("author"),
        "Architecture": s("architecture"),
        "Os": s("os"),
        "Size": rec.size,
        "VirtualSize": rec.size,
        "GraphDriver": {"Name": driver, "Data": data},
        "RootFS": {"Type": "layers", "Layers": diffs},
        "Labels": labels(&config),
        "Annotations": annotations,
        "ManifestType": rec.manifest_media_type,
        "User": config.pointer("/config/User").and_then(Value::as_str).unwrap_or(""),
        "History": history,
        "NamesHistory": rec.names,
    })
}

/// `podman history` rows, newest first. Non-empty history entries take the layers' sizes in order.
pub fn history_rows(store: &Store, rec: &ImageRecord, config: &Value, no_trunc: bool, human: bool) -> Vec<Value> {
    let hist: Vec<Value> = config.get("history").and_then(Value::as_array).cloned().unwrap_or_default();
    let sizes: Vec<u64> =
        rec.layers.iter().map(|l| store.layer(l).ok().flatten().map(|r| r.size).unwrap_or(0)).collect();
    let mut layer = 0usize;
    let mut rows = Vec::new();
    let entries: Vec<Value> = if hist.is_empty() {
        // No history in the config: one row per layer.
        rec.layers.iter().map(|_| json!({})).collect()
    } else {
        hist
    };
    for h in &entries {
        let empty = h.get("empty_layer").and_then(Value::as_bool).unwrap_or(false);
        let size = if empty {
            0
        } else {
            let s = sizes.get(layer).copied().unwrap_or(0);
            layer += 1;
            s
        };
        let created = h.get("created").and_then(Value::as_str).and_then(format::parse_rfc3339).unwrap_or(0);
        let by = h.get("created_by").and_then(Value::as_str).unwrap_or("").to_string();
        let by_shown = if !no_trunc && by.chars().count() > 45 {
            by.chars().take(42).collect::<String>() + "..."
        } else {
            by.clone()
        };
        rows.push(json!({
            "ID": "<missing>",
            "Created": if human { format::time_ago(created) } else { format::format_rfc3339(created) },
            "CreatedSince": format::time_ago(created),
            "CreatedAt": format::format_rfc3339(created),
            "CreatedBy": by_shown,
            "Size": if human { format::human_size(size) } else { size.to_string() },
            "Comment": h.get("comment").and_then(Value::as_str).unwrap_or(""),
            "Tags": Value::Null,
        }));
    }
    rows.reverse();
    if let Some(top) = rows.first_mut() {
        top["ID"] = json!(if no_trunc { rec.id.hex().to_string() } else { short_id(rec) });
        top["Tags"] = json!(rec.names);
    }
    rows
}

/// `--filter` conditions of `images` and `image prune`.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Reference(String),
    Dangling(bool),
    Before(String),
    Since(String),
    Label(String, Option<String>),
    Id(String),
}

impl Filter {
    pub fn parse(s: &str) -> Result<Filter> {
        let (k, v) = s.split_once('=').unwrap_or((s, ""));
        Ok(match k {
            "reference" => Filter::Reference(v.to_string()),
            "dangling" => Filter::Dangling(match v {
                "true" | "1" => true,
                "false" | "0" => false,
                _ => bail!("invalid filter {s:?}: dangling must be true or false"),
            }),
            "before" => Filter::Before(v.to_string()),
            "since" | "after" => Filter::Since(v.to_string()),
            "label" => match v.split_once('=') {
                Some((a, b)) => Filter::Label(a.to_string(), Some(b.to_string())),
                None => Filter::Label(v.to_string(), None),
            },
            "id" => Filter::Id(v.to_string()),
            _ => bail!("invalid filter {s:?}: supported filters are reference, dangling, before, since, label, id"),
        })
    }
}

/// A shell-style pattern (`*`, `?`) matched against a whole string.
pub fn glob(pat: &str, s: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pat.chars().collect(), s.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(sp) = star {
            pi = sp + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// Whether a name matches a `reference=` pattern like Podman: against the full name, the name without its
/// registry, and the last path component, each with and without the tag.
pub fn reference_matches(pattern: &str, name: &str) -> bool {
    let (repo, tag) = split_name(name);
    let mut forms = vec![name.to_string(), repo.clone()];
    let mut parts: Vec<&str> = repo.split('/').collect();
    while parts.len() > 1 {
        parts.remove(0);
        let r = parts.join("/");
        forms.push(format!("{r}:{tag}"));
        forms.push(r);
    }
    forms.iter().any(|f| glob(pattern, f))
}

/// Whether an image passes every filter (`others` and `find` resolve before=/since= images).
pub fn matches(
    rec: &ImageRecord,
    config: &Value,
    filters: &[Filter],
    find: &dyn Fn(&str) -> Option<(ImageRecord, i64)>,
) -> Result<bool> {
    let created = created_unix(rec, config);
    for f in filters {
        let ok = match f {
            Filter::Reference(p) => rec.names.iter().any(|n| reference_matches(p, n)),
            Filter::Dangling(d) => rec.names.is_empty() == *d,
            Filter::Before(i) | Filter::Since(i) => {
                let Some((other, t)) = find(i) else { bail!("{i}: image not known") };
                if other.id == rec.id {
                    false
                } else if matches!(f, Filter::Before(_)) {
                    created < t
                } else {
                    created > t
                }
            }
            Filter::Label(k, v) => match (config.pointer("/config/Labels").and_then(|l| l.get(k)), v) {
                (Some(Value::String(have)), Some(want)) => have == want,
                (Some(_), None) => true,
                _ => false,
            },
            Filter::Id(p) => rec.id.hex().starts_with(p.strip_prefix("sha256:").unwrap_or(p)),
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Unix creation time of an image, for sorting and before=/since=.
pub fn created_of(rec: &ImageRecord, config: &Value) -> i64 {
    created_unix(rec, config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Digest;

    fn rec(names: &[&str]) -> ImageRecord {
        ImageRecord {
            id: Digest::sha256_of(b"x"),
            names: names.iter().map(|s| s.to_string()).collect(),
            digest: Digest::sha256_of(b"m"),
            repo_digests: vec![],
            manifest_media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            layers: vec![],
            size: 4_509_681,
            created: Some("2024-01-01T00:00:00Z".into()),
            pulled: "2026-01-01T00:00:00Z".into(),
        }
    }

    #[test]
    fn names_split_and_normalise_like_podman() {
        assert_eq!(
            split_name("localhost:5000/lab/busybox:latest"),
            ("localhost:5000/lab/busybox".into(), "latest".into())
        );
        assert_eq!(split_name("localhost:5000/lab/busybox"), ("localhost:5000/lab/busybox".into(), "<none>".into()));
        assert_eq!(normalize_new_name("mine").unwrap(), "localhost/mine:latest");
        assert_eq!(normalize_new_name("lab/mine:v1").unwrap(), "localhost/lab/mine:v1");
        assert_eq!(normalize_new_name("localhost:5000/lab/x").unwrap(), "localhost:5000/lab/x:latest");
        assert_eq!(normalize_new_name("quay.io/a/b:c").unwrap(), "quay.io/a/b:c");
        assert!(normalize_new_name("x@sha256:00").is_err());
        assert!(normalize_new_name("Upper").is_err());
    }

    #[test]
    fn rows_and_filters() {
        let r = rec(&["localhost:5000/lab/busybox:latest", "localhost/mine:v1"]);
        let cfg =
            json!({"created": "2024-01-01T00:00:00Z", "config": {"Labels": {"a": "1"}, "Cmd": ["sh"], "Env": []}});
        let rows = image_rows(&r, &cfg, false);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0]["Repository"], "localhost:5000/lab/busybox");
        assert_eq!(rows[0]["Tag"], "latest");
        assert_eq!(rows[0]["ID"].as_str().unwrap().len(), 12);
        assert_eq!(rows[0]["Size"], "4.51 MB");
        assert!(rows[0]["CreatedSince"].as_str().unwrap().ends_with("years ago"));
        let dangling = image_rows(&rec(&[]), &cfg, true);
        assert_eq!(dangling[0]["Repository"], "<none>");
        assert!(dangling[0]["ID"].as_str().unwrap().starts_with("sha256:"));
        let s = summary_json(&r, &cfg);
        assert_eq!(s["Created"], 1_704_067_200);
        assert_eq!(s["Labels"]["a"], "1");
        assert_eq!(oci_config(&cfg), json!({"Labels": {"a": "1"}, "Cmd": ["sh"]}));

        let none = |_: &str| None;
        let f = |s: &str| Filter::parse(s).unwrap();
        assert!(matches(&r, &cfg, &[f("reference=busybox")], &none).unwrap());
        assert!(matches(&r, &cfg, &[f("reference=lab/*")], &none).unwrap());
        assert!(matches(&r, &cfg, &[f("reference=*box:latest")], &none).unwrap());
        assert!(!matches(&r, &cfg, &[f("reference=alpine")], &none).unwrap());
        assert!(matches(&r, &cfg, &[f("dangling=false"), f("label=a=1"), f("label=a")], &none).unwrap());
        assert!(!matches(&r, &cfg, &[f("label=a=2")], &none).unwrap());
        assert!(!matches(&r, &cfg, &[f("dangling=true")], &none).unwrap());
        let later = |_: &str| Some((rec(&[]).clone_with_id(), 1_800_000_000));
        assert!(matches(&r, &cfg, &[f("before=x")], &later).unwrap());
        assert!(!matches(&r, &cfg, &[f("since=x")], &later).unwrap());
        assert!(Filter::parse("bogus=1").is_err());
    }

    impl ImageRecord {
        fn clone_with_id(&self) -> ImageRecord {
            let mut c = self.clone();
            c.id = Digest::sha256_of(b"other");
            c
        }
    }

    #[test]
    fn glob_patterns() {
        assert!(glob("*", "anything"));
        assert!(glob("a?c", "abc"));
        assert!(glob("lab/*", "lab/busybox"));
        assert!(!glob("lab/*y", "lab/busybox"));
        assert!(glob("lab/*x", "lab/busybox"));
    }
}
