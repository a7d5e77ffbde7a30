//! Output formatting: Podman-style tables and a subset of Go templates (`{{.Field}}`, `json`, `table`).
//!
//! Templates are evaluated over `serde_json::Value`s shaped like Podman's structures. Supported:
//! fields (`{{.A.B}}`, `{{.}}`), string literals (`{{"\n"}}`), pipelines (`{{.X | json}}`), functions
//! `json`, `upper`, `lower`, `title`, `join`, `len`, `println`, and `range`/`if`/`with` … `else` … `end`.
//! A `table` prefix prints a header row; `\t` separates columns, which are aligned like Go's tabwriter
//! with Podman's settings (minimum width 12, padding 2).

use anyhow::{bail, Result};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum Arg {
    Field(Vec<String>),
    Str(String),
    Num(f64),
    Func(String),
}

type Pipeline = Vec<Vec<Arg>>;

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    Action(Pipeline),
    Range(Pipeline, Vec<Node>, Vec<Node>),
    If(Pipeline, Vec<Node>, Vec<Node>),
    With(Pipeline, Vec<Node>, Vec<Node>),
}

/// A parsed Go template.
#[derive(Debug, Clone)]
pub struct Template {
    pub table: bool,
    nodes: Vec<Node>,
}

/// Turn the two-character escapes users type on a shell (`\t`, `\n`) into the real characters, as Podman
/// does, and for a `table` without tabs, separate adjacent actions with tabs.
fn normalize(format: &str) -> (bool, String) {
    let mut f = format.to_string();
    let table = f.starts_with("table");
    if table {
        f = f["table".len()..].trim_start().to_string();
    }
    f = f.replace("\\t", "\t").replace("\\n", "\n");
    if table && !f.contains('\t') {
        f = f.replace("}} {{", "}}\t{{");
    }
    (table, f)
}

impl Template {
    pub fn parse(format: &str) -> Result<Template> {
        let (table, f) = normalize(format);
        let tokens = lex(&f)?;
        let mut pos = 0;
        let (nodes, stop) = parse_nodes(&tokens, &mut pos)?;
        if let Some(s) = stop {
            bail!("template: unexpected {{{{{s}}}}}");
        }
        Ok(Template { table, nodes })
    }

    /// Render the template for one value.
    pub fn render(&self, v: &Value) -> Result<String> {
        let mut out = String::new();
        exec(&self.nodes, v, &mut out)?;
        Ok(out)
    }

    /// The header row: each field action becomes its header (`header(Name)` or NAME split at capitals).
    pub fn header(&self, header: &dyn Fn(&str) -> Option<String>) -> String {
        let mut out = String::new();
        for n in &self.nodes {
            match n {
                Node::Text(t) => out.push_str(t),
                Node::Action(p) => {
                    let name = p
                        .iter()
                        .flat_map(|c| c.iter())
                        .find_map(|a| match a {
                            Arg::Field(f) => Some(f.join(".")),
                            _ => None,
                        })
                        .unwrap_or_default();
                    out.push_str(&header(&name).unwrap_or_else(|| default_header(&name)));
                }
                _ => {}
            }
        }
        out
    }
}

/// `CreatedAt` → `CREATED AT`, `ID` → `ID`, `Config.Cmd` → `CMD`.
pub fn default_header(field: &str) -> String {
    let last = field.rsplit('.').next().unwrap_or(field);
    let mut out = String::new();
    let chars: Vec<char> = last.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if i > 0
            && c.is_uppercase()
            && (chars[i - 1].is_lowercase() || chars.get(i + 1).is_some_and(|n| n.is_lowercase()))
        {
            out.push(' ');
        }
        out.extend(c.to_uppercase());
    }
    out
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Text(String),
    Action(Vec<String>),
}

