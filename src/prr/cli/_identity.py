"""Who is acting: the name recorded in a review's audit trail for each change.

The first of: ``--as NAME``, the ``PRR_USER`` environment variable, ``git config
user.email``, the operating-system user. Never empty, so every audit event
names somebody.
"""

from __future__ import annotations

import os
import subprocess

USER_ENV = "PRR_USER"


def _git_email() -> str | None:
    try:
        done = subprocess.run(
            ["git", "config", "user.email"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    email = done.stdout.strip()
    return email if done.returncode == 0 and email else None


def _os_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        return f"uid-{os.getuid()}" if hasattr(os, "getuid") else "unknown"


def actor(explicit: str | None) -> str:
    """The acting person: ``explicit``, else ``PRR_USER``, else git's user.email, else OS user."""
    for candidate in (explicit, os.environ.get(USER_ENV)):
        if candidate and candidate.strip():
            return candidate.strip()
    return _git_email() or _os_user()
