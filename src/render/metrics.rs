//! The exporter's look as Prometheus metrics, encoded by the `prometheus-client` crate in
//! the Prometheus text format or OpenMetrics. Names and labels are the contract of
//! docs/exporter.md; every family has HELP text and series are built fresh for each look.

use prometheus_client::encoding::{
    EncodeGaugeValue, EncodeMetric, MetricEncoder, prometheus_text, text,
};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

use crate::exporter::look::Look;
use crate::exporter::{Format, Snapshot};
use crate::model::Proto;

type Labels = Vec<(&'static str, String)>;

/// The series of one gauge family, in the order given (prometheus-client's own `Family`
/// keeps a hash map, which would shuffle the output from one scrape to the next).
#[derive(Debug)]
struct Gauges<V>(Vec<(Labels, V)>);

impl<V: EncodeGaugeValue> EncodeMetric for Gauges<V> {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        for (labels, value) in &self.0 {
            encoder.encode_family(labels)?.encode_gauge(value)?;
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Gauge
    }
}

/// The snapshot in the asked format.
pub fn encode(snapshot: &Snapshot, format: Format) -> String {
    let registry = registry(snapshot);
    let mut out = String::with_capacity(16 * 1024);
    // Writing into a String cannot fail.
    let _ = match format {
        Format::Prometheus => prometheus_text::encode(&mut out, &registry),
        Format::OpenMetrics => text::encode(&mut out, &registry),
    };
    out
}

fn gauge<V>(registry: &mut Registry, name: &str, help: &str, rows: Vec<(Labels, V)>)
where
    V: EncodeGaugeValue + std::fmt::Debug + Send + Sync + 'static,
{
    registry.register(name, help, Gauges(rows));
}

fn seconds(registry: &mut Registry, name: &str, help: &str, rows: Vec<(Labels, f64)>) {
    registry.register_with_unit(name, help, Unit::Seconds, Gauges(rows));
}

fn labels<const N: usize>(pairs: [(&'static str, &str); N]) -> Labels {
    pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
}

fn registry(snapshot: &Snapshot) -> Registry {
    let mut registry = Registry::default();
    let look = &snapshot.look;
    sockets(&mut registry, look);
    listeners(&mut registry, look);
    ephemeral(&mut registry, look);
    if let Some(counters) = look.listen_counters {
        registry.register(
            "portscope_tcp_listen_overflows",
            "Times a full accept queue made the kernel drop a finished handshake \
             (TcpExt ListenOverflows)",
            ConstCounter::new(counters.overflows),
        );
        registry.register(
            "portscope_tcp_listen_drops",
            "Incoming connections dropped by listeners for any reason, overflows included \
             (TcpExt ListenDrops)",
            ConstCounter::new(counters.drops),
        );
    }
    probes(&mut registry, look);
    gauge(
        &mut registry,
        "portscope_owners_visible",
        "1 when every process's sockets could be read; 0 when some owners are hidden \
         (run as root to see them all)",
        vec![(Vec::new(), u64::from(look.owners_visible))],
    );
    seconds(
        &mut registry,
        "portscope_scrape_duration",
        "How long this look at the host took",
        vec![(Vec::new(), snapshot.duration.as_secs_f64())],
    );
    registry.register(
        "portscope_scrape_errors",
        "Looks at the host that could not read everything (stderr says what)",
        ConstCounter::new(snapshot.errors_total),
    );
    registry.register(
        "portscope_build",
        "The portscope version serving these metrics",
        Info::new(labels([("version", env!("CARGO_PKG_VERSION"))])),
    );
    registry
}

fn sockets(registry: &mut Registry, look: &Look) {
    let rows = look
        .sockets
        .iter()
        .map(|(proto, family, state, n)| {
            let l = [
                ("proto", proto.name()),
                ("family", family.name()),
                ("state", state.name()),
            ];
            (labels(l), *n)
        })
        .collect();
    gauge(
        registry,
        "portscope_sockets",
        "Sockets by protocol, address family and state",
        rows,
    );
}

fn listeners(registry: &mut Registry, look: &Look) {
    let mut connections = Vec::new();
    let mut queue = Vec::new();
    let mut backlog = Vec::new();
    for l in &look.listeners {
        let port = l.port_label();
        for (state, n) in &l.connections {
            let l = [
                ("proto", l.proto.name()),
                ("port", &port),
                ("process", &l.process),
                ("state", state.name()),
            ];
            connections.push((labels(l), *n));
        }
        if l.proto == Proto::Tcp {
            let at = labels([("port", &port), ("process", &l.process)]);
            queue.push((at.clone(), l.accept_queue));
            backlog.push((at, l.backlog));
        }
    }
    gauge(
        registry,
        "portscope_listener_connections",
        "Connections on a listening port by state, labelled with the listener's process \
         (port and process \"other\": the listeners past --max-ports)",
        connections,
    );
    gauge(
        registry,
        "portscope_listener_accept_queue",
        "TCP connections waiting for accept() on a listening port",
        queue,
    );
    gauge(
        registry,
        "portscope_listener_backlog",
        "The accept queue's limit on a listening TCP port (listen() backlog, capped by \
         somaxconn)",
        backlog,
    );
}

fn ephemeral(registry: &mut Registry, look: &Look) {
    let Some(e) = &look.ephemeral else {
        return;
    };
    gauge(
        registry,
        "portscope_ephemeral_range_size",
        "Ports in the ephemeral range (net.ipv4.ip_local_port_range)",
        vec![(Vec::new(), e.range_size)],
    );
    let at = |destination: &str| labels([("destination", destination)]);
    gauge(
        registry,
        "portscope_ephemeral_ports_in_use",
        "Ephemeral ports used by connect() towards a destination (the busiest destinations)",
        e.in_use.iter().map(|(d, used, _)| (at(d), *used)).collect(),
    );
    gauge(
        registry,
        "portscope_ephemeral_capacity_ratio",
        "Share of the ports a connect() to this destination can pick that are in use",
        e.in_use.iter().map(|(d, _, ratio)| (at(d), *ratio)).collect(),
    );
    gauge(
        registry,
        "portscope_time_wait_sockets",
        "TIME_WAIT sockets left by this host's connections to a destination (the most first)",
        e.time_wait.iter().map(|(d, n)| (at(d), *n)).collect(),
    );
}

fn probes(registry: &mut Registry, look: &Look) {
    if look.probes.is_empty() {
        return;
    }
    let at = |target: &str| labels([("target", target)]);
    gauge(
        registry,
        "probe_success",
        "1 when the --probe target accepted a TCP connection (blackbox exporter's name)",
        look.probes
            .iter()
            .map(|p| (at(&p.target), u64::from(p.success)))
            .collect(),
    );
    seconds(
        registry,
        "probe_duration",
        "How long the --probe target took to answer (the timeout when it did not)",
        look.probes
            .iter()
            .map(|p| (at(&p.target), p.duration.as_secs_f64()))
            .collect(),
    );
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use super::*;
    use crate::exporter::look::{Ephemeral, ListenCounters, Listener, ProbeResult};
    use crate::model::{Family, TcpState};

    fn snapshot() -> Snapshot {
        let look = Look {
            sockets: vec![
                (Proto::Tcp, Family::Ipv4, TcpState::Listen, 1),
                (Proto::Tcp, Family::Ipv4, TcpState::Established, 3),
            ],
            listeners: vec![
                Listener {
                    proto: Proto::Tcp,
                    port: Some(8080),
                    process: "web \"blue\"\\1".to_string(),
                    connections: BTreeMap::from([
                        (TcpState::Established, 3),
                        (TcpState::TimeWait, 1),
                    ]),
                    accept_queue: 2,
                    backlog: 511,
                },
                Listener {
                    proto: Proto::Udp,
                    port: None,
                    process: "other".to_string(),
                    connections: BTreeMap::from([(TcpState::Established, 0)]),
                    accept_queue: 0,
                    backlog: 0,
                },
            ],
            owners_visible: false,
            ephemeral: Some(Ephemeral {
                range_size: 28232,
                in_use: vec![("[2001:db8::9]:443".to_string(), 141, 0.5)],
                time_wait: vec![("10.0.0.9:443".to_string(), 12)],
            }),
            listen_counters: Some(ListenCounters {
                overflows: 7,
                drops: 9,
            }),
            probes: vec![ProbeResult {
                target: "db.invalid:5432".to_string(),
                success: true,
                duration: Duration::from_micros(1500),
            }],
        };
        Snapshot {
            look,
            duration: Duration::from_millis(25),
            errors_total: 1,
            notes: Vec::new(),
        }
    }

    #[test]
    fn prometheus_text_format() {
        insta::assert_snapshot!(encode(&snapshot(), Format::Prometheus));
    }

    #[test]
    fn openmetrics_names_counters_by_family_and_ends_with_eof() {
        let text = encode(&snapshot(), Format::OpenMetrics);
        assert!(text.contains("# TYPE portscope_tcp_listen_overflows counter\n"));
        assert!(text.contains("portscope_tcp_listen_overflows_total 7\n"));
        assert!(text.contains("# UNIT probe_duration_seconds seconds\n"));
        assert!(text.contains("# TYPE portscope_build info\n"));
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