fn lex(s: &str) -> Result<Vec<Tok>> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find("{{") {
        let mut text = rest[..i].to_string();
        let mut inner_start = i + 2;
        if rest[inner_start..].starts_with('-') && rest[inner_start + 1..].starts_with(char::is_whitespace) {
            text = text.trim_end().to_string();
            inner_start += 1;
        }
        if !text.is_empty() {
            out.push(Tok::Text(text));
        }
        let after = &rest[inner_start..];
        let (words, consumed, trim_right) = lex_action(after)?;
        out.push(Tok::Action(words));
        rest = &after[consumed..];
        if trim_right {
            rest = rest.trim_start();
        }
    }
    if !rest.is_empty() {
        out.push(Tok::Text(rest.to_string()));
    }
    Ok(out)
}

/// Split an action's body into words up to `}}`; returns (words, bytes consumed incl. `}}`, trim right).
fn lex_action(s: &str) -> Result<(Vec<String>, usize, bool)> {
    let b: Vec<char> = s.chars().collect();
    let mut words = Vec::new();
    let mut i = 0;
    let mut bytes = 0;
    let adv = |i: &mut usize, bytes: &mut usize, c: char| {
        *i += 1;
        *bytes += c.len_utf8();
    };
    loop {
        if i >= b.len() {
            bail!("template: unclosed action (missing \"}}}}\")");
        }
        let c = b[i];
        if c == '-' && b.get(i + 1) == Some(&'}') && b.get(i + 2) == Some(&'}') && i > 0 && b[i - 1].is_whitespace() {
            return Ok((words, bytes + 3, true));
        }
        if c == '}' && b.get(i + 1) == Some(&'}') {
            return Ok((words, bytes + 2, false));
        }
        if c.is_whitespace() {
            adv(&mut i, &mut bytes, c);
            continue;
        }
        if c == '"' || c == '`' {
            let q = c;
            let mut w = String::from(q);
            adv(&mut i, &mut bytes, c);
            loop {
                let Some(&d) = b.get(i) else { bail!("template: unterminated string") };
                adv(&mut i, &mut bytes, d);
                if d == '\\' && q == '"' {
                    let Some(&e) = b.get(i) else { bail!("template: unterminated string") };
                    adv(&mut i, &mut bytes, e);
                    w.push(match e {
                        'n' => '\n',
                        't' => '\t',
                        other => other,
                    });
                    continue;
                }
                if d == q {
                    break;
                }
                w.push(d);
            }
            words.push(w);
            continue;
        }
        if c == '|' || c == '(' || c == ')' {
            words.push(c.to_string());
            adv(&mut i, &mut bytes, c);
            continue;
        }
        let mut w = String::new();
        while let Some(&d) = b.get(i) {
            if d.is_whitespace() || d == '|' || d == '(' || d == ')' || (d == '}' && b.get(i + 1) == Some(&'}')) {
                break;
            }
            w.push(d);
            adv(&mut i, &mut bytes, d);
        }
        words.push(w);
    }
}

fn parse_pipeline(words: &[String]) -> Result<Pipeline> {
    let mut cmds = Vec::new();
    for part in words.split(|w| w == "|") {
        let mut cmd = Vec::new();
        for w in part {
            if w == "(" || w == ")" {
                bail!("template: parenthesised pipelines are not supported");
            }
            let arg = if let Some(s) = w.strip_prefix('"').or_else(|| w.strip_prefix('`')) {
                Arg::Str(s.to_string())
            } else if w == "." {
                Arg::Field(Vec::new())
            } else if let Some(f) = w.strip_prefix('.') {
                Arg::Field(f.split('.').map(str::to_string).collect())
            } else if let Ok(n) = w.parse::<f64>() {
                Arg::Num(n)
            } else if w.starts_with('$') {
                bail!("template: variables are not supported ({w})");
            } else {
                Arg::Func(w.clone())
            };
            cmd.push(arg);
        }
        if cmd.is_empty() {
            bail!("template: empty command in pipeline");
        }
        cmds.push(cmd);
    }
    Ok(cmds)
}

