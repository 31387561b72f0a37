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

/// At 60, 80, 100 and 160 columns: one line per socket (no value split across lines), User
/// dropped first, then program names cut short, then the queues.
#[test]
fn table_fitted_to_the_terminal() {
    let inv = sorted_inventory();
    for width in [60u16, 80, 100, 160] {
        let text = render(|out| rows(out, &SocketRows { inventory: &inv }, &style(true, width)));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines.len(),
            inv.sockets.len() + 2,
            "one line a row:\n{text}"
        );
        for (line, s) in lines[2..].iter().zip(&inv.sockets) {
            assert!(line.contains(s.state.name()), "{line}");
            let mut local = String::new();
            super::text::column_endpoint(&s.local, s.iface.as_deref(), &mut local);
            assert!(line.contains(&local), "{local} whole in {line}");
            for pid in &s.pids {
                assert!(
                    line.split([' ', ',', '/']).any(|t| t == pid.to_string()),
                    "pid {pid} whole in {line}"
                );
            }
        }
        // From 80 columns only the link-local row (its address alone is 34 characters) runs
        // past the edge; at 60 the columns that are never cut are wider than the terminal.
        let over = |l: &&&str| l.chars().count() > usize::from(width);
        if width >= 80 {
            assert!(
                lines.iter().filter(over).all(|l| l.contains("fe80::")),
                "{text}"
            );
        }
        insta::assert_snapshot!(format!("table_at_{width}_columns"), text);
    }
}

/// At 60 columns, IPv4-mapped addresses on both ends leave five characters for the owner:
/// the pid alone, rather than a row the terminal wraps after the pid's first digits.
#[test]
fn the_narrowest_owner_is_the_pid_alone() {
    let mut inv = sorted_inventory();
    inv.sockets.retain(|s| s.iface.is_none());
    for s in inv.sockets.iter_mut().filter(|s| !s.pids.is_empty()) {
        s.pids = vec![24259];
    }
    let text = render(|out| rows(out, &SocketRows { inventory: &inv }, &style(true, 60)));
    for line in text.lines() {
        assert!(line.chars().count() <= 60, "{line:?} in\n{text}");
    }
    assert!(text.contains("LISTEN       24259\n"), "{text}");
    assert!(text.contains("^127.0.0.1:40400  ESTABLISHED"), "{text}");
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
    let text = render(|out| who::write(out, &inv, false));
    insta::assert_snapshot!(text);
}

