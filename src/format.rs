//! Output formatting: Podman-style tables and Go templates (`text/template`) over JSON values.
//!
//! Templates are evaluated over `serde_json::Value`s shaped like Podman's structures. Supported: fields
//! (`{{.A.B}}`, `{{.}}`, `{{$.A}}`, `{{$v.A}}`), string, number and boolean literals, pipelines
//! (`{{.X | json}}`), parenthesised pipelines (`{{(index .Mounts 0).Source}}`), variables
//! (`{{$x := .A}}`, `{{range $i, $e := .L}}`), comments, `range`/`if`/`with` … `else` / `else if` … `end`,
//! Go's built-in functions (`and or not eq ne lt le gt ge index slice len print printf println`) and
//! Podman's (`json upper lower title join split truncate pad`). A `table` prefix prints a header row;
//! `\t` separates columns, which are aligned like Go's tabwriter with Podman's settings (minimum width
//! 12, padding 2). Unknown functions are an error when the template is parsed, unknown fields when
//! it is executed, as in Go (either is exit 125).

use anyhow::{anyhow, bail, Result};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum Arg {
    /// `.A.B` (empty: `.`)
    Field(Vec<String>),
    /// `$name.A.B` (`$` alone is the template's data)
    Var(String, Vec<String>),
    Str(String),
    Num(f64),
    Bool(bool),
    Nil,
    Func(String),
    /// `(pipeline).A.B`
    Sub(Box<Pipeline>, Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Default)]
struct Pipeline {
    /// Variables declared with `:=` (`$x`, or `$i, $e` in a range).
    decl: Vec<String>,
    cmds: Vec<Vec<Arg>>,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    Action(Pipeline),
    Range(Pipeline, Vec<Node>, Vec<Node>),
    If(Pipeline, Vec<Node>, Vec<Node>),
    With(Pipeline, Vec<Node>, Vec<Node>),
}

/// The functions a template may call: Go's built-ins and the ones Podman adds.
const FUNCS: &[&str] = &[
    "and", "or", "not", "eq", "ne", "lt", "le", "gt", "ge", "index", "slice", "len", "print", "printf", "println",
    "json", "upper", "lower", "title", "join", "split", "truncate", "pad",
];

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
            bail!("template: unexpected {{{{{}}}}}", s.join(" "));
        }
        Ok(Template { table, nodes })
    }

    /// Render the template for one value.
    pub fn render(&self, v: &Value) -> Result<String> {
        let mut out = String::new();
        let mut vars = vec![("$".to_string(), v.clone())];
        exec(&self.nodes, v, &mut vars, &mut out)?;
        Ok(out)
    }

    /// The header row: each field action becomes its header (`header(Name)` or NAME split at capitals).
    pub fn header(&self, header: &dyn Fn(&str) -> Option<String>) -> String {
        let mut out = String::new();
        for n in &self.nodes {
            match n {
                Node::Text(t) => out.push_str(t),
                Node::Action(p) if p.decl.is_empty() => {
                    let name = first_field(p).unwrap_or_default();
                    out.push_str(&header(&name).unwrap_or_else(|| default_header(&name)));
                }
                _ => {}
            }
        }
        out
    }
}

