//! `events`: show what happened (and, by default, keep following).

use anyhow::Result;
use clap::Args;
use std::io::Write;

use crate::context::Context;
use crate::events::{self, Filter};

#[derive(Args, Debug, Clone, Default)]
pub struct EventsArgs {
    /// Filter output (container=, event=, image=, label=, type=, volume=)
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Format the output using a Go template or json
    #[arg(long)]
    pub format: Option<String>,
    /// Show all events created since timestamp (RFC 3339, Unix seconds or a duration like 10m)
    #[arg(long)]
    pub since: Option<String>,
    /// Show all events until timestamp
    #[arg(long)]
    pub until: Option<String>,
    /// Stream events and do not exit when returning the last known event
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub stream: bool,
    /// Do not truncate the output
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub no_trunc: bool,
}

/// A time option in Unix nanoseconds (RFC 3339 keeps its fraction).
fn parse_time_nanos(s: &str) -> Result<i64> {
    let secs = crate::logs::parse_time(s)?;
    let frac = crate::format::parse_rfc3339(s)
        .and_then(|_| s.split_once('.'))
        .map(|(_, rest)| rest.chars().take_while(|c| c.is_ascii_digit()).collect::<String>())
        .filter(|d| !d.is_empty())
        .map(|d| format!("{d:0<9}")[..9].parse::<i64>().unwrap_or(0))
        .unwrap_or(0);
    Ok(secs * 1_000_000_000 + frac)
}

pub fn events(ctx: &Context, a: EventsArgs) -> Result<i32> {
    let mut filter = Filter::parse(&a.filter)?;
    filter.since = a.since.as_deref().map(parse_time_nanos).transpose()?;
    filter.until = a.until.as_deref().map(parse_time_nanos).transpose()?;
    let template = match a.format.as_deref() {
        None | Some("json") => None,
        Some(t) => Some(crate::format::Template::parse(t)?),
    };
    let json = a.format.as_deref().is_some_and(|f| f.trim() == "json");
    // Podman starts from the beginning of the log when asked for a window or for no stream.
    let from_start = !a.stream || filter.since.is_some() || filter.until.is_some();
    let mut sink = |e: &events::Event| -> Result<bool> {
        if !filter.matches(e) {
            return Ok(true);
        }
        let mut line = if json {
            serde_json::to_string(e)?
        } else if let Some(t) = &template {
            t.render(&e.template_value())?
        } else {
            let mut e = e.clone();
            if !a.no_trunc && e.id.len() > 12 {
                e.id.truncate(12);
            }
            e.human()
        };
        if !line.ends_with('\n') {
            line.push('\n');
        }
        let mut out = std::io::stdout().lock();
        // A closed pipe (`events | head`) ends the command quietly.
        if out.write_all(line.as_bytes()).and_then(|_| out.flush()).is_err() {
            return Ok(false);
        }
        Ok(true)
    };
    events::read(&ctx.storage_root, from_start, a.stream, filter.until, &mut sink)?;
    Ok(0)
}
