//! The running kernel's own type information (`/sys/kernel/btf/vmlinux`): the id of a
//! function and the byte offsets of struct members, which a BPF program needs to be loaded
//! and to read kernel structures without compiling against this kernel's headers.

use std::io;
use std::ops::Deref;
use std::os::fd::AsRawFd;
use std::ptr::NonNull;

const MAGIC: u16 = 0xeb9f;

pub const KIND_STRUCT: u32 = 4;
pub const KIND_FUNC: u32 = 12;
const KIND_INT: u32 = 1;
const KIND_ARRAY: u32 = 3;
const KIND_UNION: u32 = 5;
const KIND_ENUM: u32 = 6;
const KIND_FUNC_PROTO: u32 = 13;
const KIND_VAR: u32 = 14;
const KIND_DATASEC: u32 = 15;
const KIND_DECL_TAG: u32 = 17;
const KIND_ENUM64: u32 = 19;

/// The kernel's types, indexed by id (id 0 is `void`).
pub struct Btf {
    data: Bytes,
    strings: usize,
    /// Where each type's record starts in `data`.
    types: Vec<u32>,
}

impl Btf {
    /// The running kernel's types: mapped where the kernel allows it (6.16+), else read
    /// (5.5 MB here; mapping saves copying them on every run).
    pub fn vmlinux() -> io::Result<Btf> {
        let file = std::fs::File::open("/sys/kernel/btf/vmlinux")?;
        let data = match Mapping::of(&file) {
            Some(mapped) => Bytes::Mapped(mapped),
            None => Bytes::Read(std::fs::read("/sys/kernel/btf/vmlinux")?),
        };
        Btf::parse(data)
    }

    fn parse(data: Bytes) -> io::Result<Btf> {
        let bad = || io::Error::new(io::ErrorKind::InvalidData, "unreadable kernel BTF");
        let u32_at = |at: usize| -> Option<u32> {
            Some(u32::from_le_bytes(data.get(at..at + 4)?.try_into().ok()?))
        };
        if data.get(..2) != Some(&MAGIC.to_le_bytes()[..]) {
            return Err(bad());
        }
        let header = u32_at(4).ok_or_else(bad)? as usize;
        let type_start = header + u32_at(8).ok_or_else(bad)? as usize;
        let type_end = type_start + u32_at(12).ok_or_else(bad)? as usize;
        let strings = header + u32_at(16).ok_or_else(bad)? as usize;
        let mut types = vec![0];
        let mut at = type_start;
        while at < type_end {
            types.push(u32::try_from(at).map_err(|_| bad())?);
            let info = u32_at(at + 4).ok_or_else(bad)?;
            let vlen = (info & 0xffff) as usize;
            let extra = match (info >> 24) & 0x1f {
                KIND_INT | KIND_VAR | KIND_DECL_TAG => 4,
                KIND_ARRAY => 12,
                KIND_STRUCT | KIND_UNION | KIND_DATASEC | KIND_ENUM64 => 12 * vlen,
                KIND_ENUM | KIND_FUNC_PROTO => 8 * vlen,
                _ => 0,
            };
            at += 12 + extra;
        }
        Ok(Btf {
            data,
            strings,
            types,
        })
    }

    fn u32_at(&self, at: usize) -> u32 {
        self.data
            .get(at..at + 4)
            .and_then(|b| b.try_into().ok())
            .map_or(0, u32::from_le_bytes)
    }

    /// Whether the string at `name_off` is `name`.
    fn is_named(&self, name_off: u32, name: &[u8]) -> bool {
        let start = self.strings + name_off as usize;
        self.data
            .get(start..start + name.len() + 1)
            .is_some_and(|found| found[..name.len()] == *name && found[name.len()] == 0)
    }

    fn start(&self, id: usize) -> usize {
        self.types[id] as usize
    }

    fn kind(&self, id: usize) -> u32 {
        (self.u32_at(self.start(id) + 4) >> 24) & 0x1f
    }

