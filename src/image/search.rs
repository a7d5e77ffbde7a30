//! `search`: the registry v1 search API where it answers (Docker Hub), else `/v2/_catalog` filtered by
//! substring, like containers/image; `--list-tags` reads `/v2/NAME/tags/list`.

use anyhow::{bail, Result};
use serde::Serialize;
use tracing::{debug, warn};

use super::auth;
use super::client::{Client, ClientOptions};
use super::registries::RegistriesConf;

/// Podman's default `--limit`.
pub const DEFAULT_LIMIT: usize = 25;
/// Podman truncates descriptions to this many characters unless `--no-trunc`.
pub const DESCRIPTION_TRUNC: usize = 44;

/// One line of output, with Podman's field names (for `--format`).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct SearchResult {
    #[serde(rename = "Index")]
    pub index: String,
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Description")]
    pub description: String,
    #[serde(rename = "Stars")]
    pub stars: u64,
    #[serde(rename = "Official")]
    pub official: String,
    #[serde(rename = "Automated")]
    pub automated: String,
    #[serde(rename = "Tag")]
    pub tag: String,
}

impl SearchResult {
    /// A field by its template name.
    pub fn field(&self, name: &str) -> Option<String> {
        Some(match name {
            "Index" => self.index.clone(),
            "Name" => self.name.clone(),
            "Description" => self.description.clone(),
            "Stars" => self.stars.to_string(),
            "Official" => self.official.clone(),
            "Automated" => self.automated.clone(),
            "Tag" => self.tag.clone(),
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Default)]
pub struct SearchOptions {
    pub client: ClientOptions,
    pub limit: Option<usize>,
    pub list_tags: bool,
    /// `--filter`: stars=N, is-official=BOOL, is-automated=BOOL
    pub filters: Vec<String>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Filters {
    stars: u64,
    official: Option<bool>,
    automated: Option<bool>,
}

fn parse_filters(f: &[String]) -> Result<Filters> {
    let mut out = Filters::default();
    for s in f {
        let Some((k, v)) = s.split_once('=') else { bail!("invalid filter {s:?}: expected KEY=VALUE") };
        let b = |v: &str| -> Result<bool> {
            match v {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => bail!("invalid filter {s:?}: expected true or false"),
            }
        };
        match k {
            "stars" => {
                out.stars = v.parse().map_err(|_| anyhow::anyhow!("invalid filter {s:?}: stars must be a number"))?
            }
            "is-official" => out.official = Some(b(v)?),
            "is-automated" => out.automated = Some(b(v)?),
            _ => bail!("invalid filter {s:?}: supported filters are stars, is-official, is-automated"),
        }
    }
    Ok(out)
}

/// Split `registry/term` from `term`: a first component that looks like a host names the registry.
pub fn split_term(term: &str) -> (Option<String>, String) {
    if let Some((first, rest)) = term.split_once('/') {
        if first.contains('.') || first.contains(':') || first == "localhost" {
            return (Some(first.to_string()), rest.to_string());
        }
    }
    (None, term.to_string())
}

/// Search every registry the term names (or every unqualified-search registry); errors from one
/// registry are reported and the others still searched, unless all fail.
pub fn search(term: &str, opts: &SearchOptions) -> Result<Vec<SearchResult>> {
    let filters = parse_filters(&opts.filters)?;
    let conf = RegistriesConf::load()?;
    let (registry, needle) = split_term(term);
    let registries = match registry {
        Some(r) => vec![r],
        None if conf.search.is_empty() => bail!(
            "no registry to search: {term:?} names none and no unqualified-search registries are defined in registries.conf; \
             search REGISTRY/{term} instead"
        ),
        None => conf.search.clone(),
    };
    if opts.list_tags && needle.is_empty() {
        bail!("--list-tags needs an image name, e.g. localhost:5000/lab/busybox");
    }
    let limit = opts.limit.filter(|l| *l > 0).unwrap_or(DEFAULT_LIMIT);
    let mut results = Vec::new();
    let mut errors = Vec::new();
    for reg in &registries {
        let res = if opts.list_tags {
            list_tags(&conf, reg, &needle, limit, opts)
        } else {
            search_one(&conf, reg, &needle, limit, opts)
        };
        match res {
            Ok(r) => results.extend(r.into_iter().filter(|r| keep(r, &filters))),
            Err(e) => {
                if registries.len() > 1 {
                    warn!("searching {reg}: {e:#}");
                }
                errors.push(e.context(format!("searching registry {reg:?}")));
            }
        }
    }
    if errors.len() == registries.len() {
        if let Some(e) = errors.pop() {
            return Err(e);
        }
    }
    Ok(results)
}

fn keep(r: &SearchResult, f: &Filters) -> bool {
    r.stars >= f.stars
        && f.official.is_none_or(|o| o == (r.official == "[OK]"))
        && f.automated.is_none_or(|a| a == (r.automated == "[OK]"))
}

fn connect(conf: &RegistriesConf, registry: &str, api_registry: &str, opts: &SearchOptions) -> Result<Client> {
    let insecure = match opts.client.tls_verify {
        Some(v) => !v,
        None => conf.is_insecure(registry),
    };
    let creds = auth::lookup(opts.client.creds.as_deref(), opts.client.authfile.as_deref(), registry, None)?;
    Ok(Client::connect(api_registry, insecure, creds, opts.client.cert_dir.as_deref())?)
}

fn search_one(
    conf: &RegistriesConf,
    registry: &str,
    needle: &str,
    limit: usize,
    opts: &SearchOptions,
) -> Result<Vec<SearchResult>> {
    // Docker Hub: only the v1 search API (on index.docker.io) answers.
    let api = if registry == "docker.io" { "index.docker.io" } else { registry };
    let client = connect(conf, registry, api, opts)?;
    if !needle.is_empty() {
        let q = format!("/v1/search?q={}&n={limit}", encode_query(needle));
        match client.get_json(&q, None, &format!("searching {registry}")) {
            Ok(v) => {
                if let Some(items) = v.get("results").and_then(|r| r.as_array()) {
                    let out = items
                        .iter()
                        .take(limit)
                        .map(|it| {
                            let s = |k: &str| it.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
                            let flag = |k: &str| {
                                if it.get(k).and_then(|x| x.as_bool()).unwrap_or(false) {
                                    "[OK]"
                                } else {
                                    ""
                                }
                            };
                            let mut name = s("name");
                            if registry == "docker.io" && !name.contains('/') {
                                name = format!("library/{name}");
                            }
                            SearchResult {
                                index: registry.to_string(),
                                name: format!("{registry}/{name}"),
                                description: s("description"),
                                stars: it.get("star_count").and_then(|x| x.as_u64()).unwrap_or(0),
                                official: flag("is_official").into(),
                                automated: flag("is_automated").into(),
                                tag: String::new(),
                            }
                        })
                        .collect();
                    return Ok(out);
                }
                debug!("{registry}: /v1/search answered without results; trying the catalog");
            }
            Err(e) => debug!("{registry}: v1 search failed ({e}); trying the catalog"),
        }
    }
    let client = if api != registry { connect(conf, registry, registry, opts)? } else { client };
    let mut repos: Vec<String> = Vec::new();
    let mut page = Some("/v2/_catalog?n=1000".to_string());
    // Follow the pages, within reason (a million repositories).
    for _ in 0..1000 {
        let Some(p) = page.take() else { break };
        let (v, next) =
            client.get_json_page(&p, Some("registry:catalog:*"), &format!("listing the catalog of {registry}"))?;
        repos.extend(
            v.get("repositories")
                .and_then(|r| r.as_array())
                .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect::<Vec<_>>())
                .unwrap_or_default(),
        );
        page = next;
    }
    Ok(filter_catalog(registry, &repos, needle, limit))
}

/// containers/image's rule: repositories containing the term, an exact match first.
pub fn filter_catalog(registry: &str, repos: &[String], needle: &str, limit: usize) -> Vec<SearchResult> {
    let mut out: Vec<SearchResult> = Vec::new();
    for repo in repos {
        if out.len() >= limit {
            break;
        }
        if !repo.contains(needle) {
            continue;
        }
        let r = SearchResult { index: registry.to_string(), name: format!("{registry}/{repo}"), ..Default::default() };
        if repo == needle {
            out.insert(0, r);
        } else {
            out.push(r);
        }
    }
    out
}

fn list_tags(
    conf: &RegistriesConf,
    registry: &str,
    repo: &str,
    limit: usize,
    opts: &SearchOptions,
) -> Result<Vec<SearchResult>> {
    let repo = repo.split([':', '@']).next().unwrap_or(repo);
    let client = connect(conf, registry, registry, opts)?;
    let scope = super::client::pull_scope(repo);
    let v = client.get_json(
        &format!("/v2/{repo}/tags/list"),
        Some(&scope),
        &format!("listing the tags of {registry}/{repo}"),
    )?;
    let tags = v.get("tags").and_then(|t| t.as_array()).cloned().unwrap_or_default();
    Ok(tags
        .iter()
        .filter_map(|t| t.as_str())
        .take(limit)
        .map(|t| SearchResult {
            index: registry.into(),
            name: format!("{registry}/{repo}"),
            tag: t.into(),
            ..Default::default()
        })
        .collect())
}

fn encode_query(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Render results: Podman's table (NAME DESCRIPTION, or NAME TAG with `--list-tags`), `json`, or a Go
/// template subset (`{{.Field}}`, a leading `table`, `\t` and `\n`).
pub fn render(results: &[SearchResult], format: Option<&str>, list_tags: bool, no_trunc: bool) -> Result<String> {
    let mut results = results.to_vec();
    if !no_trunc {
        for r in &mut results {
            if r.description.chars().count() > DESCRIPTION_TRUNC {
                r.description = r.description.chars().take(DESCRIPTION_TRUNC).collect::<String>() + "...";
            }
        }
    }
    let format = format.map(str::trim).filter(|f| !f.is_empty());
    if matches!(format, Some("json") | Some("{{json .}}")) {
        let mut s = serde_json::to_string_pretty(&results)?;
        s.push('\n');
        return Ok(s);
    }
    let default = if list_tags { "table {{.Name}}\t{{.Tag}}" } else { "table {{.Name}}\t{{.Description}}" };
    let fmt = format.unwrap_or(default);
    let (table, body) = match fmt.strip_prefix("table") {
        Some(rest) => (true, rest.trim_start().to_string()),
        None => (false, fmt.to_string()),
    };
    let body = body.replace("\\t", "\t").replace("\\n", "\n");
    let parts = parse_template(&body)?;
    let mut rows: Vec<String> = Vec::new();
    if table {
        rows.push(
            parts
                .iter()
                .map(|p| match p {
                    Part::Lit(s) => s.clone(),
                    Part::Field(f) => header_of(f),
                })
                .collect(),
        );
    }
    for r in &results {
        let mut line = String::new();
        for p in &parts {
            match p {
                Part::Lit(s) => line.push_str(s),
                Part::Field(f) => line.push_str(&r.field(f).unwrap_or_default()),
            }
        }
        rows.push(line);
    }
    let mut out = if table { tabulate(&rows) } else { rows.join("\n") };
    if !out.is_empty() {
        out.push('\n');
    }
    Ok(out)
}

#[derive(Debug, PartialEq, Eq)]
enum Part {
    Lit(String),
    Field(String),
}

fn parse_template(t: &str) -> Result<Vec<Part>> {
    let mut out = Vec::new();
    let mut rest = t;
    while let Some(i) = rest.find("{{") {
        if i > 0 {
            out.push(Part::Lit(rest[..i].to_string()));
        }
        let Some(j) = rest[i..].find("}}") else { bail!("invalid --format {t:?}: unclosed {{{{") };
        let inner = rest[i + 2..i + j].trim();
        let Some(field) = inner.strip_prefix('.') else {
            bail!("invalid --format {t:?}: only {{{{.Field}}}} is supported, not {{{{{inner}}}}}")
        };
        const FIELDS: &[&str] = &["Index", "Name", "Description", "Stars", "Official", "Automated", "Tag"];
        if !FIELDS.contains(&field) {
            bail!("invalid --format {t:?}: no field {field:?} (valid: {})", FIELDS.join(", "));
        }
        out.push(Part::Field(field.to_string()));
        rest = &rest[i + j + 2..];
    }
    if !rest.is_empty() {
        out.push(Part::Lit(rest.to_string()));
    }
    Ok(out)
}

fn header_of(field: &str) -> String {
    field.to_ascii_uppercase()
}

/// Align tab-separated cells like Go's tabwriter (min width 12, padding 2), as Podman's tables are.
fn tabulate(rows: &[String]) -> String {
    let cells: Vec<Vec<&str>> = rows.iter().map(|r| r.split('\t').collect()).collect();
    let ncols = cells.iter().map(|c| c.len()).max().unwrap_or(0);
    let mut widths = vec![0usize; ncols];
    for row in &cells {
        for (i, c) in row.iter().enumerate() {
            if i + 1 < row.len() {
                widths[i] = widths[i].max((c.chars().count() + 2).max(12));
            }
        }
    }
    cells
        .iter()
        .map(|row| {
            let mut line = String::new();
            for (i, c) in row.iter().enumerate() {
                if i + 1 < row.len() {
                    line.push_str(&format!("{c:<w$}", w = widths[i]));
                } else {
                    line.push_str(c);
                }
            }
            line.trim_end().to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms() {
        assert_eq!(split_term("lab"), (None, "lab".into()));
        assert_eq!(split_term("lab/busybox"), (None, "lab/busybox".into()));
        assert_eq!(split_term("localhost:5000/lab"), (Some("localhost:5000".into()), "lab".into()));
        assert_eq!(split_term("quay.io/"), (Some("quay.io".into()), "".into()));
        assert_eq!(split_term("localhost/x"), (Some("localhost".into()), "x".into()));
    }

    #[test]
    fn catalog_filtering() {
        let repos: Vec<String> =
            ["lab/busybox", "lab/debian", "warren/busybox", "lab"].iter().map(|s| s.to_string()).collect();
        let names = |v: Vec<SearchResult>| v.into_iter().map(|r| r.name).collect::<Vec<_>>();
        assert_eq!(
            names(filter_catalog("localhost:5000", &repos, "lab", 25)),
            ["localhost:5000/lab", "localhost:5000/lab/busybox", "localhost:5000/lab/debian"]
        );
        assert_eq!(names(filter_catalog("r", &repos, "busybox", 25)), ["r/lab/busybox", "r/warren/busybox"]);
        assert_eq!(names(filter_catalog("r", &repos, "", 2)).len(), 2);
        assert!(filter_catalog("r", &repos, "nope", 25).is_empty());
    }

    fn sample() -> Vec<SearchResult> {
        vec![
            SearchResult {
                index: "localhost:5000".into(),
                name: "localhost:5000/lab/busybox".into(),
                ..Default::default()
            },
            SearchResult {
                index: "docker.io".into(),
                name: "docker.io/library/busybox".into(),
                description: "Busybox base image with a very long description that goes on".into(),
                stars: 3,
                official: "[OK]".into(),
                ..Default::default()
            },
        ]
    }

    #[test]
    fn table_output() {
        let out = render(&sample(), None, false, false).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "NAME                        DESCRIPTION");
        assert_eq!(lines[1], "localhost:5000/lab/busybox");
        assert_eq!(lines[2], "docker.io/library/busybox   Busybox base image with a very long descript...");
        let out = render(&sample(), None, false, true).unwrap();
        assert!(out.contains("goes on"));
    }

    #[test]
    fn templates_and_json() {
        let out = render(&sample(), Some("{{.Name}} {{.Stars}}"), false, false).unwrap();
        assert_eq!(out, "localhost:5000/lab/busybox 0\ndocker.io/library/busybox 3\n");
        let out = render(&sample(), Some("table {{.Index}}\\t{{.Official}}"), false, false).unwrap();
        assert_eq!(out.lines().next().unwrap(), "INDEX           OFFICIAL");
        let v: serde_json::Value =
            serde_json::from_str(&render(&sample(), Some("json"), false, false).unwrap()).unwrap();
        assert_eq!(v[1]["Name"], "docker.io/library/busybox");
        assert_eq!(v[1]["Stars"], 3);
        assert!(render(&sample(), Some("{{.Nope}}"), false, false).unwrap_err().to_string().contains("Nope"));
        assert!(render(&sample(), Some("{{.Name"), false, false).is_err());
        let tags = vec![SearchResult { name: "r/a".into(), tag: "v1".into(), ..Default::default() }];
        assert_eq!(render(&tags, None, true, false).unwrap(), "NAME        TAG\nr/a         v1\n");
        assert_eq!(render(&[], None, false, false).unwrap(), "NAME        DESCRIPTION\n");
    }

    #[test]
    fn filters() {
        let f = parse_filters(&["stars=2".into(), "is-official=true".into()]).unwrap();
        let s = sample();
        assert!(!keep(&s[0], &f));
        assert!(keep(&s[1], &f));
        assert!(parse_filters(&["stars=x".into()]).is_err());
        assert!(parse_filters(&["color=red".into()]).is_err());
        assert!(parse_filters(&["is-official=maybe".into()]).is_err());
    }
}
