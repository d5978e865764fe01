//! Output of client commands: a human table by default, JSON with `--json`.

use std::io::Write as _;

use serde::Serialize;
use zhongtai_contracts::common::v1::PageResponse;

/// Writes one line to stdout. A reader that went away (`| head`) ends the
/// command quietly, as it would end any Unix tool; other write failures
/// are reported.
pub fn emit(line: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(error) = writeln!(out, "{line}") {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write the output: {error}");
        std::process::exit(1);
    }
}

/// Prints `value` as pretty JSON.
pub fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    emit(&serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Prints a contract message as canonical protobuf JSON.
pub fn print_proto_json<M: prost::Message + prost::Name>(message: &M) -> anyhow::Result<()> {
    print_json(&zhongtai_contracts::json::to_json(message)?)
}

/// Columns a terminal gives a character: two for CJK ideographs, kana,
/// hangul and full-width forms, one otherwise, so tables of Chinese names
/// line up.
fn display_width(text: &str) -> usize {
    text.chars()
        .map(|c| match u32::from(c) {
            0x1100..=0x115F
            | 0x2E80..=0x303E
            | 0x3041..=0x33FF
            | 0x3400..=0x4DBF
            | 0x4E00..=0x9FFF
            | 0xA000..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6
            | 0x20000..=0x3FFFD => 2,
            _ => 1,
        })
        .sum()
}

/// Prints rows as aligned columns under `headers`, or `(none)`.
pub fn print_table(headers: &[&str], rows: &[Vec<String>]) {
    if rows.is_empty() {
        emit("(none)");
        return;
    }
    let mut widths: Vec<usize> = headers.iter().map(|h| display_width(h)).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(width) = widths.get_mut(i) {
                *width = (*width).max(display_width(cell));
            }
        }
    }
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let width = widths.get(i).copied().unwrap_or(0);
                let pad = width.saturating_sub(display_width(c));
                format!("{c}{}", " ".repeat(pad))
            })
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    emit(&line(headers.iter().map(|h| h.to_string()).collect()));
    for row in rows {
        emit(&line(row.clone()));
    }
}

/// Prints `label: value` lines with the values aligned; empty values are
/// left out.
pub fn print_details(pairs: &[(&str, String)]) {
    let width = pairs
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(label, _)| display_width(label))
        .max()
        .unwrap_or(0);
    for (label, value) in pairs.iter().filter(|(_, value)| !value.is_empty()) {
        let pad = width.saturating_sub(display_width(label));
        emit(&format!("{label}:{}  {value}", " ".repeat(pad)));
    }
}

/// A heading between the parts of a detailed view.
pub fn print_section(title: &str) {
    emit("");
    emit(title);
}

/// Tells how to fetch the next page, when there is one.
pub fn print_next_page(page: Option<&PageResponse>) {
    if let Some(page) = page.filter(|p| !p.next_page_token.is_empty()) {
        emit(&format!("next page: --page-token {}", page.next_page_token));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_text_is_two_columns_wide() {
        assert_eq!(display_width("婚姻登记信息"), 12);
        assert_eq!(display_width("marriage"), 8);
        assert_eq!(display_width("（营业执照）"), 12);
    }
}
