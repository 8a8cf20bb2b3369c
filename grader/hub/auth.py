"""The demo hub's authenticator: each account's password from the hub's private
``passwords.json`` (printed when the hub starts).  Fine for a course on one machine reached
from it; a real hub uses the university's login (see README.md)."""

from __future__ import annotations

import hmac
import json
from pathlib import Path

from jupyterhub.auth import Authenticator
from traitlets import Unicode


class DemoAuthenticator(Authenticator):
    """Logs in the accounts listed in ``passwords_file`` with their password."""

    passwords_file = Unicode(help="JSON object: account name -> password").tag(config=True)

    async def authenticate(self, handler, data):
        passwords = json.loads(Path(self.passwords_file).read_text(encoding="utf-8"))
        name = str(data.get("username", ""))
        given = str(data.get("password", "")).encode()
        expected = passwords.get(name)
        if expected is not None and hmac.compare_digest(expected.encode(), given):
            return name
        return None
