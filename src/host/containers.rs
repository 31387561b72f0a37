//! Which container a process runs in, from its cgroup path alone (no container CLI, no API
//! socket), and the container's name from the runtime's own files where they are readable.
//!
//! Names come from files, not from the Engine API on /run/docker.sock or Podman's socket:
//! the files need no daemon running and no HTTP client, they are what the daemons themselves
//! read at start, and reading them costs one small file per container shown.

use std::collections::HashMap;

use serde::Deserialize;

use crate::model::Container;

/// The container of `pid`, if its cgroup path names one.
pub fn of_pid(pid: u32) -> Option<Container> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    let (runtime, id) = from_cgroups(&text)?;
    Some(Container {
        runtime,
        id,
        name: None,
    })
}

/// Fills in names: Docker's `config.v2.json`, Podman's container store; an id with neither
/// keeps `name: None`.
/// A container's processes share one read of its name.
pub fn name_all<'a>(containers: impl IntoIterator<Item = &'a mut Container>) {
    let mut podman: Option<HashMap<String, String>> = None;
    let mut docker: HashMap<String, Option<String>> = HashMap::new();
    for c in containers {
        c.name = match c.runtime {
            "docker" => docker
                .entry(c.id.clone())
                .or_insert_with(|| docker_name(&c.id))
                .clone(),
            "podman" => podman.get_or_insert_with(podman_names).get(&c.id).cloned(),
            _ => None,
        };
    }
}

/// The first container a `/proc/PID/cgroup` text names (v2's `0::/…` line or any v1
/// hierarchy; they agree when both name one): runtime and full id.
pub fn from_cgroups(text: &str) -> Option<(&'static str, String)> {
    text.lines()
        .filter_map(|line| line.splitn(3, ':').nth(2))
        .find_map(from_path)
}

/// One cgroup path: the last component that names a container, or a Kubernetes pod.
fn from_path(path: &str) -> Option<(&'static str, String)> {
    const SCOPES: [(&str, &str, &str); 6] = [
        // (prefix, suffix, runtime)
        ("docker-", ".scope", "docker"),
        ("libpod-", ".scope", "podman"),
        ("cri-containerd-", ".scope", "containerd"),
        ("crio-", ".scope", "cri-o"),
        // Podman with the cgroupfs manager: /libpod_parent/libpod-<id>.
        ("libpod-", "", "podman"),
        ("crio-", "", "cri-o"),
    ];
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    for (i, part) in parts.iter().enumerate().rev() {
        for (prefix, suffix, runtime) in SCOPES {
            if let Some(id) = part
                .strip_prefix(prefix)
                .and_then(|r| r.strip_suffix(suffix))
                && is_id(id)
            {
                return Some((runtime, id.to_string()));
            }
        }
        // cgroupfs layouts: /docker/<id>, /kubepods/…/<id> (containerd, docker under kubelet).
        if is_id(part) && i > 0 {
            let runtime = match parts[0] {
                "docker" => "docker",
                "kubepods" | "kubepods.slice" => "kubernetes",
                _ => continue,
            };
            return Some((runtime, part.to_string()));
        }
    }
    // A process of a pod, in no container's own cgroup: the pod's uid.
    if !parts.first()?.starts_with("kubepods") {
        return None;
    }
    parts.iter().find_map(|part| {
        let uid = part.rsplit_once("pod")?.1.trim_end_matches(".slice");
        (uid.len() >= 32).then(|| ("kubernetes", uid.replace('_', "-")))
    })
}

/// A container id: 64 lowercase hex digits.
fn is_id(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn docker_name(id: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Config {
        #[serde(rename = "Name")]
        name: String,
    }
    let path = format!("/var/lib/docker/containers/{id}/config.v2.json");
    let config: Config = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    Some(config.name.trim_start_matches('/').to_string())
}

/// Podman's (containers/storage's) list of containers, root's store: id → first name.
fn podman_names() -> HashMap<String, String> {
    #[derive(Deserialize)]
    struct Entry {
        id: String,
        #[serde(default)]
        names: Vec<String>,
    }
    let path = "/var/lib/containers/storage/overlay-containers/containers.json";
    let entries: Vec<Entry> = std::fs::read(path)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default();
    entries
        .into_iter()
        .filter_map(|e| Some((e.id, e.names.into_iter().next()?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "3f4e8a1c2b9d0e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f";

    fn of(path: &str) -> Option<(&'static str, String)> {
        from_cgroups(&format!("0::{path}\n"))
    }

    #[test]
    fn cgroup_paths_of_each_runtime() {
        let cases = [
            (format!("/system.slice/docker-{ID}.scope"), "docker"),
            (format!("/docker/{ID}"), "docker"),
            (
                format!("/machine.slice/libpod-{ID}.scope/container"),
                "podman",
            ),
            (format!("/libpod_parent/libpod-{ID}"), "podman"),
            (
                format!(
                    "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1a2b3c4d_5e6f_7a8b_9c0d_1e2f3a4b5c6d.slice/cri-containerd-{ID}.scope"
                ),
                "containerd",
            ),
            (
                format!("/kubepods.slice/kubepods-pod1.slice/crio-{ID}.scope"),
                "cri-o",
            ),
            (
                format!("/kubepods/besteffort/pod1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d/{ID}"),
                "kubernetes",
            ),
        ];
        for (path, runtime) in cases {
            assert_eq!(of(&path), Some((runtime, ID.to_string())), "{path}");
        }
    }

    #[test]
    fn a_pod_without_a_container_scope_gives_the_pod_uid() {
        let path = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1a2b3c4d_5e6f_7a8b_9c0d_1e2f3a4b5c6d.slice";
        assert_eq!(
            of(path),
            Some((
                "kubernetes",
                "1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d".to_string()
            ))
        );
    }

    #[test]
    fn v1_lines_and_non_containers() {
        let v1 = format!("12:memory:/\n9:name=systemd:/system.slice/docker-{ID}.scope\n0::/\n");
        assert_eq!(from_cgroups(&v1), Some(("docker", ID.to_string())));
        assert_eq!(of("/user.slice/user-1000.slice/session-2.scope"), None);
        assert_eq!(of("/process_api/3b40d79e5e88ee7431f26cd3c48bace1"), None);
        assert_eq!(
            of(&format!("/system.slice/docker-{}.scope", &ID[..12])),
            None
        );
        assert_eq!(of(&format!("/{ID}")), None);
    }
}