/// Parse until `end`/`else` (returned as the stop word) or the end of input.
fn parse_nodes(toks: &[Tok], pos: &mut usize) -> Result<(Vec<Node>, Option<String>)> {
    let mut nodes = Vec::new();
    while *pos < toks.len() {
        let t = &toks[*pos];
        *pos += 1;
        match t {
            Tok::Text(s) => nodes.push(Node::Text(s.clone())),
            Tok::Action(words) => {
                let Some(first) = words.first() else { continue };
                match first.as_str() {
                    "end" | "else" => return Ok((nodes, Some(first.clone()))),
                    "range" | "if" | "with" => {
                        let p = parse_pipeline(&words[1..])?;
                        let (body, stop) = parse_nodes(toks, pos)?;
                        let els = match stop.as_deref() {
                            Some("else") => {
                                let (e, stop2) = parse_nodes(toks, pos)?;
                                if stop2.as_deref() != Some("end") {
                                    bail!("template: missing {{{{end}}}} after {{{{else}}}}");
                                }
                                e
                            }
                            Some("end") => Vec::new(),
                            _ => bail!("template: missing {{{{end}}}} for {{{{{first}}}}}"),
                        };
                        nodes.push(match first.as_str() {
                            "range" => Node::Range(p, body, els),
                            "if" => Node::If(p, body, els),
                            _ => Node::With(p, body, els),
                        });
                    }
                    _ => nodes.push(Node::Action(parse_pipeline(words)?)),
                }
            }
        }
    }
    Ok((nodes, None))
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

fn exec(nodes: &[Node], dot: &Value, out: &mut String) -> Result<()> {
    for n in nodes {
        match n {
            Node::Text(t) => out.push_str(t),
            Node::Action(p) => out.push_str(&go_string(&eval(p, dot)?)),
            Node::If(p, body, els) => exec(if truthy(&eval(p, dot)?) { body } else { els }, dot, out)?,
            Node::With(p, body, els) => {
                let v = eval(p, dot)?;
                if truthy(&v) {
                    exec(body, &v, out)?
                } else {
                    exec(els, dot, out)?
                }
            }
            Node::Range(p, body, els) => {
                let v = eval(p, dot)?;
                let items: Vec<Value> = match v {
                    Value::Array(a) => a,
                    Value::Object(o) => o.into_iter().map(|(_, v)| v).collect(),
                    Value::Null => Vec::new(),
                    other => bail!("template: range can't iterate over {}", go_string(&other)),
                };
                if items.is_empty() {
                    exec(els, dot, out)?;
                }
                for it in &items {
                    exec(body, it, out)?;
                }
            }
        }
    }
    Ok(())
}

fn lower_first(k: &str) -> String {
    let mut c = k.chars();
    c.next().map(|f| f.to_lowercase().collect::<String>() + c.as_str()).unwrap_or_default()
}

fn field(dot: &Value, path: &[String]) -> Result<Value> {
    let mut cur = dot;
    for (i, k) in path.iter().enumerate() {
        cur = match cur {
            // Go templates name struct fields (`.Store.GraphRoot`); Podman's JSON may start them lower case.
            Value::Object(o) => match o.get(k).or_else(|| o.get(&lower_first(k))) {
                Some(v) => v,
                // Missing keys of maps print "<no value>"; an unknown top-level field is an error.
                None if i == 0 => bail!("template: can't evaluate field {k}"),
                None => return Ok(Value::String("<no value>".into())),
            },
            Value::Null => return Ok(Value::Null),
            other => bail!("template: can't evaluate field {k} in {}", go_string(other)),
        };
    }
    Ok(cur.clone())
}

fn eval(p: &Pipeline, dot: &Value) -> Result<Value> {
    let mut prev: Option<Value> = None;
    for cmd in p {
        let mut args: Vec<Value> = Vec::new();
        let (head, rest) = cmd.split_first().expect("commands are never empty");
        for a in rest {
            args.push(arg_value(a, dot)?);
        }
        if let Some(v) = prev.take() {
            args.push(v);
        }
        let v = match head {
            Arg::Func(f) => call(f, &args)?,
            other => {
                if !args.is_empty() {
                    bail!("template: can't give arguments to a non-function");
                }
                arg_value(other, dot)?
            }
        };
        prev = Some(v);
    }
    Ok(prev.unwrap_or(Value::Null))
}

fn arg_value(a: &Arg, dot: &Value) -> Result<Value> {
    Ok(match a {
        Arg::Field(f) => field(dot, f)?,
        Arg::Str(s) => Value::String(s.clone()),
        Arg::Num(n) => serde_json::json!(n),
        Arg::Func(f) => call(f, &[])?,
    })
}

fn call(f: &str, args: &[Value]) -> Result<Value> {
    let one = || -> Result<&Value> {
        match args {
            [v] => Ok(v),
            _ => bail!("template: {f} takes one argument, got {}", args.len()),
        }
    };
    Ok(match f {
        "json" => Value::String(serde_json::to_string(one()?)?),
        "upper" => Value::String(go_string(one()?).to_uppercase()),
        "lower" => Value::String(go_string(one()?).to_lowercase()),
        "title" => Value::String(
            go_string(one()?)
                .split(' ')
                .map(|w| {
                    let mut c = w.chars();
                    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
                })
                .collect::<Vec<_>>()
                .join(" "),
        ),
        "len" => serde_json::json!(match one()? {
            Value::Array(a) => a.len(),
            Value::Object(o) => o.len(),
            Value::String(s) => s.len(),
            _ => 0,
        }),
        "join" => match args {
            [Value::Array(a), sep] | [sep, Value::Array(a)] => {
                Value::String(a.iter().map(go_string).collect::<Vec<_>>().join(&go_string(sep)))
            }
            [Value::Null, _] | [_, Value::Null] => Value::String(String::new()),
            _ => bail!("template: join takes a list and a separator"),
        },
        "println" => Value::String(args.iter().map(go_string).collect::<Vec<_>>().join(" ") + "\n"),
        "print" => Value::String(args.iter().map(go_string).collect::<Vec<_>>().join(" ")),
        _ => bail!("template: function {f:?} not defined"),
    })
}

/// Print a value the way Go's `fmt` `%v` prints the matching Go type.
pub fn go_string(v: &Value) -> String {
    match v {
        Value::Null => "[]".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(a) => format!("[{}]", a.iter().map(go_string).collect::<Vec<_>>().join(" ")),
        Value::Object(o) => {
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            format!("map[{}]", keys.iter().map(|k| format!("{k}:{}", go_string(&o[*k]))).collect::<Vec<_>>().join(" "))
        }
    }
}

/// Align tab-separated cells like Go's `tabwriter.NewWriter(w, 12, 2, 2, ' ', 0)` (Podman's tables): each
/// cell followed by a tab is padded to its column's width (at least 12, widest cell + 2).
pub fn tabwrite(text: &str) -> String {
    let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
    let mut widths: Vec<usize> = Vec::new();
    for cells in &lines {
        for (i, c) in cells.iter().enumerate().take(cells.len().saturating_sub(1)) {
            let w = (c.chars().count() + 2).max(12);
            if widths.len() <= i {
                widths.push(w);
            } else {
                widths[i] = widths[i].max(w);
            }
        }
    }
    let mut out = String::new();
    for cells in &lines {
        let mut line = String::new();
        for (i, c) in cells.iter().enumerate() {
            line.push_str(c);
            if i + 1 < cells.len() {
                line.extend(std::iter::repeat_n(' ', widths[i] - c.chars().count()));
            }
        }
        out.push_str(line.trim_end_matches(' '));
        out.push('\n');
    }
    out
}

/// Render rows with a user or default format, the way Podman's report package does: `json` prints the
/// JSON array; `table ...` prints a header (unless `noheading`) and aligned rows; any other template
/// prints one rendered line per row.
pub fn render_rows(
    format: &str,
    rows: &[Value],
    noheading: bool,
    header: &dyn Fn(&str) -> Option<String>,
) -> Result<String> {
    if format.trim() == "json" {
        return Ok(serde_json::to_string_pretty(&Value::Array(rows.to_vec()))? + "\n");
    }
    let t = Template::parse(format)?;
    let mut text = String::new();
    if t.table && !noheading {
        text.push_str(&t.header(header));
        text.push('\n');
    }
    for r in rows {
        let mut line = t.render(r)?;
        if !line.ends_with('\n') {
            line.push('\n');
        }
        text.push_str(&line);
    }
    Ok(if t.table { tabwrite(&text) } else { text })
}

/// Podman's sizes: go-units `HumanSizeWithPrecision(size, 3)` with a space before the unit (`4.51 MB`).
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut size = bytes as f64;
    let mut i = 0;
    while size >= 1000.0 && i + 1 < UNITS.len() {
        size /= 1000.0;
        i += 1;
    }
    format!("{} {}", go_g3(size), UNITS[i])
}

