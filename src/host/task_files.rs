//! Every process's open files, from the kernel in one read: a BPF iterator over all tasks'
//! file tables (`iter/task_file`, Linux 5.8+) that writes (socket inode, pid) for each
//! descriptor, the inode 0 for one that is not a socket. Reading `/proc/PID/fd` costs a path
//! walk per descriptor (about 3 µs each); the iterator visits the same tables inside the
//! kernel, so 22,000 descriptors take a few milliseconds instead of a hundred.
//!
//! Needs CAP_BPF and CAP_PERFMON (root), the kernel's BTF, and this process in the initial pid
//! namespace (the iterator reports global pids). Any refusal is an error, and the caller
//! reads `/proc` instead: the same answer, slower. A process the iterator does not report
//! (one with no open files, or one a security policy hides: this VM hides PID 1) is for the
//! caller to read through `/proc`, which says whether it can be read.

use std::io::{self, Read};
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::OnceLock;

use super::btf::{Btf, KIND_FUNC, KIND_STRUCT};

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_LINK_CREATE: libc::c_long = 28;
const BPF_ITER_CREATE: libc::c_long = 33;
const BPF_PROG_TYPE_TRACING: u32 = 26;
const BPF_TRACE_ITER: u32 = 28;
const BPF_FUNC_SEQ_WRITE: i32 = 127;
/// The initial pid namespace's inode (PROC_PID_INIT_INO).
const INIT_PID_NS: u64 = 0xeffffffc;
/// Set `PORTSCOPE_OWNER_SCAN=proc` to read `/proc` even where the iterator would work.
const SWITCH: &str = "PORTSCOPE_OWNER_SCAN";

/// Calls `each(inode, pid)` for every descriptor of every process, task after task: the
/// socket's inode for a socket on sockfs (`sockfs` is its device number as the kernel encodes
/// it: major << 20 | minor), 0 for any other file. Records are handled as they are read, so
/// memory stays flat however many files the host has open.
pub fn walk(sockfs: u32, each: &mut dyn FnMut(u32, u32)) -> io::Result<()> {
    let link = iterator_link(sockfs)?;
    let mut iter = std::fs::File::from(bpf_fd(BPF_ITER_CREATE, &iter_attr(link))?);
    let mut buf = vec![0u8; 64 * 1024];
    // A read ends on a record's boundary (one record is one seq_file show); `kept` carries
    // a partial one over all the same.
    let mut kept = 0;
    loop {
        let n = match iter.read(&mut buf[kept..]) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let filled = kept + n;
        let whole = filled - filled % 8;
        for r in buf[..whole].chunks_exact(8) {
            let word = |i: usize| u32::from_ne_bytes([r[i], r[i + 1], r[i + 2], r[i + 3]]);
            each(word(0), word(4));
        }
        buf.copy_within(whole..filled, 0);
        kept = filled - whole;
    }
}

/// The program loaded and attached once per process, or why not: `watch` and the exporter
/// walk again at every look with new sockets, and the checks, the kernel's BTF and the
/// verifier need not be paid again (a link makes any number of iterators).
fn iterator_link(sockfs: u32) -> io::Result<&'static OwnedFd> {
    static LINK: OnceLock<Result<OwnedFd, Option<i32>>> = OnceLock::new();
    let link = LINK.get_or_init(|| attach(sockfs).map_err(|e| e.raw_os_error()));
    match link {
        Ok(fd) => Ok(fd),
        Err(Some(errno)) => Err(io::Error::from_raw_os_error(*errno)),
        Err(None) => Err(io::ErrorKind::Unsupported.into()),
    }
}

