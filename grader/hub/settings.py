"""What a course hub is made of: where its environment and its state live, its ports, its
accounts.  ``make hub`` uses the defaults; the end-to-end test makes its own.  The settings
are kept as JSON in the hub's private folder, where the JupyterHub configuration reads them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Account:
    """A Unix account of the hub: its name (the nbgrader student id) and full name."""

    name: str
    full_name: str


@dataclass(frozen=True)
class HubSettings:
    """A course hub on 127.0.0.1.

    ``prefix`` holds the environment every account runs (``environment.py``); ``state``
    holds ``exchange/``, nbgrader's exchange shared by every account, and ``hub/``, readable
    by root alone: JupyterHub's database, cookie secret, configuration and the passwords.
    """

    prefix: Path = Path("/opt/backprop-hub")
    state: Path = Path("/srv/backprop-hub")
    port: int = 8000
    hub_port: int = 8081
    proxy_api_port: int = 8001
    instructor: Account = Account("instructor", "Course Instructor")
    students: tuple[Account, ...] = field(
        default=(
            Account("student1", "Ada Lovelace"),
            Account("student2", "Alan Turing"),
            Account("student3", "Grace Hopper"),
        )
    )
    course_folder: str = "backprop-chapter8"
    """The instructor's course, ``~instructor/<course_folder>``."""
    assignments: tuple[str, ...] = ()
    """The assignments the instructor's course starts with (all of the repository's when
    empty)."""

    @property
    def exchange(self) -> Path:
        return self.state / "exchange"

    @property
    def private(self) -> Path:
        return self.state / "hub"

    @property
    def accounts(self) -> tuple[Account, ...]:
        return (self.instructor, *self.students)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def save(self) -> Path:
        """Write the settings to ``hub/settings.json``; return its path."""
        path = self.private / "settings.json"
        data = asdict(self)
        path.write_text(json.dumps(data, default=str, indent=1), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: Path) -> HubSettings:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(
            prefix=Path(data["prefix"]),
            state=Path(data["state"]),
            port=data["port"],
            hub_port=data["hub_port"],
            proxy_api_port=data["proxy_api_port"],
            instructor=Account(**data["instructor"]),
            students=tuple(Account(**s) for s in data["students"]),
            course_folder=data["course_folder"],
            assignments=tuple(data["assignments"]),
        )