    /// The ids of types by kind and name (`KIND_FUNC`, `KIND_STRUCT`), in one pass.
    pub fn ids(&self, wanted: &[(u32, &str)]) -> Vec<Option<usize>> {
        let mut found = vec![None; wanted.len()];
        for id in 1..self.types.len() {
            let kind = self.kind(id);
            let name_off = self.u32_at(self.start(id));
            for (slot, (k, name)) in found.iter_mut().zip(wanted) {
                if slot.is_none() && *k == kind && self.is_named(name_off, name.as_bytes()) {
                    *slot = Some(id);
                }
            }
        }
        found
    }

    /// Byte offsets of members of a struct, looked for through anonymous unions and structs
    /// inside it. None when a member is missing.
    pub fn offsets(&self, structure: usize, members: &[&str]) -> Option<Vec<u32>> {
        members
            .iter()
            .map(|m| self.member_offset(structure, m.as_bytes(), 0, 0))
            .collect()
    }

    /// Anonymous members nest a few levels deep in the kernel's structs; `depth` bounds the
    /// search should the data ever loop.
    fn member_offset(&self, id: usize, member: &[u8], base_bits: u32, depth: u8) -> Option<u32> {
        if depth > 8 {
            return None;
        }
        let at = self.start(id);
        let info = self.u32_at(at + 4);
        let bitfields = info >> 31 == 1;
        for i in 0..(info & 0xffff) as usize {
            let record = at + 12 + 12 * i;
            let name_off = self.u32_at(record);
            let ty = self.u32_at(record + 4) as usize;
            let offset = self.u32_at(record + 8);
            let bits = base_bits
                + if bitfields {
                    offset & 0xff_ffff
                } else {
                    offset
                };
            if name_off == 0 {
                let inner = self.resolve(ty)?;
                if matches!(self.kind(inner), KIND_STRUCT | KIND_UNION)
                    && let Some(found) = self.member_offset(inner, member, bits, depth + 1)
                {
                    return Some(found);
                }
            } else if self.is_named(name_off, member) {
                return Some(bits / 8);
            }
        }
        None
    }

    /// A type id with typedefs and qualifiers (const, volatile, …) looked through.
    fn resolve(&self, mut id: usize) -> Option<usize> {
        for _ in 0..32 {
            if id == 0 || id >= self.types.len() {
                return None;
            }
            match self.kind(id) {
                // typedef, volatile, const, restrict, type tag
                8..=11 | 18 => id = self.u32_at(self.start(id) + 8) as usize,
                _ => return Some(id),
            }
        }
        None
    }
}

/// The file's bytes, mapped or read.
enum Bytes {
    Mapped(Mapping),
    Read(Vec<u8>),
}

impl Deref for Bytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Mapped(m) => {
                // SAFETY: a private read-only mapping of `len` bytes, alive as long as `m`.
                unsafe { std::slice::from_raw_parts(m.start.as_ptr(), m.len) }
            }
            Bytes::Read(v) => v,
        }
    }
}

struct Mapping {
    start: NonNull<u8>,
    len: usize,
}

impl Mapping {
    fn of(file: &std::fs::File) -> Option<Mapping> {
        let len = usize::try_from(file.metadata().ok()?.len()).ok()?;
        // SAFETY: a new private read-only mapping of the whole file; checked below.
        let start = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                0,
            )
        };
        if start == libc::MAP_FAILED {
            return None;
        }
        Some(Mapping {
            start: NonNull::new(start.cast())?,
            len,
        })
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `of`.
        unsafe { libc::munmap(self.start.as_ptr().cast(), self.len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_task_file_iterator_and_struct_members() {
        let Ok(btf) = Btf::vmlinux() else {
            eprintln!("SKIPPED btf test: this kernel has no /sys/kernel/btf/vmlinux");
            return;
        };
        let ids = btf.ids(&[
            (KIND_FUNC, "bpf_iter_task_file"),
            (KIND_FUNC, "no_such_function_here"),
            (KIND_STRUCT, "inode"),
        ]);
        assert!(ids[0].is_some() && ids[1].is_none(), "{ids:?}");
        let inode = btf
            .offsets(ids[2].unwrap(), &["i_mode", "i_ino", "i_sb"])
            .unwrap();
        // i_mode is the first member of struct inode.
        assert_eq!(inode[0], 0);
        assert!(inode[1] > 0 && inode[2] > 0);
        assert!(btf.offsets(ids[2].unwrap(), &["no_such_member"]).is_none());
    }
}
