//! portscope's integration tests: the real binary against real sockets on loopback or inside
//! network namespaces the tests create and remove themselves.
#![allow(clippy::unwrap_used)]

mod forked;
mod ss;
mod support;

mod bound;
mod endpoints;
mod ephemeral;
mod errors;
mod fallback;
mod filters;
mod lifecycle;
mod ls;
mod owners;
mod probe;
mod signals;
mod unix;
mod unprivileged;
mod watch;
mod who;
