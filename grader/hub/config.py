"""The JupyterHub configuration of a course hub.

JupyterHub reads ``hub/jupyterhub_config.py`` in the hub's private folder, which calls
``configure`` with the hub's settings: everything on 127.0.0.1; the proxy from the hub's
environment; the demo authenticator; each user's JupyterLab started by JupyterHub's local
process spawner as that user, in their home, from the hub's environment, with the exchange
named for the course's configuration (``COURSE_EXCHANGE``); and the servers and proxy
stopped with the hub.
"""

from __future__ import annotations

from pathlib import Path

from grader.hub.accounts import SYSTEM_PATH
from grader.hub.environment import proxy_command
from grader.hub.settings import HubSettings

CONFIG_FILE = '''"""The course hub's JupyterHub configuration (made by grader/hub/config.py)."""

from grader.hub.config import configure

configure(get_config(), {settings!r})  # noqa: F821
'''


def write_config(settings: HubSettings) -> Path:
    """Write ``hub/jupyterhub_config.py`` and the settings it reads; return its path."""
    path = settings.private / "jupyterhub_config.py"
    path.write_text(CONFIG_FILE.format(settings=str(settings.save())), encoding="utf-8")
    return path


def configure(c, settings_file: str) -> None:
    """Fill the JupyterHub configuration ``c`` for the hub of ``settings_file``."""
    settings = HubSettings.load(Path(settings_file))
    private = settings.private
    c.JupyterHub.ip = "127.0.0.1"
    c.JupyterHub.port = settings.port
    c.JupyterHub.hub_ip = "127.0.0.1"
    c.JupyterHub.hub_port = settings.hub_port
    c.JupyterHub.db_url = f"sqlite:///{private / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(private / "jupyterhub_cookie_secret")
    c.JupyterHub.pid_file = str(private / "jupyterhub.pid")
    c.JupyterHub.cleanup_servers = True
    c.JupyterHub.cleanup_proxy = True
    c.ConfigurableHTTPProxy.command = [str(proxy_command(settings.prefix))]
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{settings.proxy_api_port}"
    c.ConfigurableHTTPProxy.pid_file = str(private / "proxy.pid")

    c.JupyterHub.authenticator_class = "grader.hub.auth.DemoAuthenticator"
    c.DemoAuthenticator.passwords_file = str(private / "passwords.json")
    c.Authenticator.allowed_users = {a.name for a in settings.accounts}

    c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"
    c.Spawner.cmd = [str(settings.prefix / "bin" / "jupyterhub-singleuser")]
    c.Spawner.default_url = "/lab"
    c.Spawner.notebook_dir = "~"
    c.Spawner.environment = {
        "PATH": f"{settings.prefix / 'bin'}:{SYSTEM_PATH}",
        "LANG": "C.UTF-8",
        "COURSE_EXCHANGE": str(settings.exchange),
    }
    c.Spawner.start_timeout = 180
    c.Spawner.http_timeout = 180
