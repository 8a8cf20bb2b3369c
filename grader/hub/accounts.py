"""The hub's Unix accounts: made when missing (as root), each with a private home, and the
demo passwords the hub's authenticator checks (made once, kept where only root reads)."""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import subprocess
from pathlib import Path

from grader.hub.settings import Account, HubSettings

SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class AccountsFailed(RuntimeError):
    """An account could not be made (the message says why)."""


def ensure_account(account: Account) -> bool:
    """Make ``account`` (home folder, own group, its full name) unless it exists; return
    True when it was made.  Its home is readable by it alone either way."""
    made = not _exists(account.name)
    if made:
        useradd = shutil.which("useradd", path=SYSTEM_PATH)
        if useradd is None:
            raise AccountsFailed("useradd is missing (apt-get install passwd)")
        command = [useradd, "--create-home", "--user-group", "--shell", "/bin/bash"]
        done = subprocess.run(
            [*command, "--comment", account.full_name, account.name],
            capture_output=True,
            text=True,
        )
        if done.returncode:
            raise AccountsFailed(f"useradd {account.name}: {done.stderr.strip()}")
    os.chmod(home(account.name), 0o700)
    return made


def _exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def remove_account(name: str) -> None:
    """Remove the account ``name`` and its home (what ``ensure_account`` made)."""
    userdel = shutil.which("userdel", path=SYSTEM_PATH)
    subprocess.run([userdel, "--remove", name], capture_output=True, check=False)


def home(name: str) -> Path:
    return Path(pwd.getpwnam(name).pw_dir)


def chown_tree(path: Path, name: str) -> None:
    """Give ``path`` and everything under it (links themselves) to the account ``name``."""
    entry = pwd.getpwnam(name)
    os.lchown(path, entry.pw_uid, entry.pw_gid)
    for folder, folders, files in os.walk(path):
        for item in folders + files:
            os.lchown(os.path.join(folder, item), entry.pw_uid, entry.pw_gid)


def passwords(settings: HubSettings) -> dict[str, str]:
    """The demo password of every account of the hub, made on first use and kept in the
    hub's private folder (mode 600): ``hub/passwords.json``."""
    path = settings.private / "passwords.json"
    known = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    wanted = {a.name: known.get(a.name) or secrets.token_urlsafe(9) for a in settings.accounts}
    if wanted != known:
        path.touch(mode=0o600)
        path.write_text(json.dumps(wanted, indent=1), encoding="utf-8")
    return wanted
