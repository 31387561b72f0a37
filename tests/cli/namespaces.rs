//! `--netns` and `--all-netns`: namespaces the tests make (bound with `ip netns add`, or held
//! only by a process in `unshare -n`), a cgroup named like a Docker scope, a real Podman
//! container, and an unprivileged run.

use std::process::{Command, Output};

use crate::support::*;

/// Fixed: every holder sits in a private namespace of its own.
const PORT: &str = "8080";

/// `portscope tcp listen 0.0.0.0:8080` inside `ns`, ready; `ip netns exec` execs in place, so
/// the child's pid is the holder's.
fn hold(ns: &Netns) -> Running {
    let r = Running::spawn(ns.portscope(&["tcp", "listen", &format!("0.0.0.0:{PORT}")]));
    r.err_line("listening on");
    r
}

fn sockets(out: &Output) -> Vec<JsonSocket> {
    json_with_notes(out)
}

fn run(args: &[&str]) -> Output {
    portscope(args).output().unwrap()
}

/// `ls -tl --all-netns --pid PID`, and more arguments.
fn held_by(pid: u32, more: &[&str]) -> Output {
    let pid = pid.to_string();
    let mut args = vec!["ls", "-tl", "--all-netns", "--pid", &pid];
    args.extend_from_slice(more);
    run(&args)
}

fn netns_inode(pid: u32) -> u64 {
    let link = std::fs::read_link(format!("/proc/{pid}/ns/net")).unwrap();
    let link = link.to_str().unwrap();
    link["net:[".len()..link.len() - 1].parse().unwrap()
}