/// The first field a pipeline names (`{{upper .Names}}` → `Names`), for table headers.
fn first_field(p: &Pipeline) -> Option<String> {
    p.cmds.iter().flat_map(|c| c.iter()).find_map(|a| match a {
        Arg::Field(f) | Arg::Var(_, f) if !f.is_empty() => Some(f.join(".")),
        Arg::Sub(inner, f) => first_field(inner).or_else(|| (!f.is_empty()).then(|| f.join("."))),
        _ => None,
    })
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
        // A comment: `{{/* ... */}}` (also with trim markers).
        let trimmed = after.trim_start();
        if trimmed.starts_with("/*") {
            let Some(end) = trimmed.find("*/") else { bail!("template: unclosed comment") };
            let tail = trimmed[end + 2..].trim_start();
            let (consumed, trim_right) = if let Some(t) = tail.strip_prefix("-}}") {
                (after.len() - t.len(), true)
            } else if let Some(t) = tail.strip_prefix("}}") {
                (after.len() - t.len(), false)
            } else {
                bail!("template: comment ends before closing delimiter");
            };
            rest = &after[consumed..];
            if trim_right {
                rest = rest.trim_start();
            }
            continue;
        }
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
/// Strings keep their opening quote as a marker; `(`, `)`, `|` and `,` are words of their own, and a
/// field chain right after `)` stays attached to it (`).Source`).
fn lex_action(s: &str) -> Result<(Vec<String>, usize, bool)> {
    let b: Vec<char> = s.chars().collect();
    let mut words = Vec::new();
    let mut i = 0;
    let mut bytes = 0;
    let adv = |i: &mut usize, bytes: &mut usize, c: char| {
        *i += 1;
        *bytes += c.len_utf8();
    };
    let ends_word = |b: &[char], i: usize| {
        let d = b[i];
        d.is_whitespace() || matches!(d, '|' | '(' | ')' | ',') || (d == '}' && b.get(i + 1) == Some(&'}'))
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
        if matches!(c, '|' | '(' | ',') {
            words.push(c.to_string());
            adv(&mut i, &mut bytes, c);
            continue;
        }
        let mut w = String::new();
        if c == ')' {
            // `)` and the field chain that follows it without a space.
            w.push(c);
            adv(&mut i, &mut bytes, c);
            if b.get(i) != Some(&'.') {
                words.push(w);
                continue;
            }
        }
        while i < b.len() && !ends_word(&b, i) {
            let d = b[i];
            w.push(d);
            adv(&mut i, &mut bytes, d);
        }
        words.push(w);
    }
}

fn fields_of(chain: &str) -> Vec<String> {
    chain.split('.').filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// Parse an action's words: an optional declaration (`$x :=`, `$i , $e :=`), then the pipeline.
fn parse_pipeline(words: &[String]) -> Result<Pipeline> {
    let mut decl = Vec::new();
    let mut start = 0;
    if let Some(at) = words.iter().position(|w| w == ":=" || w == "=") {
        let names: Vec<&String> = words[..at].iter().filter(|w| *w != ",").collect();
        if !names.is_empty() && names.len() <= 2 && names.iter().all(|n| n.starts_with('$') && n.len() > 1) {
            decl = names.into_iter().cloned().collect();
            start = at + 1;
        }
    }
    let mut i = start;
    let cmds = parse_cmds(words, &mut i, false)?;
    if i < words.len() {
        bail!("template: unexpected {:?} in command", words[i]);
    }
    Ok(Pipeline { decl, cmds })
}

/// Commands separated by `|`, up to the end or (inside parentheses) the closing `)`.
fn parse_cmds(words: &[String], i: &mut usize, in_paren: bool) -> Result<Vec<Vec<Arg>>> {
    let mut cmds = Vec::new();
    let mut cmd = Vec::new();
    while *i < words.len() {
        let w = &words[*i];
        if w.starts_with(')') {
            if !in_paren {
                bail!("template: unexpected right paren");
            }
            break;
        }
        *i += 1;
        if w == "|" {
            if cmd.is_empty() {
                bail!("template: missing command before |");
            }
            cmds.push(std::mem::take(&mut cmd));
            continue;
        }
        cmd.push(parse_operand(w, words, i)?);
    }
    if in_paren && *i >= words.len() {
        bail!("template: unclosed left paren");
    }
    if cmd.is_empty() {
        bail!("template: missing value for command");
    }
    cmds.push(cmd);
    Ok(cmds)
}

fn parse_operand(w: &str, words: &[String], i: &mut usize) -> Result<Arg> {
    Ok(if w == "(" {
        let cmds = parse_cmds(words, i, true)?;
        let close = &words[*i];
        *i += 1;
        Arg::Sub(Box::new(Pipeline { decl: Vec::new(), cmds }), fields_of(&close[1..]))
    } else if let Some(s) = w.strip_prefix('"').or_else(|| w.strip_prefix('`')) {
        Arg::Str(s.to_string())
    } else if w == "." {
        Arg::Field(Vec::new())
    } else if let Some(f) = w.strip_prefix('.') {
        Arg::Field(fields_of(f))
    } else if let Some(v) = w.strip_prefix('$') {
        let (name, chain) = v.split_once('.').unwrap_or((v, ""));
        Arg::Var(format!("${name}"), fields_of(chain))
    } else if w == "true" || w == "false" {
        Arg::Bool(w == "true")
    } else if w == "nil" {
        Arg::Nil
    } else if let Ok(n) = w.parse::<f64>() {
        Arg::Num(n)
    } else if w == "," {
        bail!("template: unexpected \",\"");
    } else if FUNCS.contains(&w) {
        Arg::Func(w.to_string())
    } else {
        bail!("template: function {w:?} not defined");
    })
}

/// Parse until `end`/`else` (returned as the stop action's words) or the end of input.
fn parse_nodes(toks: &[Tok], pos: &mut usize) -> Result<(Vec<Node>, Option<Vec<String>>)> {
    let mut nodes = Vec::new();
    while *pos < toks.len() {
        let t = &toks[*pos];
        *pos += 1;
        match t {
            Tok::Text(s) => nodes.push(Node::Text(s.clone())),
            Tok::Action(words) => {
                let Some(first) = words.first() else { bail!("template: missing value for command") };
                match first.as_str() {
                    "end" | "else" => return Ok((nodes, Some(words.clone()))),
                    "range" | "if" | "with" => nodes.push(parse_block(first, &words[1..], toks, pos)?),
                    "define" | "template" | "block" | "break" | "continue" => {
                        bail!("template: {{{{{first}}}}} is not supported")
                    }
                    _ => nodes.push(Node::Action(parse_pipeline(words)?)),
                }
            }
        }
    }
    Ok((nodes, None))
}

/// A `range`/`if`/`with` block after its keyword: body, optional `else` (or `else if`/`else with`,
/// which share the one `end`), `end`.
fn parse_block(kind: &str, words: &[String], toks: &[Tok], pos: &mut usize) -> Result<Node> {
    if words.is_empty() {
        bail!("template: missing value for {kind}");
    }
    let p = parse_pipeline(words)?;
    let (body, stop) = parse_nodes(toks, pos)?;
    let Some(stop) = stop else { bail!("template: missing {{{{end}}}} for {{{{{kind}}}}}") };
    let els = match stop.first().map(String::as_str) {
        Some("end") => Vec::new(),
        Some("else") if stop.len() > 1 && (stop[1] == "if" || stop[1] == "with") && kind != "range" => {
            vec![parse_block(&stop[1], &stop[2..], toks, pos)?]
        }
        _ => {
            let (e, stop2) = parse_nodes(toks, pos)?;
            if stop2.as_ref().and_then(|s| s.first()).map(String::as_str) != Some("end") {
                bail!("template: missing {{{{end}}}} after {{{{else}}}}");
            }
            e
        }
    };
    Ok(match kind {
        "range" => Node::Range(p, body, els),
        "if" => Node::If(p, body, els),
        _ => Node::With(p, body, els),
    })
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

type Vars = Vec<(String, Value)>;

fn exec(nodes: &[Node], dot: &Value, vars: &mut Vars, out: &mut String) -> Result<()> {
    for n in nodes {
        match n {
            Node::Text(t) => out.push_str(t),
            Node::Action(p) => {
                let v = eval(p, dot, vars)?;
                if p.decl.is_empty() {
                    out.push_str(&go_string(&v));
                } else {
                    declare(vars, &p.decl[0], v);
                }
            }
            Node::If(p, body, els) => {
                let mark = vars.len();
                let v = eval(p, dot, vars)?;
                if let Some(name) = p.decl.first() {
                    declare(vars, name, v.clone());
                }
                exec(if truthy(&v) { body } else { els }, dot, vars, out)?;
                vars.truncate(mark);
            }
            Node::With(p, body, els) => {
                let mark = vars.len();
                let v = eval(p, dot, vars)?;
                if let Some(name) = p.decl.first() {
                    declare(vars, name, v.clone());
                }
                if truthy(&v) {
                    exec(body, &v, vars, out)?
                } else {
                    exec(els, dot, vars, out)?
                }
                vars.truncate(mark);
            }
            Node::Range(p, body, els) => {
                let v = eval(p, dot, vars)?;
                let items: Vec<(Value, Value)> = match v {
                    Value::Array(a) => a.into_iter().enumerate().map(|(i, v)| (serde_json::json!(i), v)).collect(),
                    // Go ranges over a map in key order.
                    Value::Object(o) => {
                        let mut kv: Vec<(String, Value)> = o.into_iter().collect();
                        kv.sort_by(|a, b| a.0.cmp(&b.0));
                        kv.into_iter().map(|(k, v)| (Value::String(k), v)).collect()
                    }
                    Value::Null => Vec::new(),
                    other => bail!("template: range can't iterate over {}", go_string(&other)),
                };
                if items.is_empty() {
                    exec(els, dot, vars, out)?;
                }
                for (k, it) in &items {
                    let mark = vars.len();
                    match p.decl.as_slice() {
                        [e] => declare(vars, e, it.clone()),
                        [i, e] => {
                            declare(vars, i, k.clone());
                            declare(vars, e, it.clone());
                        }
                        _ => {}
                    }
                    exec(body, it, vars, out)?;
                    vars.truncate(mark);
                }
            }
        }
    }
    Ok(())
}

fn declare(vars: &mut Vars, name: &str, v: Value) {
    vars.push((name.to_string(), v));
}

fn lower_first(k: &str) -> String {
    let mut c = k.chars();
    c.next().map(|f| f.to_lowercase().collect::<String>() + c.as_str()).unwrap_or_default()
}

/// What a value is called in errors (Go's type names, roughly).
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nil",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "map",
    }
}

fn field(dot: &Value, path: &[String], top_level: bool) -> Result<Value> {
    let mut cur = dot;
    for (i, k) in path.iter().enumerate() {
        cur = match cur {
            // Go templates name struct fields (`.Store.GraphRoot`); Podman's JSON may start them lower case.
            Value::Object(o) => match o.get(k).or_else(|| o.get(&lower_first(k))) {
                Some(v) => v,
                // Missing keys of maps print "<no value>"; an unknown top-level field is an error.
                None if i == 0 && top_level => bail!("template: can't evaluate field {k}"),
                None => return Ok(Value::String("<no value>".into())),
            },
            Value::Null => return Ok(Value::Null),
            other => bail!("template: can't evaluate field {k} in {} {}", kind(other), go_string(other)),
        };
    }
    Ok(cur.clone())
}

fn eval(p: &Pipeline, dot: &Value, vars: &Vars) -> Result<Value> {
    let mut prev: Option<Value> = None;
    for cmd in &p.cmds {
        let (head, rest) = cmd.split_first().expect("commands are never empty");
        let v = match head {
            Arg::Func(f) => {
                let mut args: Vec<Value> = Vec::new();
                if f == "and" || f == "or" {
                    // Short-circuit, returning the deciding argument (Go's semantics).
                    let mut last = Value::Null;
                    let all: Vec<&Arg> = rest.iter().collect();
                    if all.is_empty() && prev.is_none() {
                        bail!("template: {f}: wrong number of args: want at least 1 got 0");
                    }
                    let mut done = false;
                    for a in all {
                        last = arg_value(a, dot, vars)?;
                        if truthy(&last) == (f == "or") {
                            done = true;
                            break;
                        }
                    }
                    if !done {
                        if let Some(v) = prev.take() {
                            last = v;
                        }
                    }
                    prev = Some(last);
                    continue;
                }
                for a in rest {
                    args.push(arg_value(a, dot, vars)?);
                }
                if let Some(v) = prev.take() {
                    args.push(v);
                }
                call(f, &args)?
            }
            other => {
                if !rest.is_empty() || prev.is_some() {
                    bail!("template: can't give arguments to a non-function");
                }
                arg_value(other, dot, vars)?
            }
        };
        prev = Some(v);
    }
    Ok(prev.unwrap_or(Value::Null))
}

fn arg_value(a: &Arg, dot: &Value, vars: &Vars) -> Result<Value> {
    Ok(match a {
        Arg::Field(f) => field(dot, f, true)?,
        Arg::Var(name, f) => {
            let Some((_, v)) = vars.iter().rev().find(|(n, _)| n == name) else {
                bail!("template: undefined variable: {name}")
            };
            field(v, f, name == "$")?
        }
        Arg::Str(s) => Value::String(s.clone()),
        Arg::Num(n) => num(*n),
        Arg::Bool(b) => Value::Bool(*b),
        Arg::Nil => Value::Null,
        Arg::Func(f) => call(f, &[])?,
        Arg::Sub(p, f) => field(&eval(p, dot, vars)?, f, false)?,
    })
}

/// A number as JSON: integral values as integers (so they print as `1`, not `1.0`).
fn num(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9e15 {
        serde_json::json!(n as i64)
    } else {
        serde_json::json!(n)
    }
}

/// Go's `eq`/`lt`/...: basic values of the same kind (all numbers compare as numbers).
fn compare(f: &str, a: &Value, b: &Value) -> Result<std::cmp::Ordering> {
    use std::cmp::Ordering;
    Ok(match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x.as_f64().unwrap_or(0.0).partial_cmp(&y.as_f64().unwrap_or(0.0)).unwrap_or(Ordering::Equal)
        }
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) if f == "eq" || f == "ne" => x.cmp(y),
        (Value::Null, Value::Null) if f == "eq" || f == "ne" => Ordering::Equal,
        _ => bail!("template: {f}: incompatible types for comparison ({} and {})", kind(a), kind(b)),
    })
}

