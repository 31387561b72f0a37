//! portscope's integration tests: the real binary against real sockets on loopback or inside
//! network namespaces the tests create and remove themselves.
#![allow(clippy::unwrap_used)]

mod forked;

mod ss;
mod support;

mod bench;
mod bound;
mod comparison;
mod corpus;
mod destroy;
mod doctor;
mod edges;
mod endpoints;
mod ephemeral;
mod errors;
mod exporter;
pub mod fallback;
mod filters;
mod grammar;
mod habits;
mod info;
mod kill;
mod lifecycle;
mod limits;
mod ls;
mod namespaces;
mod nc;
mod netns_gaps;
mod netns_unix;
mod owners;
mod probe;
mod rates;
mod scoped;
mod signals;
mod stats;
mod streams;
mod unix;
mod unprivileged;
mod watch;
mod who;