#[test]
fn three_namespaces_together_and_one_at_a_time() {
    let test = "three_namespaces_together_and_one_at_a_time";
    let (Some(a), Some(b), Some(c)) = (Netns::new(test), Netns::new(test), Netns::new(test)) else {
        return;
    };
    let holders: Vec<(&Netns, Running)> = [&a, &b, &c].map(|ns| (ns, hold(ns))).into();
    let all = sockets(&run(&[
        "ls",
        "-tl",
        "--all-netns",
        "--port",
        PORT,
        "--json",
    ]));
    for (ns, holder) in &holders {
        let pid = holder.child.id();
        let mine: Vec<&JsonSocket> = all
            .iter()
            .filter(|s| s.netns.as_ref().and_then(|n| n.name.as_deref()) == Some(&ns.name))
            .collect();
        assert_eq!(mine.len(), 1, "{}: {all:#?}", ns.name);
        assert_eq!(mine[0].pids(), [pid]);
        assert_eq!(mine[0].netns.as_ref().unwrap().inode, netns_inode(pid));
        assert_eq!(mine[0].container, None);
        // The same namespace alone, by name, path and pid: the same socket.
        let path = format!("/run/netns/{}", ns.name);
        for spec in [ns.name.clone(), path, pid.to_string()] {
            let one = sockets(&run(&["ls", "-tl", "--netns", &spec, "--json"]));
            let held: Vec<&JsonSocket> = one
                .iter()
                .filter(|s| s.local_port.to_string() == PORT)
                .collect();
            assert_eq!(held.len(), 1, "--netns {spec}: {one:#?}");
            assert_eq!(held[0].inode, mine[0].inode, "--netns {spec}");
            assert_eq!(
                held[0].netns.as_ref().unwrap().name.as_deref(),
                Some(&*ns.name)
            );
        }
    }
    // who: one line per namespace, each naming it and its holder.
    let out = run(&["who", PORT, "--all-netns"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout_of(&out);
    for (ns, holder) in &holders {
        let line = format!("in {} — portscope (pid {}", ns.name, holder.child.id());
        assert!(text.contains(&line), "{line:?} in {text}");
    }
    // The host's own namespace has none of them.
    let inodes: Vec<u32> = all.iter().map(|s| s.inode).collect();
    let here = ls_json(&["-tl"]);
    assert!(here.iter().all(|s| !inodes.contains(&s.inode)), "{here:#?}");
    // The table has the columns and the names; the summary counts per namespace.
    let table = stdout_of(&run(&["ls", "-tl", "--all-netns", "--port", PORT]));
    assert!(table.starts_with("Netns"), "{table}");
    let summary = stdout_of(&run(&["ls", "-s", "--all-netns", "-tl", "--port", PORT]));
    for ns in [&a, &b, &c] {
        assert!(table.contains(&ns.name), "{table}");
        let row = summary.lines().find(|l| l.starts_with(&ns.name)).unwrap();
        let counts: Vec<&str> = row.split_whitespace().skip(2).take(4).collect();
        assert_eq!(
            counts,
            ["1", "1", "0", "1"],
            "total, tcp, udp, listen: {row}"
        );
    }
}

#[test]
fn a_namespace_bound_nowhere_is_found_through_its_process() {
    let test = "a_namespace_bound_nowhere_is_found_through_its_process";
    if !is_root() || !have("unshare") {
        return skip(test, "needs root and unshare (util-linux)");
    }
    let mut cmd = Command::new("unshare");
    cmd.args(["-n", bin(), "tcp", "listen", &format!("0.0.0.0:{PORT}")]);
    let holder = Running::spawn(cmd);
    holder.err_line("listening on");
    // unshare execs in place: the child is the holder.
    let pid = holder.child.id();
    let all = sockets(&run(&["ls", "-tl", "--all-netns", "--json"]));
    let found: Vec<&JsonSocket> = all.iter().filter(|s| s.pids() == [pid]).collect();
    assert_eq!(found.len(), 1, "{all:#?}");
    let netns = found[0].netns.as_ref().unwrap();
    assert_eq!(
        (netns.inode, netns.name.as_deref()),
        (netns_inode(pid), None)
    );
    let table = stdout_of(&held_by(pid, &[]));
    assert!(table.contains(&format!("net:[{}]", netns.inode)), "{table}");
}

/// The cgroup v2 hierarchy, or v1's name=systemd one.
fn cgroup_root() -> Option<&'static str> {
    [
        "/sys/fs/cgroup/unified",
        "/sys/fs/cgroup/systemd",
        "/sys/fs/cgroup",
    ]
    .into_iter()
    .find(|p| std::path::Path::new(&format!("{p}/cgroup.procs")).exists())
}

/// A cgroup made for the test, removed (its process moved back out first) on drop.
struct Cgroup {
    root: &'static str,
    parent: String,
    dir: String,
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        if let Ok(pids) = std::fs::read_to_string(format!("{}/cgroup.procs", self.dir)) {
            for pid in pids.lines() {
                let _ = std::fs::write(format!("{}/cgroup.procs", self.root), pid);
            }
        }
        let _ = std::fs::remove_dir(&self.dir);
        let _ = std::fs::remove_dir(&self.parent);
    }
}

#[test]
fn a_process_in_a_docker_scope_shows_docker_and_the_short_id() {
    let test = "a_process_in_a_docker_scope_shows_docker_and_the_short_id";
    if !is_root() {
        return skip(test, "needs root to make a cgroup");
    }
    let Some(root) = cgroup_root() else {
        return skip(test, "no cgroup v2 or name=systemd hierarchy mounted");
    };
    let id: String = format!("{:016x}", std::process::id()).repeat(4);
    let parent = format!("{root}/pstest-i15-{}", std::process::id());
    let dir = format!("{parent}/docker-{id}.scope");
    if let Err(e) = std::fs::create_dir_all(&dir) {
        return skip(test, &format!("cannot make a cgroup under {root}: {e}"));
    }
    let cgroup = Cgroup { root, parent, dir };
    let holder = Running::spawn(portscope(&["tcp", "listen", "127.0.0.1:0"]));
    let line = holder.err_line("listening on");
    let pid = holder.child.id();
    std::fs::write(format!("{}/cgroup.procs", cgroup.dir), pid.to_string()).unwrap();
    let all = sockets(&held_by(pid, &["--json"]));
    assert_eq!(all.len(), 1, "{line}: {all:#?}");
    let container = all[0].container.as_ref().unwrap();
    assert_eq!(
        (container.runtime.as_str(), container.id.as_str()),
        ("docker", &*id)
    );
    let table = stdout_of(&held_by(pid, &[]));
    assert!(table.contains(&format!("docker:{}", &id[..12])), "{table}");
    // Asked without --all-netns, the same socket names the same container.
    let plain = ls_json(&["-tl", "--pid", &pid.to_string()]);
    assert_eq!(plain[0].container, all[0].container);
    drop(holder);
    drop(cgroup);
}

