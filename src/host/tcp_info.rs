//! The sock_diag attributes behind `ls -i`: INET_DIAG_INFO (struct tcp_info), INET_DIAG_CONG
//! and INET_DIAG_SKMEMINFO, decoded from the same dump that lists the sockets.
//!
//! struct tcp_info grows with the kernel and the kernel sends its own size, so every field is
//! read at its offset in libc's copy of the struct, and a field past the end of what this
//! kernel sent is missing (None), never read from a shorter buffer.

use std::borrow::Cow;
use std::mem::offset_of;

use libc::tcp_info as Raw;

use crate::model::{Details, SocketMemory, TcpInfo};
use crate::query::DetailLevel;

/// enum in include/uapi/linux/inet_diag.h.
const INET_DIAG_INFO: u16 = 2;
const INET_DIAG_CONG: u16 = 4;
const INET_DIAG_SKMEMINFO: u16 = 7;

/// The request's idiag_ext: bit (attribute - 1) asks for an attribute.
pub fn extensions(details: DetailLevel) -> u8 {
    let info = 1 << (INET_DIAG_INFO - 1);
    match details {
        DetailLevel::None => 0,
        DetailLevel::TcpInfo => info,
        DetailLevel::All => info | 1 << (INET_DIAG_CONG - 1) | 1 << (INET_DIAG_SKMEMINFO - 1),
    }
}

/// The details among a reply's attributes (those after struct inet_diag_msg); None when it
/// carries none of them.
pub fn details(attributes: &[u8]) -> Option<Box<Details>> {
    let mut details = Details::default();
    for (kind, value) in super::netlink::attributes(attributes) {
        match kind {
            INET_DIAG_INFO => details.tcp = tcp_info(value),
            INET_DIAG_CONG => details.congestion = congestion(value),
            INET_DIAG_SKMEMINFO => details.memory = memory(value),
            _ => {}
        }
    }
    (details != Details::default()).then(|| Box::new(details))
}

struct Fields<'a>(&'a [u8]);

impl Fields<'_> {
    fn u8(&self, offset: usize) -> Option<u8> {
        self.0.get(offset).copied()
    }

    fn u32(&self, offset: usize) -> Option<u32> {
        let bytes = self.0.get(offset..offset + 4)?;
        Some(u32::from_ne_bytes(bytes.try_into().ok()?))
    }

    fn u64(&self, offset: usize) -> Option<u64> {
        let bytes = self.0.get(offset..offset + 8)?;
        Some(u64::from_ne_bytes(bytes.try_into().ok()?))
    }
}

/// The kernel's "no threshold yet" for ssthresh (TCP_INFINITE_SSTHRESH).
const INFINITE_SSTHRESH: u32 = 0x7fff_ffff;

fn tcp_info(bytes: &[u8]) -> Option<TcpInfo> {
    let f = Fields(bytes);
    macro_rules! at {
        ($width:ident, $field:ident) => {
            f.$width(offset_of!(Raw, $field))
        };
    }
    // Everything up to tcpi_total_retrans has been sent since Linux 2.6; a reply shorter
    // than that is not a tcp_info.
    Some(TcpInfo {
        ca_state: at!(u8, tcpi_ca_state)?,
        retransmits: at!(u8, tcpi_retransmits)?,
        probes: at!(u8, tcpi_probes)?,
        backoff: at!(u8, tcpi_backoff)?,
        rto_us: at!(u32, tcpi_rto)?,
        snd_mss: at!(u32, tcpi_snd_mss)?,
        rcv_mss: at!(u32, tcpi_rcv_mss)?,
        unacked: at!(u32, tcpi_unacked)?,
        lost: at!(u32, tcpi_lost)?,
        retrans: at!(u32, tcpi_retrans)?,
        rtt_us: at!(u32, tcpi_rtt)?,
        rttvar_us: at!(u32, tcpi_rttvar)?,
        ssthresh: at!(u32, tcpi_snd_ssthresh).filter(|s| *s < INFINITE_SSTHRESH),
        cwnd: at!(u32, tcpi_snd_cwnd)?,
        total_retrans: at!(u32, tcpi_total_retrans)?,
        pacing_rate: at!(u64, tcpi_pacing_rate).filter(|r| *r != u64::MAX),
        bytes_acked: at!(u64, tcpi_bytes_acked).unwrap_or(0),
        bytes_received: at!(u64, tcpi_bytes_received).unwrap_or(0),
        notsent_bytes: at!(u32, tcpi_notsent_bytes).unwrap_or(0),
        min_rtt_us: at!(u32, tcpi_min_rtt).unwrap_or(0),
        delivery_rate: at!(u64, tcpi_delivery_rate),
        busy_us: at!(u64, tcpi_busy_time),
        rwnd_limited_us: at!(u64, tcpi_rwnd_limited),
        sndbuf_limited_us: at!(u64, tcpi_sndbuf_limited),
        bytes_sent: at!(u64, tcpi_bytes_sent),
        bytes_retrans: at!(u64, tcpi_bytes_retrans),
        snd_wnd: at!(u32, tcpi_snd_wnd),
        // tcpi_rcv_wnd follows tcpi_snd_wnd (Linux 6.2); libc's struct stops before it.
        rcv_wnd: f.u32(offset_of!(Raw, tcpi_snd_wnd) + 4),
    })
}

