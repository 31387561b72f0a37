//! Unix domain sockets through NETLINK_SOCK_DIAG's unix_diag (what `ss -x` reads): name,
//! socket file, peer, queues and uid of every socket, the state filter applied by the kernel.

use std::io;

use netlink_packet_sock_diag::constants::{AF_UNIX, SOCK_DIAG_BY_FAMILY};

use super::netlink::{Diag, dump_header, fix_length};
use crate::model::{FileId, UnixSocket, UnixType};

/// udiag_show bits (include/uapi/linux/unix_diag.h).
const SHOW_NAME: u32 = 1 << 0;
const SHOW_VFS: u32 = 1 << 1;
const SHOW_PEER: u32 = 1 << 2;
const SHOW_ICONS: u32 = 1 << 3;
const SHOW_RQLEN: u32 = 1 << 4;
const SHOW_UID: u32 = 1 << 6;

/// Attribute types of a reply.
const UNIX_DIAG_NAME: u16 = 0;
const UNIX_DIAG_VFS: u16 = 1;
const UNIX_DIAG_PEER: u16 = 2;
const UNIX_DIAG_ICONS: u16 = 3;
const UNIX_DIAG_RQLEN: u16 = 4;
const UNIX_DIAG_UID: u16 = 7;

/// Size of struct unix_diag_msg; attributes follow it.
const UNIX_DIAG_MSG_LEN: usize = 16;

/// Appends every Unix socket whose state is in `state_mask` (bit n = kernel state n).
pub fn dump(diag: &mut Diag, state_mask: u32, out: &mut Vec<UnixSocket>) -> io::Result<()> {
    let mut request = dump_header(SOCK_DIAG_BY_FAMILY);
    // struct unix_diag_req: family, protocol, pad, states, ino, show, cookie.
    request.extend_from_slice(&[AF_UNIX, 0, 0, 0]);
    request.extend_from_slice(&state_mask.to_ne_bytes());
    request.extend_from_slice(&0u32.to_ne_bytes());
    let show = SHOW_NAME | SHOW_VFS | SHOW_PEER | SHOW_ICONS | SHOW_RQLEN | SHOW_UID;
    request.extend_from_slice(&show.to_ne_bytes());
    request.extend_from_slice(&[0; 8]);
    fix_length(&mut request);
    diag.request(request, &mut |_, payload| out.extend(parse(payload)))
}

fn parse(payload: &[u8]) -> Option<UnixSocket> {
    let header = payload.get(..UNIX_DIAG_MSG_LEN)?;
    let kind = UnixType::from_kernel(header[1])?;
    let state = UnixSocket::state_from_kernel(header[2])?;
    let inode = u32_at(header, 4)?;
    let mut socket = UnixSocket::new(kind, state, inode);
    for (kind, value) in super::netlink::attributes(&payload[UNIX_DIAG_MSG_LEN..]) {
        match kind {
            UNIX_DIAG_NAME => socket.path = name(value),
            UNIX_DIAG_VFS => socket.file = vfs(value),
            UNIX_DIAG_PEER => socket.peer_inode = u32_at(value, 0).unwrap_or(0),
            // A listener's pending connections, each named by the client's inode.
            UNIX_DIAG_ICONS => {
                let clients = value.chunks_exact(4).filter_map(|c| u32_at(c, 0));
                socket.waiting = clients.filter(|inode| *inode != 0).collect();
            }
            UNIX_DIAG_RQLEN => {
                socket.recv_q = u32_at(value, 0).unwrap_or(0);
                socket.send_q = u32_at(value, 4).unwrap_or(0);
            }
            UNIX_DIAG_UID => socket.uid = u32_at(value, 0),
            _ => {}
        }
    }
    Some(socket)
}

fn u32_at(bytes: &[u8], offset: usize) -> Option<u32> {
    let word = bytes.get(offset..offset + 4)?;
    Some(u32::from_ne_bytes(word.try_into().ok()?))
}

/// sun_path as bound: a path (the kernel keeps its terminating NUL), or a name in the
/// abstract namespace (a leading NUL), shown as `@name` like ss does; NULs inside an
/// abstract name are part of it and stay.
pub fn name(bytes: &[u8]) -> Option<String> {
    match bytes.split_first() {
        None => None,
        Some((0, abstract_name)) => Some(format!("@{}", String::from_utf8_lossy(abstract_name))),
        Some(_) => {
            let path = bytes.split(|b| *b == 0).next().unwrap_or_default();
            Some(String::from_utf8_lossy(path).into_owned())
        }
    }
}

/// struct unix_diag_vfs { ino, dev }: the device is the kernel's internal dev_t (major in the
/// top 12 bits), re-encoded the way stat(2) reports it.
fn vfs(value: &[u8]) -> Option<FileId> {
    let ino = u32_at(value, 0)?;
    let dev = u32_at(value, 4)?;
    Some(FileId {
        dev: libc::makedev(dev >> 20, dev & 0xf_ffff),
        ino: u64::from(ino),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_paths_and_abstract() {
        assert_eq!(name(b"/run/app.sock").as_deref(), Some("/run/app.sock"));
        assert_eq!(name(b"/run/app.sock\0").as_deref(), Some("/run/app.sock"));
        assert_eq!(name(b"\0app").as_deref(), Some("@app"));
        assert_eq!(name(b"\0a\0b").as_deref(), Some("@a\0b"));
        assert_eq!(name(b""), None);
    }

    #[test]
    fn a_reply_with_every_attribute() {
        let mut payload = vec![AF_UNIX, 1, 10, 0];
        payload.extend_from_slice(&4242u32.to_ne_bytes());
        payload.extend_from_slice(&[0; 8]);
        let mut attr = |kind: u16, value: &[u8]| {
            let len = 4 + value.len() as u16;
            payload.extend_from_slice(&len.to_ne_bytes());
            payload.extend_from_slice(&kind.to_ne_bytes());
            payload.extend_from_slice(value);
            payload.resize(payload.len().next_multiple_of(4), 0);
        };
        attr(UNIX_DIAG_NAME, b"/tmp/x\n.sock");
        let vfs: Vec<u8> = [77u32, (8 << 20) | 1]
            .iter()
            .flat_map(|n| n.to_ne_bytes())
            .collect();
        attr(UNIX_DIAG_VFS, &vfs);
        let rq: Vec<u8> = [2u32, 128].iter().flat_map(|n| n.to_ne_bytes()).collect();
        attr(UNIX_DIAG_RQLEN, &rq);
        let icons: Vec<u8> = [5u32, 6].iter().flat_map(|n| n.to_ne_bytes()).collect();
        attr(UNIX_DIAG_ICONS, &icons);
        attr(UNIX_DIAG_UID, &1000u32.to_ne_bytes());
        let s = parse(&payload).unwrap();
        assert_eq!(s.kind, UnixType::Stream);
        assert_eq!(s.state, crate::model::TcpState::Listen);
        assert_eq!(s.inode, 4242);
        assert_eq!(s.path.as_deref(), Some("/tmp/x\n.sock"));
        assert_eq!(
            s.file,
            Some(FileId {
                dev: libc::makedev(8, 1),
                ino: 77
            })
        );
        assert_eq!((s.recv_q, s.send_q, s.uid), (2, 128, Some(1000)));
        assert_eq!(s.waiting, [5, 6]);
    }
}
