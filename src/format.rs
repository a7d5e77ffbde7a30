//! Output formatting: Podman-style tables and a subset of Go templates (`{{.Field}}`, `json`, `table`).

/// The current time as RFC 3339 (UTC, seconds), without pulling in a date crate.
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    rfc3339(secs as i64)
}

/// Unix seconds → `YYYY-MM-DDTHH:MM:SSZ` (proleptic Gregorian, civil-from-days).
pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// The current time with nanoseconds, as Podman's k8s-file logs write it (`2026-12-03T15:47:56.123456789+00:00`).
pub fn now_rfc3339_nanos() -> String {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let base = rfc3339(d.as_secs() as i64);
    format!("{}.{:09}+00:00", base.trim_end_matches('Z'), d.subsec_nanos())
}

/// `YYYY-MM-DDTHH:MM:SS[.frac](Z|+00:00|±HH:MM)` → Unix seconds.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 19 {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d, h, mi, se) = (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = &s[19..];
    if let Some(r) = rest.strip_prefix('.') {
        rest = r.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let offset = match rest {
        "" | "Z" => 0,
        _ => {
            let sign = if rest.starts_with('-') { -1 } else { 1 };
            let hh: i64 = rest.get(1..3)?.parse().ok()?;
            let mm: i64 = rest.get(4..6)?.parse().ok()?;
            sign * (hh * 3600 + mm * 60)
        }
    };
    // days from civil (inverse of rfc3339 above)
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + se - offset)
}

/// Podman's "human" durations: "Less than a second", "5 seconds", "About a minute", "3 hours", ...
pub fn human_duration(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0 => "Less than a second".into(),
        1 => "1 second".into(),
        2..=59 => format!("{s} seconds"),
        60..=119 => "About a minute".into(),
        120..=3599 => format!("{} minutes", s / 60),
        3600..=7199 => "About an hour".into(),
        7200..=172_799 => format!("{} hours", s / 3600),
        172_800..=1_209_599 => format!("{} days", s / 86_400),
        1_209_600..=5_183_999 => format!("{} weeks", s / 604_800),
        5_184_000..=63_071_999 => format!("{} months", s / 2_592_000),
        _ => format!("{} years", s / 31_536_000),
    }
}

/// Seconds since an RFC 3339 time (0 when it cannot be parsed).
pub fn seconds_since(t: &str) -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    parse_rfc3339(t).map(|x| now - x).unwrap_or(0)
}

#[cfg(test)]
mod time_tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips() {
        for t in [0i64, 951_782_400, 1_704_067_200, 1_796_310_000] {
            assert_eq!(parse_rfc3339(&rfc3339(t)), Some(t));
        }
        assert_eq!(parse_rfc3339("2024-01-01T00:00:00.123456789+00:00"), Some(1_704_067_200));
        assert_eq!(parse_rfc3339("2024-01-01T01:00:00+01:00"), Some(1_704_067_200));
        assert_eq!(human_duration(5), "5 seconds");
        assert_eq!(human_duration(7300), "2 hours");
    }
}

/// Columns separated by at least two spaces... Podman aligns with tabwriter (padding 2).
pub fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(|r| r.len()).max().unwrap_or(0);
    let mut widths = vec![0; cols];
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate() {
            line.push_str(c);
            if i + 1 < r.len() {
                line.push_str(&" ".repeat(widths[i] - c.chars().count() + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Render a Go template over a JSON value: `{{.Field}}`, `{{.A.B}}`, `{{json .X}}`, `{{"\n"}}`, with a
/// `table ` prefix dropped, and `\t` and `\n` escapes honoured.
pub fn render_simple(tpl: &str, v: &serde_json::Value) -> String {
    let tpl = tpl.strip_prefix("table ").unwrap_or(tpl).replace("\\t", "\t").replace("\\n", "\n");
    let mut out = String::new();
    let mut rest = tpl.as_str();
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let expr = rest[start + 2..start + end].trim();
        out.push_str(&eval_expr(expr, v));
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    out
}

fn eval_expr(expr: &str, v: &serde_json::Value) -> String {
    if let Some(lit) = expr.strip_prefix('"').and_then(|e| e.strip_suffix('"')) {
        return lit.replace("\\n", "\n").replace("\\t", "\t");
    }
    let (json, path) = match expr.strip_prefix("json ") {
        Some(p) => (true, p.trim()),
        None => (false, expr),
    };
    let mut cur = v;
    for part in path.trim_start_matches('.').split('.').filter(|p| !p.is_empty()) {
        // Go templates name struct fields (`.Store.GraphRoot`); Podman's JSON often starts them lower case.
        let lower: String = part.chars().next().map(|c| c.to_lowercase().collect::<String>() + &part[c.len_utf8()..]).unwrap_or_default();
        cur = match cur.get(part).or_else(|| cur.get(&lower)) {
            Some(x) => x,
            None => &serde_json::Value::Null,
        };
    }
    if json {
        return cur.to_string();
    }
    go_value(cur)
}

/// A JSON value printed the way Go's text/template prints the Go value it came from.
pub fn go_value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "<no value>".into(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(a) => format!("[{}]", a.iter().map(go_value).collect::<Vec<_>>().join(" ")),
        serde_json::Value::Object(m) => {
            format!("map[{}]", m.iter().map(|(k, x)| format!("{k}:{}", go_value(x))).collect::<Vec<_>>().join(" "))
        }
        other => other.to_string(),
    }
}

/// A JSON value as the YAML-like text `podman info` prints.
pub fn yaml(v: &serde_json::Value, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut out = String::new();
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                match x {
                    serde_json::Value::Object(o) if !o.is_empty() => {
                        out.push_str(&format!("{pad}{k}:\n{}", yaml(x, indent + 2)))
                    }
                    serde_json::Value::Array(a) if !a.is_empty() => {
                        out.push_str(&format!("{pad}{k}:\n"));
                        for item in a {
                            let inner = yaml(item, indent + 2);
                            let inner = inner.trim_start();
                            out.push_str(&format!("{pad}- {}", if inner.contains('\n') { inner.to_string() } else { format!("{inner}\n") }));
                        }
                    }
                    _ => out.push_str(&format!("{pad}{k}: {}\n", scalar(x))),
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", scalar(other))),
    }
    out
}

fn scalar(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) if s.is_empty() => "\"\"".into(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(_) => "[]".into(),
        serde_json::Value::Object(_) => "{}".into(),
        other => other.to_string(),
    }
}