fn int_arg(f: &str, v: &Value) -> Result<i64> {
    match v {
        Value::Number(n) => {
            n.as_i64().or_else(|| n.as_f64().map(|x| x as i64)).ok_or_else(|| anyhow!("template: {f}: bad number"))
        }
        other => bail!("template: {f}: cannot index with {} {}", kind(other), go_string(other)),
    }
}

fn call(f: &str, args: &[Value]) -> Result<Value> {
    let one = || -> Result<&Value> {
        match args {
            [v] => Ok(v),
            _ => bail!("template: {f}: wrong number of args: want 1 got {}", args.len()),
        }
    };
    let two = || -> Result<(&Value, &Value)> {
        match args {
            [a, b] => Ok((a, b)),
            _ => bail!("template: {f}: wrong number of args: want 2 got {}", args.len()),
        }
    };
    Ok(match f {
        "not" => Value::Bool(!truthy(one()?)),
        "eq" => {
            let Some((first, rest)) = args.split_first().filter(|(_, r)| !r.is_empty()) else {
                bail!("template: eq: missing argument for comparison")
            };
            let mut any = false;
            for b in rest {
                any |= compare(f, first, b)? == std::cmp::Ordering::Equal;
            }
            Value::Bool(any)
        }
        "ne" | "lt" | "le" | "gt" | "ge" => {
            let (a, b) = two()?;
            let o = compare(f, a, b)?;
            Value::Bool(match f {
                "ne" => o.is_ne(),
                "lt" => o.is_lt(),
                "le" => o.is_le(),
                "gt" => o.is_gt(),
                _ => o.is_ge(),
            })
        }
        "index" => {
            let Some((mut cur, keys)) = args.split_first().map(|(a, k)| (a.clone(), k)) else {
                bail!("template: index: wrong number of args: want at least 1 got 0")
            };
            for k in keys {
                cur = match (&cur, k) {
                    (Value::Array(a), _) => {
                        let i = int_arg(f, k)?;
                        match usize::try_from(i).ok().and_then(|i| a.get(i)) {
                            Some(v) => v.clone(),
                            None => bail!("template: index: error calling index: index out of range: {i}"),
                        }
                    }
                    (Value::Object(o), Value::String(s)) => o.get(s).cloned().unwrap_or(Value::Null),
                    (Value::Object(_), other) => {
                        bail!("template: index: map key must be a string, not {}", kind(other))
                    }
                    (Value::Null, _) => Value::Null,
                    (other, _) => bail!("template: index: can't index item of type {}", kind(other)),
                };
            }
            cur
        }
        "slice" => {
            let Some((x, idx)) = args.split_first() else { bail!("template: slice: missing argument") };
            let idx: Vec<i64> = idx.iter().map(|v| int_arg(f, v)).collect::<Result<_>>()?;
            let len = match x {
                Value::Array(a) => a.len(),
                Value::String(s) => s.len(),
                other => bail!("template: slice: can't slice item of type {}", kind(other)),
            } as i64;
            let (lo, hi) = match idx.as_slice() {
                [] => (0, len),
                [lo] => (*lo, len),
                [lo, hi] => (*lo, *hi),
                _ => bail!("template: slice: too many indexes"),
            };
            if lo < 0 || hi < lo || hi > len {
                bail!("template: slice: index out of range: [{lo}:{hi}] with length {len}");
            }
            match x {
                Value::Array(a) => Value::Array(a[lo as usize..hi as usize].to_vec()),
                Value::String(s) => Value::String(
                    s.get(lo as usize..hi as usize)
                        .ok_or_else(|| anyhow!("template: slice: not a character boundary"))?
                        .into(),
                ),
                _ => unreachable!("checked above"),
            }
        }
        "len" => serde_json::json!(match one()? {
            Value::Array(a) => a.len(),
            Value::Object(o) => o.len(),
            Value::String(s) => s.len(),
            Value::Null => 0,
            other => bail!("template: len: len of type {}", kind(other)),
        }),
        "print" => {
            // Go's fmt.Sprint: spaces only between operands when neither is a string.
            let mut s = String::new();
            for (i, a) in args.iter().enumerate() {
                if i > 0 && !a.is_string() && !args[i - 1].is_string() {
                    s.push(' ');
                }
                s.push_str(&go_string(a));
            }
            Value::String(s)
        }
        "println" => Value::String(args.iter().map(go_string).collect::<Vec<_>>().join(" ") + "\n"),
        "printf" => {
            let Some((Value::String(fmt), rest)) = args.split_first() else {
                bail!("template: printf: the first argument must be a format string")
            };
            Value::String(sprintf(fmt, rest))
        }
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
        "join" => match two()? {
            (Value::Array(a), sep) => Value::String(a.iter().map(go_string).collect::<Vec<_>>().join(&go_string(sep))),
            (Value::Null, _) => Value::String(String::new()),
            (other, _) => {
                bail!("template: join: wrong type for value; expected a list; got {} {}", kind(other), go_string(other))
            }
        },
        "split" => {
            let (s, sep) = two()?;
            Value::Array(go_string(s).split(go_string(sep).as_str()).map(|p| Value::String(p.into())).collect())
        }
        "truncate" => {
            let (s, n) = two()?;
            let n = int_arg(f, n)?.max(0) as usize;
            Value::String(go_string(s).chars().take(n).collect())
        }
        "pad" => {
            // Podman's padWithSpace(s, prefix, suffix).
            let [s, pre, post] = args else { bail!("template: pad: wrong number of args: want 3 got {}", args.len()) };
            let (pre, post) = (int_arg(f, pre)?.max(0) as usize, int_arg(f, post)?.max(0) as usize);
            Value::String(format!("{}{}{}", " ".repeat(pre), go_string(s), " ".repeat(post)))
        }
        _ => bail!("template: function {f:?} not defined"),
    })
}

