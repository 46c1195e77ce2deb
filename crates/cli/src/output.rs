//! How results reach the terminal: data on stdout, warnings and errors on stderr.

use std::fmt::Display;
use std::io::{self, Write};

use anyhow::Result;
use serde::Serialize;

/// `-o` for list commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ListFormat {
    /// Aligned columns, as kubectl prints them, narrow enough for 80 columns
    Table,
    /// Aligned columns, all of them
    Wide,
    Json,
    Yaml,
    /// Names only, one per line
    Name,
}

/// `-o` for documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DocFormat {
    Yaml,
    Json,
}

/// Prints rows in the chosen format; `cells` gives a row's table cells, `name` its name. The
/// table shows the columns `narrow` names (all when it is empty), `-o wide` all of them.
pub(crate) fn list<'a, T: Serialize, const COLUMNS: usize>(
    format: ListFormat,
    rows: &'a [T],
    (headers, narrow): ([&'a str; COLUMNS], &[&str]),
    cells: impl Fn(&'a T) -> [&'a str; COLUMNS],
    name: impl Fn(&T) -> &str,
) -> Result<()> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    match format {
        ListFormat::Table | ListFormat::Wide => {
            let shown: Vec<usize> = (0..COLUMNS)
                .filter(|&i| {
                    format == ListFormat::Wide || narrow.is_empty() || narrow.contains(&headers[i])
                })
                .collect();
            let pick = |row: [&'a str; COLUMNS]| shown.iter().map(|&i| row[i]).collect::<Vec<_>>();
            let table: Vec<Vec<&str>> = std::iter::once(pick(headers))
                .chain(rows.iter().map(|row| pick(cells(row))))
                .collect();
            write_table(&mut out, &table)?;
        }
        ListFormat::Name => {
            for row in rows {
                writeln!(out, "{}", name(row))?;
            }
        }
        ListFormat::Json | ListFormat::Yaml => document(&mut out, doc_format(format), rows)?,
    }
    out.flush()?;
    Ok(())
}

fn doc_format(format: ListFormat) -> DocFormat {
    if format == ListFormat::Json {
        DocFormat::Json
    } else {
        DocFormat::Yaml
    }
}

/// Writes one value as pretty JSON or YAML.
pub(crate) fn document<T: Serialize + ?Sized>(
    out: &mut impl Write,
    format: DocFormat,
    value: &T,
) -> Result<()> {
    match format {
        DocFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, value)?;
            writeln!(out)?;
        }
        DocFormat::Yaml => out.write_all(serde_yaml_ng::to_string(value)?.as_bytes())?,
    }
    Ok(())
}

