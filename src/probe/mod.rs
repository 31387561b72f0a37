//! `portscope probe HOST PORTS`: is that port reachable? Honest open / closed / filtered.
//! The probing itself is built on poll(2) and exists on Unix systems.

#[cfg(unix)]
mod engine;
pub mod model;
#[cfg(unix)]
mod payload;
#[cfg(unix)]
mod run;

#[cfg(unix)]
pub use run::run;