fn attach(sockfs: u32) -> io::Result<OwnedFd> {
    if std::env::var_os(SWITCH).is_some_and(|v| v == "proc") || !may_load_tracing_programs() {
        return Err(io::ErrorKind::Unsupported.into());
    }
    let own_pid_ns = std::fs::metadata("/proc/self/ns/pid")?;
    if std::os::unix::fs::MetadataExt::ino(&own_pid_ns) != INIT_PID_NS {
        return Err(io::ErrorKind::Unsupported.into());
    }
    let (program, target) = program(sockfs)?;
    let prog = load(&program, target)?;
    // The link holds the program; the program's descriptor may go.
    bpf_fd(BPF_LINK_CREATE, &link_attr(&prog))
}

/// Whether this process may load a tracing program: CAP_BPF and CAP_PERFMON, or
/// CAP_SYS_ADMIN, in its effective set. Checked first so that an unprivileged run does not
/// read the kernel's type information for a load that would be refused.
fn may_load_tracing_programs() -> bool {
    const CAP_SYS_ADMIN: u32 = 21;
    const CAP_PERFMON: u32 = 38;
    const CAP_BPF: u32 = 39;
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return false;
    };
    let effective = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .unwrap_or(0);
    let has = |cap: u32| effective & 1 << cap != 0;
    has(CAP_SYS_ADMIN) || has(CAP_BPF) && has(CAP_PERFMON)
}

/// The program for this kernel and the BTF id of the iterator it attaches to.
fn program(sockfs: u32) -> io::Result<(Vec<u64>, u32)> {
    let btf = Btf::vmlinux()?;
    let missing = || io::Error::from(io::ErrorKind::Unsupported);
    let ids = btf.ids(&[
        (KIND_FUNC, "bpf_iter_task_file"),
        (KIND_STRUCT, "task_struct"),
        (KIND_STRUCT, "file"),
        (KIND_STRUCT, "inode"),
        (KIND_STRUCT, "super_block"),
    ]);
    let [
        Some(target),
        Some(task),
        Some(file),
        Some(inode),
        Some(super_block),
    ] = ids[..]
    else {
        return Err(missing());
    };
    // Offsets a load instruction can carry (16 bits, signed).
    let member = |id, names: &[&str]| -> io::Result<Vec<i16>> {
        let offsets = btf.offsets(id, names).ok_or_else(missing)?;
        offsets
            .into_iter()
            .map(|o| i16::try_from(o).map_err(|_| missing()))
            .collect()
    };
    let program = Program {
        tgid: member(task, &["tgid"])?[0],
        f_inode: member(file, &["f_inode"])?[0],
        inode: member(inode, &["i_mode", "i_sb", "i_ino"])?,
        s_dev: member(super_block, &["s_dev"])?[0],
        sockfs,
    }
    .instructions();
    Ok((program, u32::try_from(target).map_err(|_| missing())?))
}

/// Where the program reads: member offsets in bytes from the kernel's BTF.
struct Program {
    tgid: i16,
    f_inode: i16,
    /// i_mode, i_sb, i_ino.
    inode: Vec<i16>,
    s_dev: i16,
    sockfs: u32,
}

