"""A real OpenSSH server for the tests: Debian's sshd on 127.0.0.1 at a free port, unprivileged
configuration in a temporary folder, a host key and a client key made for the test.

`make test` installs openssh-server (Makefile `system-deps`). Where it is installed, a server that
does not start fails the test; only where it is missing (a developer's machine without root) are
the tests that need it skipped.
"""

from __future__ import annotations

import getpass
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

SSHD = Path("/usr/sbin/sshd")
SSH_KEYGEN = "ssh-keygen"
# A password the test puts in the source URL, to prove it never appears anywhere.
TEST_PASSWORD = "Pw-never-shown-7f3c91"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def keygen(path: Path, comment: str) -> Path:
    subprocess.run([SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)], check=True)
    return path


@dataclass
class SshServer:
    root: Path  # the test's folder: keys, configuration, log
    port: int
    user: str
    client_key: Path
    known_hosts: Path
    process: subprocess.Popen | None = None

    def url(self, path: Path, password: str | None = TEST_PASSWORD) -> str:
        """An sftp:// URL of `path` (with `{year}` in it) on this server."""
        userinfo = f"{self.user}:{password}" if password else self.user
        return f"sftp://{userinfo}@127.0.0.1:{self.port}{path}"

    def options(self, key_file: Path | None = None, **more) -> dict:
        return {"key_file": str(key_file or self.client_key), "known_hosts": str(self.known_hosts), **more}

    @property
    def log(self) -> str:
        path = self.root / "sshd.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(SSHD), "-D", "-e", "-f", str(self.root / "sshd_config"), "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=(self.root / "sshd.log").open("ab"),
            start_new_session=True,  # its own process group: stopped by its pid, with its children
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"sshd exited with status {self.process.returncode}:\n{self.log}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    if s.recv(64).startswith(b"SSH-2.0-"):
                        return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"sshd did not answer on 127.0.0.1:{self.port} within 15 s:\n{self.log}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)  # the group this server leads, nothing else
        except ProcessLookupError:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def make_server(root: Path) -> SshServer:
    """Keys and an unprivileged sshd configuration under `root` (not started)."""
    if not SSHD.exists():
        # Where `make test` installs it (as root, and always in CI), its absence is a failure.
        if os.geteuid() == 0 or os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{SSHD} is missing although `make system-deps` installs openssh-server here")
        pytest.skip("Debian's openssh-server is not installed (`make system-deps` installs it as root)")
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o700)
    host_key = keygen(root / "ssh_host_ed25519_key", "iom-test-host")
    client_key = keygen(root / "client_key", "iom-test-client")
    authorized = root / "authorized_keys"
    authorized.write_text((root / "client_key.pub").read_text())
    os.chmod(authorized, 0o600)
    port = free_port()
    known_hosts = root / "known_hosts"
    key_type, key_text, *_ = (root / "ssh_host_ed25519_key.pub").read_text().split()
    known_hosts.write_text(f"[127.0.0.1]:{port} {key_type} {key_text}\n")
    (root / "sshd_config").write_text(
        "\n".join([
            "ListenAddress 127.0.0.1",
            f"HostKey {host_key}",
            f"PidFile {root / 'sshd.pid'}",
            f"AuthorizedKeysFile {authorized}",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PermitRootLogin prohibit-password",
            # Unprivileged and in a temporary folder: no PAM, no ownership checks on these files.
            "UsePAM no",
            "StrictModes no",
            "Subsystem sftp internal-sftp",
            "LogLevel VERBOSE",
            "",
        ])
    )
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(parents=True, exist_ok=True)  # sshd's privilege-separation folder
    return SshServer(root, port, getpass.getuser(), client_key, known_hosts)