/// A small `fmt.Sprintf`: `%v %s %d %q %t %f %x %%` with flags `-`, `0` and a width.
fn sprintf(fmt: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut chars = fmt.chars().peekable();
    let mut next = args.iter();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut left = false;
        let mut zero = false;
        while let Some(&f) = chars.peek() {
            match f {
                '-' => left = true,
                '0' => zero = true,
                '+' | ' ' | '#' => {}
                _ => break,
            }
            chars.next();
        }
        let mut width = String::new();
        while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
            width.push(d);
            chars.next();
        }
        let mut prec = None;
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut p = String::new();
            while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                p.push(d);
                chars.next();
            }
            prec = p.parse::<usize>().ok().or(Some(0));
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(a) = next.next() else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        let s = match verb {
            'q' => serde_json::to_string(&go_string(a)).unwrap_or_default(),
            'd' => a.as_f64().map(|x| format!("{}", x as i64)).unwrap_or_else(|| format!("%!d({})", go_string(a))),
            'f' => a.as_f64().map(|x| format!("{x:.*}", prec.unwrap_or(6))).unwrap_or_else(|| go_string(a)),
            'x' => match a {
                Value::Number(n) if n.is_u64() => format!("{:x}", n.as_u64().unwrap_or(0)),
                other => go_string(other).bytes().map(|b| format!("{b:02x}")).collect(),
            },
            _ => match (prec, go_string(a)) {
                (Some(p), s) if verb == 's' => s.chars().take(p).collect(),
                (_, s) => s,
            },
        };
        let w: usize = width.parse().unwrap_or(0);
        let len = s.chars().count();
        if len >= w {
            out.push_str(&s);
        } else if left {
            out.push_str(&s);
            out.extend(std::iter::repeat_n(' ', w - len));
        } else {
            out.extend(std::iter::repeat_n(if zero { '0' } else { ' ' }, w - len));
            out.push_str(&s);
        }
    }
    for extra in next {
        out.push_str(&format!("%!(EXTRA {})", go_string(extra)));
    }
    out
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

