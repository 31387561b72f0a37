//! The renderers on fixture data: layouts are reviewed as snapshots (cargo insta review).

use super::sockets::{SocketRows, sort};
use super::summary::Summary;
use super::{Style, json, rows, who};
use crate::fixtures;

fn style(terminal: bool, width: u16) -> Style {
    Style {
        color: false,
        terminal,
        width,
        header: true,
    }
}

fn render(f: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> String {
    let mut out = Vec::new();
    f(&mut out).expect("rendering into memory");
    String::from_utf8(out).expect("UTF-8 output")
}

fn sorted_inventory() -> crate::model::Inventory {
    let mut inv = fixtures::inventory();
    sort(&mut inv.sockets, super::sockets::Order::Listeners);
    inv
}

#[test]
fn table_on_a_wide_terminal() {
    let inv = sorted_inventory();
    let text = render(|out| rows(out, &SocketRows { inventory: &inv }, &style(true, 140)));
    insta::assert_snapshot!(text);
}

#[test]
fn table_fitted_to_a_narrow_terminal() {
    let inv = sorted_inventory();
    let text = render(|out| rows(out, &SocketRows { inventory: &inv }, &style(true, 72)));
    assert!(
        text.lines().all(|l| l.chars().count() <= 72),
        "fits 72 columns:\n{text}"
    );
    insta::assert_snapshot!(text);
}

#[test]
fn table_survives_a_zero_width_terminal() {
    let inv = sorted_inventory();
    let text = render(|out| rows(out, &SocketRows { inventory: &inv }, &style(true, 0)));
    assert!(text.contains("LISTEN"));
}

#[test]
fn plain_columns_for_pipes() {
    let inv = sorted_inventory();
    let text = render(|out| rows(out, &SocketRows { inventory: &inv }, &style(false, 0)));
    insta::assert_snapshot!(text);
}

#[test]
fn plain_colour_when_forced() {
    let inv = sorted_inventory();
    let mut coloured = style(false, 0);
    coloured.color = true;
    let text = render(|out| rows(out, &SocketRows { inventory: &inv }, &coloured));
    assert!(text.contains("\x1b[32mLISTEN\x1b[0m"));
    // Padding is computed on the visible text: the column after State still lines up.
    let plain = render(|out| rows(out, &SocketRows { inventory: &inv }, &style(false, 0)));
    let strip = text.replace("\x1b[0m", "").replace("\x1b[2m", "");
    let strip = (30..=37).fold(strip, |s, c| s.replace(&format!("\x1b[{c}m"), ""));
    assert_eq!(strip, plain);
}

#[test]
fn json_sockets() {
    let inv = sorted_inventory();
    let text = render(|out| json::sockets(out, &inv));
    insta::assert_snapshot!(text);
}

#[test]
fn summary_table_and_json() {
    let inv = sorted_inventory();
    let summary = Summary::of(&inv.sockets);
    let table = render(|out| rows(out, &summary.rows(), &style(false, 0)));
    insta::assert_snapshot!("summary_plain", table);
    let text = render(|out| json::value(out, &summary));
    insta::assert_snapshot!("summary_json", text);
}

#[test]
fn who_lines() {
    let inv = sorted_inventory();
    let text = render(|out| who::write(out, &inv));
    insta::assert_snapshot!(text);
}

#[test]
fn watch_screen_rows_with_marks() {
    use super::watch::{Mark, ScreenRows};
    use crate::model::TcpState;
    let inv = sorted_inventory();
    let marks: Vec<Mark> = (0..inv.sockets.len())
        .map(|i| match i {
            0 => Mark::New,
            1 => Mark::Grew,
            6 => Mark::Changed(TcpState::SynSent),
            11 => Mark::Gone,
            _ => Mark::Plain,
        })
        .collect();
    let text = render(|out| rows(out, &ScreenRows::new(&inv, &marks), &style(false, 0)));
    insta::assert_snapshot!(text);
}

#[test]
fn ephemeral_report_text() {
    use crate::model::PortSettings;
    let inv = sorted_inventory();
    let settings = PortSettings {
        range: (40000, 40400),
        reserved: vec![(40100, 40109)],
        unprivileged_port_start: Some(1024),
        tcp_tw_reuse: Some(2),
        tcp_fin_timeout: Some(60),
    };
    let mut sockets = inv.sockets.clone();
    for (i, s) in sockets.iter_mut().enumerate() {
        // Move the fixture's client ports into the range.
        if s.local.port > 40000 {
            s.local.port = 40300 + i as u16;
        }
    }
    let inv = crate::model::Inventory { sockets, ..inv };
    let report = crate::ephemeral::report::build(
        &settings,
        &inv.sockets,
        &crate::ephemeral::report::BindHeld::none(),
    );
    let text = render(|out| super::ephemeral::text(out, &report, &inv, &style(false, 0)));
    insta::assert_snapshot!(text);
}