/// A NUL-terminated algorithm name; those the kernel ships are not allocated.
fn congestion(bytes: &[u8]) -> Option<Cow<'static, str>> {
    const KNOWN: [&str; 12] = [
        "cubic",
        "reno",
        "bbr",
        "dctcp",
        "htcp",
        "vegas",
        "westwood",
        "bic",
        "highspeed",
        "illinois",
        "scalable",
        "yeah",
    ];
    let name = bytes.split(|b| *b == 0).next()?;
    if name.is_empty() {
        return None;
    }
    Some(match KNOWN.iter().find(|k| k.as_bytes() == name) {
        Some(known) => Cow::Borrowed(known),
        None => Cow::Owned(String::from_utf8_lossy(name).into_owned()),
    })
}

/// u32 sk_meminfo[SK_MEMINFO_VARS], indexed by SK_MEMINFO_RMEM_ALLOC … SK_MEMINFO_DROPS.
fn memory(bytes: &[u8]) -> Option<SocketMemory> {
    let f = Fields(bytes);
    let at = |index: usize| f.u32(index * 4);
    Some(SocketMemory {
        rmem_alloc: at(0)?,
        rcvbuf: at(1)?,
        wmem_alloc: at(2)?,
        sndbuf: at(3)?,
        fwd_alloc: at(4)?,
        wmem_queued: at(5)?,
        optmem: at(6)?,
        backlog: at(7)?,
        drops: at(8),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tcp_info as a kernel of `len` bytes would send it, with a few fields set.
    fn raw(len: usize) -> Vec<u8> {
        let mut bytes = vec![0u8; 240];
        let mut put = |offset: usize, value: &[u8]| {
            bytes[offset..offset + value.len()].copy_from_slice(value);
        };
        put(offset_of!(Raw, tcpi_rtt), &1500u32.to_ne_bytes());
        put(offset_of!(Raw, tcpi_snd_cwnd), &10u32.to_ne_bytes());
        put(
            offset_of!(Raw, tcpi_snd_ssthresh),
            &INFINITE_SSTHRESH.to_ne_bytes(),
        );
        put(
            offset_of!(Raw, tcpi_bytes_acked),
            &1_048_577u64.to_ne_bytes(),
        );
        put(
            offset_of!(Raw, tcpi_bytes_sent),
            &1_048_576u64.to_ne_bytes(),
        );
        put(offset_of!(Raw, tcpi_snd_wnd) + 4, &65_535u32.to_ne_bytes());
        bytes.truncate(len);
        bytes
    }

    #[test]
    fn fields_come_from_their_offsets() {
        let info = tcp_info(&raw(240)).unwrap();
        assert_eq!((info.rtt_us, info.cwnd, info.ssthresh), (1500, 10, None));
        assert_eq!(info.bytes_acked, 1_048_577);
        assert_eq!(info.bytes_sent, Some(1_048_576));
        assert_eq!(info.rcv_wnd, Some(65_535));
    }

    #[test]
    fn an_older_kernels_shorter_struct_leaves_newer_fields_out() {
        // Linux 4.9's tcp_info ended after tcpi_min_rtt.
        let info = tcp_info(&raw(offset_of!(Raw, tcpi_data_segs_in))).unwrap();
        assert_eq!(info.bytes_acked, 1_048_577);
        assert_eq!(
            (info.bytes_sent, info.busy_us, info.rcv_wnd),
            (None, None, None)
        );
        assert!(tcp_info(&raw(40)).is_none());
    }

    #[test]
    fn attributes_in_one_walk() {
        let mut attributes = Vec::new();
        let mut nla = |kind: u16, value: &[u8]| {
            attributes.extend_from_slice(&(4 + value.len() as u16).to_ne_bytes());
            attributes.extend_from_slice(&kind.to_ne_bytes());
            attributes.extend_from_slice(value);
            attributes.resize(attributes.len().next_multiple_of(4), 0);
        };
        nla(INET_DIAG_CONG, b"cubic\0");
        let meminfo: Vec<u8> = (1..=9u32).flat_map(u32::to_ne_bytes).collect();
        nla(INET_DIAG_SKMEMINFO, &meminfo);
        let details = details(&attributes).unwrap();
        assert_eq!(details.congestion.as_deref(), Some("cubic"));
        let memory = details.memory.unwrap();
        assert_eq!((memory.rcvbuf, memory.drops), (2, Some(9)));
        assert!(details.tcp.is_none());
        assert!(super::details(&[]).is_none());
    }
}