/// `%.3g` for values in [0, 1000).
fn go_g3(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let mag = x.abs().log10().floor() as i32;
    let decimals = (2 - mag).max(0) as usize;
    let s = format!("{x:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// go-units `HumanDuration`, as in Podman's `CREATED` column (`2 years`, `About an hour`).
pub fn human_duration(secs: i64) -> String {
    let secs = secs.max(0);
    let minutes = secs / 60;
    let hours = ((secs as f64) / 3600.0 + 0.5) as i64;
    if secs < 1 {
        "Less than a second".into()
    } else if secs == 1 {
        "1 second".into()
    } else if secs < 60 {
        format!("{secs} seconds")
    } else if minutes == 1 {
        "About a minute".into()
    } else if minutes < 60 {
        format!("{minutes} minutes")
    } else if hours == 1 {
        "About an hour".into()
    } else if hours < 48 {
        format!("{hours} hours")
    } else if hours < 24 * 7 * 2 {
        format!("{} days", hours / 24)
    } else if hours < 24 * 30 * 2 {
        format!("{} weeks", hours / 24 / 7)
    } else if hours < 24 * 365 * 2 {
        format!("{} months", hours / 24 / 30)
    } else {
        format!("{} years", hours / 24 / 365)
    }
}

/// `2 years ago` for a unix time.
pub fn time_ago(unix: i64) -> String {
    format!("{} ago", human_duration(now_unix() - unix))
}

pub fn now_unix() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Parse an RFC 3339 time (`2024-01-01T00:00:00Z`, `2024-01-01T01:00:00.5+01:00`) to unix seconds.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let s = s.trim();
    let (date, time) = s.split_once(['T', 't', ' '])?;
    let mut d = date.splitn(3, '-');
    let (y, mo, da): (i64, i64, i64) = (d.next()?.parse().ok()?, d.next()?.parse().ok()?, d.next()?.parse().ok()?);
    let (clock, offset) = if let Some(c) = time.strip_suffix(['Z', 'z']) {
        (c, 0)
    } else {
        let i = time.rfind(['+', '-'])?;
        let (c, off) = time.split_at(i);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let (oh, om) = off[1..].split_once(':')?;
        (c, sign * (oh.parse::<i64>().ok()? * 3600 + om.parse::<i64>().ok()? * 60))
    };
    let clock = clock.split('.').next()?;
    let mut c = clock.splitn(3, ':');
    let (h, mi, se): (i64, i64, i64) = (c.next()?.parse().ok()?, c.next()?.parse().ok()?, c.next()?.parse().ok()?);
    Some(days_from_civil(y, mo, da) * 86400 + h * 3600 + mi * 60 + se - offset)
}

/// `2024-01-01T00:00:00Z` for a unix time.
pub fn format_rfc3339(unix: i64) -> String {
    let (y, m, d) = civil_from_days(unix.div_euclid(86400));
    let r = unix.rem_euclid(86400);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", r / 3600, r / 60 % 60, r % 60)
}

/// Now, as RFC 3339 (UTC), for `pulled` and similar stamps.
pub fn now_rfc3339() -> String {
    format_rfc3339(now_unix())
}

/// Podman's `CreatedAt` style: `2024-01-01 00:00:00 +0000 UTC`.
pub fn go_time_string(unix: i64) -> String {
    let s = format_rfc3339(unix);
    format!("{} {} +0000 UTC", &s[..10], &s[11..19])
}

/// The current time with nanoseconds, as Podman's k8s-file logs write it (`2026-12-03T15:47:56.123456789+00:00`).
pub fn now_rfc3339_nanos() -> String {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let base = format_rfc3339(d.as_secs() as i64);
    format!("{}.{:09}+00:00", base.trim_end_matches('Z'), d.subsec_nanos())
}

/// Seconds since an RFC 3339 time (0 when it cannot be parsed).
pub fn seconds_since(t: &str) -> i64 {
    parse_rfc3339(t).map(|x| now_unix() - x).unwrap_or(0)
}

/// Rows of cells as a Podman table.
pub fn table(rows: &[Vec<String>]) -> String {
    tabwrite(&rows.iter().map(|r| r.join("\t")).collect::<Vec<_>>().join("\n"))
}

/// Render a user's Go template for one value (a template error is an engine error, exit 125).
pub fn render_simple(tpl: &str, v: &Value) -> Result<String> {
    Template::parse(tpl).and_then(|t| t.render(v))
}

/// A JSON value as the YAML-like text `podman info` prints.
pub fn yaml(v: &Value, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut out = String::new();
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match x {
                    Value::Object(o) if !o.is_empty() => out.push_str(&format!("{pad}{k}:\n{}", yaml(x, indent + 2))),
                    Value::Array(a) if !a.is_empty() => {
                        out.push_str(&format!("{pad}{k}:\n"));
                        for item in a {
                            let inner = yaml(item, indent + 2);
                            let inner = inner.trim_start();
                            out.push_str(&format!(
                                "{pad}- {}",
                                if inner.contains('\n') { inner.to_string() } else { format!("{inner}\n") }
                            ));
                        }
                    }
                    _ => out.push_str(&format!("{pad}{k}: {}\n", yaml_scalar(x))),
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", yaml_scalar(other))),
    }
    out
}

fn yaml_scalar(v: &Value) -> String {
    match v {
        Value::String(s) if s.is_empty() => "\"\"".into(),
        Value::String(s) => s.clone(),
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn r(t: &str, v: Value) -> String {
        Template::parse(t).unwrap().render(&v).unwrap()
    }

    #[test]
    fn fields_pipelines_and_functions() {
        let v = json!({"Repository": "docker.io/library/busybox", "Tag": "latest", "ID": "abc",
            "Config": {"Cmd": ["sh", "-c"], "Env": null, "Labels": {"a": "1"}}, "Size": 4509681});
        assert_eq!(r("{{.Repository}}:{{.Tag}} {{.ID}}", v.clone()), "docker.io/library/busybox:latest abc");
        assert_eq!(r("{{.Config.Cmd}}", v.clone()), "[sh -c]");
        assert_eq!(r("{{json .Config.Cmd}}", v.clone()), r#"["sh","-c"]"#);
        assert_eq!(r("{{.Config.Cmd | json}}", v.clone()), r#"["sh","-c"]"#);
        assert_eq!(r("{{.Config.Env}}", v.clone()), "[]");
        assert_eq!(r("{{.Config.Labels}}", v.clone()), "map[a:1]");
        assert_eq!(r("{{.Config.Labels.b}}", v.clone()), "<no value>");
        assert_eq!(r("{{.Size}}", v.clone()), "4509681");
        assert_eq!(r(r#"{{.ID}}{{"\n"}}"#, v.clone()), "abc\n");
        assert_eq!(r(r"{{.ID}}\t{{.Tag}}", v.clone()), "abc\tlatest");
        assert_eq!(r("{{range .Config.Cmd}}<{{.}}>{{end}}", v.clone()), "<sh><-c>");
        assert_eq!(r("{{if .Config.Env}}env{{else}}none{{end}}", v.clone()), "none");
        assert_eq!(r("{{join .Config.Cmd \",\"}}", v.clone()), "sh,-c");
        assert_eq!(r("{{upper .Tag}} {{len .Config.Cmd}}", v.clone()), "LATEST 2");
        assert_eq!(r("{{- .Tag -}} x", v.clone()), "latestx");
        assert!(Template::parse("{{.Tag").is_err());
        assert!(Template::parse("{{range .X}}").is_err());
        assert!(Template::parse("{{.Nope}}").unwrap().render(&v).is_err());
        assert!(Template::parse("{{nofunc .Tag}}").unwrap().render(&v).is_err());
    }

    #[test]
    fn tables_like_podman() {
        let rows = vec![
            json!({"Repository": "docker.io/library/busybox", "Tag": "latest", "ID": "a416a98b71e2", "CreatedSince": "2 months ago", "Size": "4.51 MB"}),
            json!({"Repository": "localhost/x", "Tag": "1", "ID": "0123456789ab", "CreatedSince": "2 years ago", "Size": "1 kB"}),
        ];
        let hdr = |f: &str| match f {
            "ID" => Some("IMAGE ID".to_string()),
            "CreatedSince" => Some("CREATED".to_string()),
            _ => None,
        };
        let out = render_rows("table {{.Repository}} {{.Tag}} {{.ID}} {{.CreatedSince}} {{.Size}}", &rows, false, &hdr)
            .unwrap();
        assert_eq!(
            out,
            "REPOSITORY                 TAG         IMAGE ID      CREATED       SIZE\n\
             docker.io/library/busybox  latest      a416a98b71e2  2 months ago  4.51 MB\n\
             localhost/x                1           0123456789ab  2 years ago   1 kB\n"
        );
        let out = render_rows("table {{.ID}}", &rows, true, &hdr).unwrap();
        assert_eq!(out, "a416a98b71e2\n0123456789ab\n");
        let out = render_rows("{{.ID}}", &rows, false, &hdr).unwrap();
        assert_eq!(out, "a416a98b71e2\n0123456789ab\n");
        assert!(render_rows("json", &rows, false, &hdr).unwrap().starts_with("[\n  {"));
        assert_eq!(default_header("CreatedAt"), "CREATED AT");
        assert_eq!(default_header("ID"), "ID");
    }

    #[test]
    fn sizes_and_durations_like_go_units() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(999), "999 B");
        assert_eq!(human_size(4_509_681), "4.51 MB");
        assert_eq!(human_size(1_982_256), "1.98 MB");
        assert_eq!(human_size(82_100_000), "82.1 MB");
        assert_eq!(human_size(123_456_789), "123 MB");
        assert_eq!(human_size(5_000_000), "5 MB");
        assert_eq!(human_duration(0), "Less than a second");
        assert_eq!(human_duration(45), "45 seconds");
        assert_eq!(human_duration(90), "About a minute");
        assert_eq!(human_duration(3600), "About an hour");
        assert_eq!(human_duration(3 * 86400), "3 days");
        assert_eq!(human_duration(20 * 86400), "2 weeks");
        assert_eq!(human_duration(90 * 86400), "3 months");
        assert_eq!(human_duration(3 * 365 * 86400), "3 years");
    }

    #[test]
    fn rfc3339_round_trip() {
        assert_eq!(parse_rfc3339("2024-01-01T00:00:00Z"), Some(1_704_067_200));
        assert_eq!(parse_rfc3339("2024-01-01T01:00:00.123456789+01:00"), Some(1_704_067_200));
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(format_rfc3339(1_704_067_200), "2024-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(go_time_string(0), "1970-01-01 00:00:00 +0000 UTC");
        assert_eq!(parse_rfc3339("garbage"), None);
    }
}