#[test]
fn watch_screen_rows_with_marks() {
    use super::watch::{Mark, ScreenRows};
    use crate::model::TcpState;
    let inv = sorted_inventory();
    let marks: Vec<Mark> = (0..inv.sockets.len() + inv.unix.len())
        .map(|i| match i {
            0 => Mark::New,
            1 => Mark::Grew,
            6 => Mark::Changed(TcpState::SynSent),
            _ if i == inv.sockets.len() - 1 => Mark::Gone,
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
        // A UDP socket on a range port: listed apart from TCP's bound ports.
        if s.local.port == 53 {
            s.local.port = 40390;
        }
    }
    let inv = crate::model::Inventory { sockets, ..inv };
    let report = crate::ephemeral::report::build(
        &settings,
        &inv.sockets,
        &crate::ephemeral::report::BindHeld::none(),
    );
    let text = render(|out| super::ephemeral::text(out, &report, &inv, &style(false, 0)));
    let (tcp, udp) = text
        .split_once("UDP sockets on range ports")
        .expect("a UDP section");
    assert!(!tcp.contains("udp "), "{text}");
    assert!(udp.contains("udp   127.0.0.53:40390"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn across_namespaces_table_who_summary_and_json() {
    let mut inv = fixtures::across_namespaces();
    sort(&mut inv.sockets, super::sockets::Order::Listeners);
    super::sockets::sort_unix(&mut inv.unix, super::sockets::Order::Listeners);
    let table = render(|out| rows(out, &super::places::PlacedRows::new(&inv), &style(false, 0)));
    insta::assert_snapshot!("across_table", table);
    let mut text = render(|out| who::write(out, &inv, false));
    text += &render(|out| who::write_unix(out, &inv, &[5000].into()));
    insta::assert_snapshot!("across_who", text);
    let summaries = super::places::NetnsSummary::of(&inv, true);
    let counts = render(|out| {
        rows(
            out,
            &super::places::NetnsSummaryRows::new(&inv, &summaries),
            &style(false, 0),
        )
    });
    insta::assert_snapshot!("across_summary", counts);
    let lines = render(|out| json::sockets(out, &inv));
    insta::assert_snapshot!("across_json", lines);
    let summary_json = render(|out| json::array(out, &summaries));
    insta::assert_snapshot!("across_summary_json", summary_json);
    // The live screen: Netns and Container after the mark, the state change and the grown
    // queues still in their columns.
    use super::watch::{Mark, ScreenRows};
    let marks: Vec<Mark> = (0..inv.sockets.len() + inv.unix.len())
        .map(|i| match i {
            1 => Mark::Grew,
            6 => Mark::Changed(crate::model::TcpState::SynSent),
            _ => Mark::Plain,
        })
        .collect();
    let screen = render(|out| rows(out, &ScreenRows::new(&inv, &marks), &style(false, 0)));
    insta::assert_snapshot!("across_watch_screen", screen);
}

/// The live screen at 80×20 keeps its title, header and status line: the title is cut to the
/// width, and the rows that do not fit are counted, not scrolled in.
#[test]
fn watch_screen_at_80_by_20() {
    use super::watch::{Mark, ScreenRows, room, screen};
    let inv = sorted_inventory();
    let title = "portscope watch — 12 sockets: CLOSE_WAIT 1 · ESTABLISHED 2 · FIN_WAIT2 1 · \
                 LISTEN 4 · SYN_RECV 1 · TIME_WAIT 1 · UNCONN 2 — since last look: +1 −0 ~1";
    let status = "every 1.00 s · q quit · p pause · s sort (listeners, port)";
    for height in [20u16, 10] {
        let mut shown = inv.clone();
        let hidden = shown.sockets.len().saturating_sub(room(height, 1));
        shown.sockets.truncate(room(height, 1));
        let marks = vec![Mark::Plain; shown.sockets.len()];
        let rows = ScreenRows::new(&shown, &marks);
        let text = render(|out| screen(out, &[title], &rows, hidden, status, &style(true, 80)));
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.len() <= usize::from(height), "{text}");
        assert!(
            lines[0].starts_with("portscope watch — 12 sockets"),
            "{text}"
        );
        assert!(lines[0].chars().count() <= 80, "{text}");
        assert!(lines[1].starts_with("   Proto"), "{text}");
        assert_eq!(lines[lines.len() - 1], status);
        assert_eq!(hidden > 0, text.contains(&format!("… {hidden} more rows")));
        if height == 20 {
            assert!(
                lines
                    .iter()
                    .all(|l| l.chars().count() <= 80 || l.contains("fe80::"))
            );
            // The room Send-Q leaves goes back to the program names cut before it went.
            assert_eq!(lines[2].chars().count(), 80, "{text}");
            insta::assert_snapshot!("watch_screen_at_80_by_20", text);
        } else {
            assert_eq!(lines.len(), usize::from(height), "{text}");
        }
    }
}

fn sorted_with_unix() -> crate::model::Inventory {
    let mut inv = fixtures::with_unix();
    sort(&mut inv.sockets, super::sockets::Order::Listeners);
    super::sockets::sort_unix(&mut inv.unix, super::sockets::Order::Listeners);
    inv
}

/// `ls -tux`: TCP and UDP rows, then Unix rows whose foreign side is the peer's process.
#[test]
fn unix_rows_in_plain_columns() {
    let inv = sorted_with_unix();
    let text = render(|out| rows(out, &SocketRows { inventory: &inv }, &style(false, 0)));
    assert!(
        !text.contains('\x1b') && !text.contains("evil\n"),
        "a hostile path is escaped:\n{text}"
    );
    insta::assert_snapshot!(text);
}

#[test]
fn unix_rows_fitted_to_a_terminal() {
    let inv = sorted_with_unix();
    let text = render(|out| rows(out, &SocketRows { inventory: &inv }, &style(true, 110)));
    assert!(text.lines().all(|l| l.chars().count() <= 110), "{text}");
    assert!(text.contains("u_seq"), "{text}");
}

/// JSON carries the hostile path exactly; the Unix objects have their own keys.
#[test]
fn unix_json() {
    let inv = sorted_with_unix();
    let text = render(|out| json::sockets(out, &inv));
    let parsed: Vec<serde_json::Value> = serde_json::from_str(&text).expect("JSON");
    let evil = parsed
        .iter()
        .find(|v| v["inode"] == 5010)
        .expect("the hostile path");
    assert_eq!(evil["path"], "/tmp/evil\n\x1b[2J.sock");
    let unix_only: Vec<&str> = text.lines().filter(|l| l.contains("\"unix\"")).collect();
    let unix_only = unix_only.join("\n");
    insta::assert_snapshot!(unix_only);
}

#[test]
fn who_unix_lines() {
    let inv = sorted_with_unix();
    let app: std::collections::HashSet<u32> = inv
        .unix
        .iter()
        .filter(|s| s.path.as_deref() == Some("/run/app.sock"))
        .map(|s| s.inode)
        .collect();
    let mut text = render(|out| who::write_unix(out, &inv, &app));
    let log = std::collections::HashSet::from([5006]);
    text.push_str(&render(|out| who::write_unix(out, &inv, &log)));
    insta::assert_snapshot!(text);
}

/// A socket's further holders line up under its first, whatever the characters before.
#[test]
fn who_holders_line_up() {
    let inv = sorted_with_unix();
    let mut text = render(|out| who::write(out, &inv, false));
    let all: std::collections::HashSet<u32> = inv.unix.iter().map(|s| s.inode).collect();
    text.push_str(&render(|out| who::write_unix(out, &inv, &all)));
    let column = |line: &str| line.chars().position(|c| c == '—');
    let mut first = None;
    let mut continued = 0;
    for line in text.lines() {
        if line.starts_with(' ') && !line.trim_start().starts_with("client") {
            assert_eq!(column(line), first, "{text}");
            continued += 1;
        } else {
            first = column(line);
        }
    }
    assert!(continued > 0, "a shared socket is in the fixture: {text}");
}

#[test]
fn summary_with_unix() {
    let inv = sorted_with_unix();
    let summary = Summary::of(&inv.sockets).with_unix(&inv.unix);
    let table = render(|out| rows(out, &summary.rows(), &style(false, 0)));
    let text = render(|out| json::value(out, &summary));
    insta::assert_snapshot!(format!("{table}\n{text}"));
}
