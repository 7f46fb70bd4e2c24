"""What the settings and the web server's launcher (which runs before
Django) read from the environment in the same way: the optional ``.env``
file and strict booleans."""

from pathlib import Path

DOTENV = Path(__file__).resolve().parent.parent / ".env"

TRUE_VALUES = frozenset({"1", "true", "yes", "on"})
FALSE_VALUES = frozenset({"0", "false", "no", "off", ""})


def read_dotenv(path=DOTENV):
    """Add the variables of ``.env`` (if there is one) that the environment
    does not already set. As in ``.env.example``: a comment may follow a
    value (after white space and ``#``), and ``NAME=`` with no value leaves
    the variable unset, so the example file copied as it is means the
    defaults. ``KM_DOTENV=0`` turns the file off (the test suite and
    the processes it starts do, and the test settings never read it: a
    developer's ``.env`` must not change what the tests see)."""
    import os

    import environ

    if os.environ.get("KM_DOTENV", "1") == "0":
        return
    before = set(os.environ)
    environ.Env.read_env(path, overwrite=False, parse_comments=True)
    for name in set(os.environ) - before:
        value = os.environ[name].strip()  # the white space before a comment
        if value:
            os.environ[name] = value
        else:
            del os.environ[name]


def parse_bool(name, raw):
    """True or False for ``raw``; a typo such as ``ture`` is a ValueError
    naming the variable, not False."""
    value = str(raw).strip().lower()
    if value in TRUE_VALUES:
        return True
    if value in FALSE_VALUES:
        return False
    raise ValueError(
        f"Environment variable {name}={raw!r} is not a boolean (use one of: true, false, 1, 0, yes, no, on, off)"
    )


def parse_networks(name, raw):
    """The addresses and networks of a comma-separated list (``10.0.0.5``,
    ``10.1.0.0/16``, ``::1``) as ``ipaddress`` networks; anything else is a
    ValueError naming the variable and the entry."""
    import ipaddress

    networks = []
    for entry in str(raw or "").split(","):
        entry = entry.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(
                f"Environment variable {name}: {entry!r} is not an IP address or network "
                "(use a comma-separated list such as 10.0.0.5,10.1.0.0/16)"
            ) from None
    return tuple(networks)