/// Rows (the headers first) in columns padded to the widest cell, three spaces apart, no
/// trailing blanks.
fn write_table(out: &mut impl Write, table: &[Vec<&str>]) -> io::Result<()> {
    let columns = table.first().map_or(0, Vec::len);
    let mut widths = vec![0; columns];
    for row in table {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut line = String::new();
    for row in table {
        line.clear();
        for (i, (cell, width)) in row.iter().zip(&widths).enumerate() {
            line.push_str(cell);
            if i + 1 < columns {
                line.extend(std::iter::repeat_n(' ', width - cell.chars().count() + 3));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// Where the context in use came from, for `auth status` and `auth current-context -v`.
pub(crate) fn chosen_from(chosen: tokenctl_core::internal::config::Chosen) -> String {
    use tokenctl_core::internal::config::{Chosen, here};
    match (chosen, here::current().path()) {
        (Chosen::Asked, _) => "from --context or TOKENCTL_CONTEXT".to_owned(),
        (Chosen::Directory, Some(path)) => format!("from {}", path.display()),
        (Chosen::Directory, None) => "from a .tokenctl file".to_owned(),
        (Chosen::CurrentContext, _) => "from current-context".to_owned(),
        (Chosen::OnlyContext, _) => "the only context; no current-context is set".to_owned(),
    }
}

/// Says a line to the person on stderr as `eprintln!` would, except that a closed stderr is
/// no reason to panic: the command's work is done, or its exit status says why not.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::output::say_line(::std::format_args!($($arg)*))
    };
}
pub(crate) use say;

/// What [`say!`] writes.
pub(crate) fn say_line(line: std::fmt::Arguments<'_>) {
    let _ = writeln!(io::stderr().lock(), "{line}");
}

/// Writes `text` to stderr without ending the line: a question the answer is typed after, or
/// the clearing of a countdown line.
pub(crate) fn put(text: &str) -> io::Result<()> {
    let mut stderr = io::stderr().lock();
    stderr.write_all(text.as_bytes())?;
    stderr.flush()
}

/// One line of data on stdout. A reader that went away comes back as an error, which
/// [`is_broken_pipe`] recognises.
pub(crate) fn data_line(line: impl Display) -> io::Result<()> {
    writeln!(io::stdout().lock(), "{line}")
}

/// `lead` then `text` wrapped at its words to `width` columns, each further line indented under
/// the text's start (a hanging indent), for lists that must fit 80 columns.
pub(crate) fn hanging(lead: &str, text: &str, width: usize) -> String {
    fill(text.split_whitespace(), lead, lead.chars().count(), width).join("\n")
}

/// Words filled greedily onto lines of at most `width` columns: the first line starts with
/// `lead`, the others with `indent` spaces. (Hand-written: two short lists need no wrapping
/// crate.)
pub(crate) fn fill<'a>(
    words: impl IntoIterator<Item = &'a str>,
    lead: &str,
    indent: usize,
    width: usize,
) -> Vec<String> {
    let mut lines = vec![lead.to_owned()];
    let mut empty = true;
    for word in words {
        let line = lines.last_mut().expect("one line at least");
        if !empty && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(" ".repeat(indent));
        } else if !empty {
            line.push(' ');
        }
        lines.last_mut().expect("one line at least").push_str(word);
        empty = false;
    }
    lines
}

/// `warning: …` on stderr.
pub(crate) fn warn(warning: impl Display) {
    say!("warning: {warning}");
}

pub(crate) fn warnings(warnings: &[String]) {
    for warning in warnings {
        warn(warning);
    }
}

/// The keys of the contexts files tokenctl does not know, each with the closest known key.
pub(crate) fn notices(set: &tokenctl_core::internal::config::ConfigSet) {
    for notice in set.notices() {
        warn(notice);
    }
}

/// `error: …` with the causes, on one line where they fit. A closed stdout (`| head`) is
/// not an error worth a word.
pub(crate) fn error(err: &anyhow::Error) {
    say!("error: {err:#}");
}

/// Whether `err` is a write to a pipe whose reader has gone.
pub(crate) fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        let io_kind = cause
            .downcast_ref::<io::Error>()
            .map(io::Error::kind)
            .or_else(|| cause.downcast_ref::<serde_json::Error>()?.io_error_kind());
        io_kind == Some(io::ErrorKind::BrokenPipe)
    })
}

/// A table cell for how long an access token has left: `in 52m`, `expired`, or empty.
pub(crate) fn expires_cell(expires_in_seconds: Option<i64>) -> String {
    match expires_in_seconds {
        Some(left) if left > 0 => format!(
            "in {}",
            tokenctl_core::internal::clock::human_duration(left)
        ),
        Some(_) => "expired".to_owned(),
        None => String::new(),
    }
}

/// `2026-02-15T14:30:00Z` for seconds since the epoch (UTC; proleptic Gregorian calendar).
pub(crate) fn rfc3339(unix: i64) -> String {
    // humantime writes years up to 9999 only; a provider's `exp` can say anything.
    const LAST: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z
    let seconds = unix.clamp(0, LAST).unsigned_abs();
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds);
    humantime::format_rfc3339_seconds(at).to_string()
}

#[cfg(test)]
mod tests {
    use super::rfc3339;

    #[test]
    fn long_entries_wrap_under_their_text() {
        let text = super::hanging(
            "  keycloak  ",
            "Keycloak realm (browser, device, password, client credentials, token exchange)",
            60,
        );
        assert_eq!(
            text,
            "  keycloak  Keycloak realm (browser, device, password,\n            client credentials, token exchange)"
        );
        assert!(text.lines().all(|line| line.chars().count() <= 60));
    }

    #[test]
    fn formats_utc_timestamps() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_771_165_800), "2026-02-15T14:30:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        // A provider's `exp` past what RFC 3339 can write, or before 1970: clamped, no panic.
        assert_eq!(rfc3339(i64::MAX), "9999-12-31T23:59:59Z");
        assert_eq!(rfc3339(-5), "1970-01-01T00:00:00Z");
    }
}