/// Now as RFC 3339 in UTC with nanoseconds, Podman's container timestamps (`2026-12-03T15:47:56.123456789Z`).
/// Always nine digits, so the strings sort in time order (the state database orders by them).
pub fn now_rfc3339_nano() -> String {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let base = format_rfc3339(d.as_secs() as i64);
    format!("{}.{:09}Z", base.trim_end_matches('Z'), d.subsec_nanos())
}

/// Go's `time.Time.String()` in UTC for an RFC 3339 time, keeping its fraction
/// (`2026-12-03 15:47:56.123456789 +0000 UTC`); None when it cannot be parsed.
pub fn go_time_string_of(t: &str) -> Option<String> {
    let unix = parse_rfc3339(t)?;
    let frac = t
        .split_once('.')
        .map(|(_, f)| f.chars().take_while(char::is_ascii_digit).collect::<String>())
        .map(|f| f.trim_end_matches('0').to_string())
        .filter(|f| !f.is_empty());
    let s = format_rfc3339(unix);
    Some(match frac {
        Some(f) => format!("{} {}.{f} +0000 UTC", &s[..10], &s[11..19]),
        None => format!("{} {} +0000 UTC", &s[..10], &s[11..19]),
    })
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
        assert!(Template::parse("{{nofunc .Tag}}").is_err());
    }

    #[test]
    fn go_builtins_variables_and_parentheses() {
        let v = json!({"Names": ["a", "b"], "State": "running", "Name": "web", "Size": 3, "Ok": true,
            "Mounts": [{"Source": "/src", "Destination": "/dst"}], "Labels": {"z": "1", "a": "2"}});
        assert_eq!(r(r#"{{eq .State "running"}}"#, v.clone()), "true");
        assert_eq!(r(r#"{{eq .State "exited" "running"}}"#, v.clone()), "true");
        assert_eq!(r(r#"{{if eq .State "running"}}up{{else}}down{{end}}"#, v.clone()), "up");
        assert_eq!(r(r#"{{if eq .State "x"}}1{{else if eq .Name "web"}}2{{else}}3{{end}}"#, v.clone()), "2");
        assert_eq!(r(r#"{{ne .Size 3}} {{lt .Size 4}} {{ge .Size 3}} {{gt 1 2}}"#, v.clone()), "false true true false");
        assert_eq!(
            r("{{and .Ok .Name}} {{or .Nope2x .Name}} {{not .Ok}}", json!({"Ok": true, "Name": "n", "Nope2x": ""})),
            "n n false"
        );
        assert_eq!(r("{{index .Names 1}}", v.clone()), "b");
        assert_eq!(r(r#"{{index .Labels "z"}}"#, v.clone()), "1");
        assert_eq!(r("{{(index .Mounts 0).Source}}", v.clone()), "/src");
        assert_eq!(r("{{len (slice .Names 1)}}", v.clone()), "1");
        assert_eq!(r("{{range $i, $n := .Names}}{{$i}}={{$n}} {{end}}", v.clone()), "0=a 1=b ");
        assert_eq!(r("{{range $k, $v := .Labels}}{{$k}}:{{$v}},{{end}}", v.clone()), "a:2,z:1,");
        assert_eq!(r("{{$n := .Name}}{{range .Names}}{{$n}}/{{.}} {{end}}", v.clone()), "web/a web/b ");
        assert_eq!(r("{{range .Names}}{{$.Name}}{{end}}", v.clone()), "webweb");
        assert_eq!(r("{{with $m := index .Mounts 0}}{{$m.Destination}}{{end}}", v.clone()), "/dst");
        assert_eq!(r(r#"{{printf "%-5s|%3d|%q" .Name .Size .State}}"#, v.clone()), "web  |  3|\"running\"");
        assert_eq!(
            r(r#"{{join (split "a:b" ":") "-"}} {{truncate .State 3}} [{{pad .Name 1 2}}]"#, v.clone()),
            "a-b run [ web  ]"
        );
        assert_eq!(
            r("{{json .Names}} {{.Names | json}} {{upper .Name}} {{lower \"AB\"}}", v.clone()),
            r#"["a","b"] ["a","b"] WEB ab"#
        );
        assert_eq!(r("{{/* a comment */}}{{.Name}}{{- /* trimmed */ -}} !", v.clone()), "web!");
        assert_eq!(r("{{.Name | printf \"%s!\"}}", v.clone()), "web!");
        // Errors: unknown functions when parsing, unknown fields and bad types when executing.
        let err = |t: &str| match Template::parse(t) {
            Err(e) => e.to_string(),
            Ok(t) => t.render(&v).unwrap_err().to_string(),
        };
        assert_eq!(err("{{bogus .Name}}"), r#"template: function "bogus" not defined"#);
        assert_eq!(err("{{.Name | bogus}}"), r#"template: function "bogus" not defined"#);
        assert_eq!(err("{{.Bogus}}"), "template: can't evaluate field Bogus");
        assert!(err("{{range .Name}}{{end}}").contains("range can't iterate over web"));
        assert!(err("{{join .Name \",\"}}").contains("join"));
        assert!(err("{{index .Names 5}}").contains("out of range"));
        assert!(err(r#"{{eq .Size "3"}}"#).contains("incompatible types"));
        assert!(err("{{$nope}}").contains("undefined variable"));
        assert!(err("{{(index .Names 0}}").contains("paren"));
        assert!(err("{{if .Name}}x{{else}}").contains("missing {{end}}"));
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
        assert_eq!(
            go_time_string_of("2024-01-01T00:00:00.120000000Z").as_deref(),
            Some("2024-01-01 00:00:00.12 +0000 UTC")
        );
        assert_eq!(go_time_string_of("2024-01-01T00:00:00Z").as_deref(), Some("2024-01-01 00:00:00 +0000 UTC"));
        let a = now_rfc3339_nano();
        assert_eq!(a.len(), "2024-01-01T00:00:00.123456789Z".len(), "{a}");
        assert!(a < now_rfc3339_nano());
    }
}