impl Program {
    /// For each (task, fd, file) the iterator visits, write (inode number, task's tgid) when
    /// the file is a socket on sockfs, (0, tgid) otherwise.
    fn instructions(&self) -> Vec<u64> {
        let (mode, sb, ino) = (self.inode[0], self.inode[1], self.inode[2]);
        let sockfs = i32::try_from(self.sockfs).unwrap_or(-1);
        use Label::{Exit, Write};
        // r1: struct bpf_iter__task_file { meta, task, fd, file } at 0, 8, 16, 24.
        let steps = [
            Step::Do(ldx(DW, 6, 1, 0)),            // r6 = ctx->meta
            Step::Do(ldx(DW, 7, 1, 8)),            // r7 = ctx->task
            Step::Do(ldx(DW, 8, 1, 24)),           // r8 = ctx->file
            Step::If(JEQ, 7, 0, Exit),             // no task: the walk's end
            Step::If(JEQ, 8, 0, Exit),             //
            Step::Do(mov64_imm(5, 0)),             // r5 = 0: not a socket
            Step::Do(ldx(DW, 2, 8, self.f_inode)), // r2 = file->f_inode
            Step::If(JEQ, 2, 0, Write),            //
            Step::Do(ldx(H, 3, 2, mode)),          // r3 = inode->i_mode
            Step::Do(alu64_imm(AND, 3, 0xf000)),   //
            Step::If(JNE, 3, 0xc000, Write),       // not S_IFSOCK
            Step::Do(ldx(DW, 4, 2, sb)),           // r4 = inode->i_sb
            Step::If(JEQ, 4, 0, Write),            //
            Step::Do(ldx(W, 4, 4, self.s_dev)),    // r4 = sb->s_dev
            Step::If(JNE, 4, sockfs, Write),       // a socket file on disk
            Step::Do(ldx(DW, 5, 2, ino)),          // r5 = inode->i_ino
            Step::Mark(Write),                     //
            Step::Do(stx(W, 10, 5, -8)),           // record[0] = inode
            Step::Do(ldx(W, 0, 7, self.tgid)),     // r0 = task->tgid
            Step::Do(stx(W, 10, 0, -4)),           // record[1] = pid
            Step::Do(ldx(DW, 1, 6, 0)),            // r1 = meta->seq
            Step::Do(mov64_reg(2, 10)),            //
            Step::Do(alu64_imm(ADD, 2, -8)),       // r2 = &record
            Step::Do(mov64_imm(3, 8)),             // r3 = sizeof record
            Step::Do(insn(0x85, 0, 0, 0, BPF_FUNC_SEQ_WRITE)),
            Step::Mark(Exit),                 //
            Step::Do(mov64_imm(0, 0)),        // return 0
            Step::Do(insn(0x95, 0, 0, 0, 0)), // exit
        ];
        assemble(&steps)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Label {
    Write,
    Exit,
}

/// An instruction, a conditional jump to a label (`if dst OP imm goto label`), or a label.
enum Step {
    Do(u64),
    If(u8, u8, i32, Label),
    Mark(Label),
}

/// The program's instructions, jumps resolved to the instruction after their label.
fn assemble(steps: &[Step]) -> Vec<u64> {
    let mut at = 0;
    let mut labels = Vec::new();
    for step in steps {
        match step {
            Step::Mark(label) => labels.push((*label, at)),
            _ => at += 1,
        }
    }
    let target = |label: Label| labels.iter().find(|(l, _)| *l == label).map_or(0, |l| l.1);
    let mut program = Vec::with_capacity(at);
    for step in steps {
        match *step {
            Step::Do(code) => program.push(code),
            Step::If(op, dst, imm, label) => {
                let jump = target(label) as isize - program.len() as isize - 1;
                let jump = i16::try_from(jump).unwrap_or(0);
                program.push(insn(op, dst, 0, jump, imm));
            }
            Step::Mark(_) => {}
        }
    }
    program
}

const DW: u8 = 0x18;
const W: u8 = 0x00;
const H: u8 = 0x08;
const AND: u8 = 0x50;
const ADD: u8 = 0x00;
const JEQ: u8 = 0x15;
const JNE: u8 = 0x55;

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> u64 {
    u64::from(code)
        | u64::from(dst & 0xf | (src & 0xf) << 4) << 8
        | u64::from(off as u16) << 16
        | u64::from(imm as u32) << 32
}

fn ldx(size: u8, dst: u8, src: u8, off: i16) -> u64 {
    insn(0x61 | size, dst, src, off, 0)
}

fn stx(size: u8, dst: u8, src: u8, off: i16) -> u64 {
    insn(0x63 | size, dst, src, off, 0)
}

fn alu64_imm(op: u8, dst: u8, imm: i32) -> u64 {
    insn(0x07 | op, dst, 0, 0, imm)
}

fn mov64_reg(dst: u8, src: u8) -> u64 {
    insn(0xbf, dst, src, 0, 0)
}

fn mov64_imm(dst: u8, imm: i32) -> u64 {
    insn(0xb7, dst, 0, 0, imm)
}

fn load(program: &[u64], target: u32) -> io::Result<OwnedFd> {
    let license = c"GPL";
    let mut attr = [0u8; 128];
    put32(&mut attr, 0, BPF_PROG_TYPE_TRACING);
    put32(&mut attr, 4, u32::try_from(program.len()).unwrap_or(0));
    put64(&mut attr, 8, program.as_ptr() as u64);
    put64(&mut attr, 16, license.as_ptr() as u64);
    attr[48..48 + 10].copy_from_slice(b"portscope\0");
    put32(&mut attr, 68, BPF_TRACE_ITER);
    put32(&mut attr, 108, target);
    bpf_fd(BPF_PROG_LOAD, &attr)
}

fn link_attr(prog: &OwnedFd) -> [u8; 128] {
    let mut attr = [0u8; 128];
    put32(&mut attr, 0, raw(prog));
    put32(&mut attr, 8, BPF_TRACE_ITER);
    attr
}

fn iter_attr(link: &OwnedFd) -> [u8; 128] {
    let mut attr = [0u8; 128];
    put32(&mut attr, 0, raw(link));
    attr
}

fn raw(fd: &OwnedFd) -> u32 {
    use std::os::fd::AsRawFd;
    u32::try_from(fd.as_raw_fd()).unwrap_or(u32::MAX)
}

fn put32(attr: &mut [u8], at: usize, value: u32) {
    attr[at..at + 4].copy_from_slice(&value.to_ne_bytes());
}

fn put64(attr: &mut [u8], at: usize, value: u64) {
    attr[at..at + 8].copy_from_slice(&value.to_ne_bytes());
}

/// bpf(2) for a command that returns a new descriptor.
fn bpf_fd(command: libc::c_long, attr: &[u8; 128]) -> io::Result<OwnedFd> {
    // SAFETY: `attr` is a zero-padded union bpf_attr of the size passed; the pointers in it
    // (program, license) outlive the call.
    let fd = unsafe { libc::syscall(libc::SYS_bpf, command, attr.as_ptr(), attr.len()) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = libc::c_int::try_from(fd).map_err(|_| io::Error::from(io::ErrorKind::InvalidData))?;
    // SAFETY: the kernel just returned this descriptor; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::MetadataExt;

    use super::*;

    /// Run as root (CI is), the iterator must work: a program the verifier refuses fails this
    /// test rather than falling back to /proc unnoticed. Skipped (loudly) without the rights,
    /// BTF or the initial pid namespace, and where the kernel refuses BPF outright (EPERM:
    /// lockdown, a seccomp filter).
    #[test]
    fn reports_this_processs_socket_and_its_other_files() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let socket = std::fs::metadata(format!("/proc/self/fd/{}", listener.as_raw_fd())).unwrap();
        let sockfs = (libc::major(socket.dev()) << 20) | libc::minor(socket.dev());
        let me = std::process::id();
        let mut ours = Vec::new();
        match walk(sockfs, &mut |inode, pid| {
            if pid == me {
                ours.push(inode);
            }
        }) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Unsupported => {
                eprintln!("SKIPPED task_files test: no rights, BTF or initial pid namespace");
                return;
            }
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
                eprintln!("SKIPPED task_files test: the kernel refuses BPF here ({e})");
                return;
            }
            Err(e) => panic!("the iterator failed where it should work: {e}"),
        }
        assert!(ours.contains(&(socket.ino() as u32)), "{ours:?}");
        // The test binary has files that are not sockets (its executable's descriptors,
        // /dev/null or a pipe on stdin): reported with inode 0.
        let _file = std::fs::File::open("/proc/self/status").unwrap();
        assert!(ours.contains(&0), "{ours:?}");
    }
}