/// A Podman container and its image, removed on drop.
struct Container {
    name: String,
    image: &'static str,
}

impl Drop for Container {
    fn drop(&mut self) {
        for args in [
            &["rm", "-f", "-t", "0", &self.name][..],
            &["rmi", "-f", self.image],
        ] {
            let _ = Command::new("podman").args(args).output();
        }
    }
}

#[test]
fn who_names_a_podman_container() {
    let test = "who_names_a_podman_container";
    if !is_root() {
        return skip(test, "needs root to run a container");
    }
    let busybox = ["/bin/busybox", "/usr/bin/busybox"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    let (true, Some(busybox)) = (have("podman") && have("runc"), busybox) else {
        return skip(
            test,
            "needs podman, runc and busybox-static (.ci/run installs them)",
        );
    };
    // An image from a busybox root file system: no registry.
    let dir = std::env::temp_dir().join(format!("pstest-i15-rootfs-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    std::fs::copy(busybox, dir.join("bin/busybox")).unwrap();
    std::os::unix::fs::symlink("busybox", dir.join("bin/sh")).unwrap();
    std::os::unix::fs::symlink("busybox", dir.join("bin/nc")).unwrap();
    let tar = dir.with_extension("tar");
    let ok = |cmd: &mut Command| {
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{cmd:?}: {}", stderr_of(&out));
        stdout_of(&out)
    };
    ok(Command::new("tar")
        .arg("-C")
        .arg(&dir)
        .arg("-cf")
        .arg(&tar)
        .arg("."));
    let image = "localhost/pstest-i15-busybox:latest";
    ok(Command::new("podman")
        .args(["import", "-q"])
        .arg(&tar)
        .arg(image));
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&tar);
    let name = format!("pstest-i15-{}", std::process::id());
    let container = Container {
        name: name.clone(),
        image,
    };
    ok(Command::new("podman").args([
        "--runtime",
        "runc",
        "--cgroup-manager",
        "cgroupfs",
        "run",
        "-d",
        "--name",
        &name,
        "--ulimit",
        "nofile=1024:1024",
        "--ulimit",
        "nproc=1024:1024",
        "--network",
        "none",
        image,
        "sh",
        "-c",
        &format!("nc -l -p {PORT}"),
    ]));
    // The container is up when podman returns; nc listens a moment later.
    eventually("the container's listener", || {
        let out = run(&["who", PORT, "--all-netns"]);
        let text = stdout_of(&out);
        seen(
            text.lines()
                .any(|l| l.contains(&format!("(podman:{name})")) && l.contains("— nc (pid")),
            text,
        )
    });
    let all = sockets(&run(&["who", PORT, "--all-netns", "--json"]));
    let mine: Vec<&JsonSocket> = all
        .iter()
        .filter(|s| s.container.as_ref().and_then(|c| c.name.as_deref()) == Some(&*name))
        .collect();
    assert_eq!(mine.len(), 1, "{all:#?}");
    assert_eq!(mine[0].container.as_ref().unwrap().runtime, "podman");
    assert_eq!(mine[0].netns.as_ref().unwrap().name, None, "bound nowhere");
    drop(container);
}

#[test]
fn unprivileged_namespaces_are_counted_in_a_note() {
    let test = "unprivileged_namespaces_are_counted_in_a_note";
    let Some(ns) = Netns::new(test) else {
        return;
    };
    let Some(nobody) = as_nobody(test) else {
        return;
    };
    let _holder = hold(&ns);
    let plain = nobody(&["ls", "-tl"]);
    let all = nobody(&["ls", "-tl", "--all-netns"]);
    assert_eq!(
        all.status.code(),
        plain.status.code(),
        "{}",
        stderr_of(&all)
    );
    let err = stderr_of(&all);
    assert!(
        err.lines().any(|l| l.starts_with("portscope: note: ")
            && l.contains(" could not be entered and ")),
        "{err}"
    );
    assert!(!stdout_of(&all).contains(&ns.name), "{}", stdout_of(&all));
    // One named namespace, asked for by name: one clear line, exit 2.
    let one = nobody(&["ls", "--netns", &ns.name]);
    assert_eq!(one.status.code(), Some(2));
    assert_eq!(
        stderr_of(&one).trim_end(),
        format!(
            "portscope: entering network namespace /run/netns/{}: permission denied (needs \
             CAP_SYS_ADMIN: run as root)",
            ns.name
        )
    );
}

#[test]
fn a_missing_namespace_is_one_clear_line() {
    for (spec, said) in [
        (
            "pstest-i15-missing",
            "no network namespace named 'pstest-i15-missing'",
        ),
        ("4294967295", "no process with pid 4294967295"),
        (
            "/nonexistent/pstest-i15",
            "--netns /nonexistent/pstest-i15: no such file",
        ),
    ] {
        for command in [&["ls"][..], &["who", PORT], &["ephemeral"], &["wait", PORT]] {
            let mut args = command.to_vec();
            args.extend(["--netns", spec]);
            let out = run(&args);
            assert_eq!(out.status.code(), Some(2), "{args:?}");
            let err = stderr_of(&out);
            assert_eq!(err.lines().count(), 1, "{err}");
            assert!(
                err.starts_with("portscope: ") && err.contains(said),
                "{err}"
            );
        }
    }
    let out = run(&["ls", "--netns", "x", "--all-netns"]);
    assert_eq!(out.status.code(), Some(2));
}

/// why-bind, wait and ephemeral act inside the namespace: the trial bind meets its holder,
/// the wait sees its listener, the report reads its port range.
#[test]
fn why_bind_wait_and_ephemeral_act_inside_the_namespace() {
    let Some(ns) = Netns::new("why_bind_wait_and_ephemeral_act_inside_the_namespace") else {
        return;
    };
    ns.sysctl("net.ipv4.ip_local_port_range", "40000 40199");
    let holder = hold(&ns);
    let out = run(&["why-bind", PORT, "--netns", &ns.name]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout_of(&out));
    assert!(
        stdout_of(&out).contains(&format!("pid {}", holder.child.id())),
        "{}",
        stdout_of(&out)
    );
    let out = run(&["wait", PORT, "--netns", &ns.name, "--timeout", "5"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let out = run(&["ephemeral", "--json", "--netns", &ns.name]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["range"]["low"], 40000, "{report}");
    assert_eq!(report["range"]["high"], 40199, "{report}");
}

#[test]
fn watch_across_namespaces_names_the_namespace_of_a_change() {
    let Some(ns) = Netns::new("watch_across_namespaces_names_the_namespace_of_a_change") else {
        return;
    };
    let watch = Running::spawn(portscope(&[
        "watch",
        "--all-netns",
        "--json",
        "-tl",
        "--port",
        PORT,
        "--interval",
        "0.1",
    ]));
    watch.err_line("changes follow");
    let holder = hold(&ns);
    let line = watch.out_line(&format!("\"name\":\"{}\"", ns.name));
    let event: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(event["event"], "opened", "{event}");
    assert_eq!(
        event["socket"]["processes"][0]["pid"],
        holder.child.id(),
        "{event}"
    );
}

/// `kill --netns`: the holder inside the namespace is found and signalled, and the port is
/// free there afterwards (the check runs inside it too).
#[test]
fn kill_frees_a_port_inside_a_namespace() {
    let Some(ns) = Netns::new("kill_frees_a_port_inside_a_namespace") else {
        return;
    };
    let mut holder = hold(&ns);
    let pid = holder.child.id().to_string();
    let out = run(&["kill", PORT, "--yes", "--netns", &ns.name]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert!(stdout_of(&out).contains(&pid), "{}", stdout_of(&out));
    assert_eq!(holder.exit_code(), Some(143));
    let out = run(&["kill", PORT, "--yes", "--netns", &ns.name]);
    assert_eq!(out.status.code(), Some(1), "nothing holds it now");
}
