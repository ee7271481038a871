"""Settings, read once from the environment at start-up and validated with a clear message.

Only ``FUNDING_ENGINE_*`` variables are read (and ``XDG_DATA_HOME`` to find the default data folder
of an engine installed outside a checkout). Nothing here connects to anything: the composition
root (``funding_engine.bootstrap``) does that, when asked.
"""

from __future__ import annotations

import itertools
import math
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from domain.errors import InvalidValue
from domain.payment_files import CostCentres, RunFileColumns

# OidcSettings is re-exported: the web adapter reads the settings from this module only.
from funding_engine.sign_in_settings import OidcSettings as OidcSettings
from funding_engine.sign_in_settings import SignInSettings

# The default database is this file in the data folder (see ``default_data_dir``).
DATABASE_FILE = "funding.sqlite3"
# Twelve hours: a working day with margin. A token cannot be revoked, so its lifetime is the
# window in which a leaked one works.
DEFAULT_TOKEN_MAX_LIFETIME_MINUTES = 720
GENERATE_A_SECRET = 'python3 -c "import secrets; print(secrets.token_urlsafe(48))"'


@dataclass(frozen=True)
class SQLiteStore:
    path: str  # a file path, or ":memory:"

    def library_env(self) -> dict[str, str]:
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": self.path,
            "SQLITE_LOCK_TIMEOUT": "30",
        }

    def describe(self) -> str:
        return f"SQLite file {self.path if self.path == ':memory:' else os.path.abspath(self.path)}"


# libpq connection parameters a PostgreSQL URL may carry (``?sslmode=verify-full&sslrootcert=...``),
# as managed PostgreSQL services ask for them; every connection the engine opens passes them on as
# given. Host, port, user, password and database come from the URL's own parts; anything else is
# refused, so a misspelt option stops the start instead of being ignored.
# fmt: off
LIBPQ_OPTIONS = frozenset({
    "sslmode", "sslrootcert", "sslcert", "sslkey", "sslpassword", "sslcrl", "sslcrldir", "sslsni",
    "sslnegotiation", "sslcertmode", "ssl_min_protocol_version", "ssl_max_protocol_version",
    "channel_binding", "require_auth", "gssencmode", "krbsrvname", "gsslib", "gssdelegation",
    "requirepeer", "passfile", "hostaddr", "connect_timeout", "application_name",
    "fallback_application_name", "target_session_attrs", "load_balance_hosts", "options",
    "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count", "tcp_user_timeout",
})
# fmt: on
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
# Where the library's PostgreSQL factory (funding_engine/storage/postgres_factory.py) finds them.
LIBPQ_OPTIONS_VARIABLE = "FUNDING_ENGINE_LIBPQ_OPTIONS"
# Shown only as set or not: they may be secrets or name where the secrets are.
_UNSHOWN_OPTIONS = frozenset({"sslpassword", "passfile", "sslkey"})


@dataclass(frozen=True)
class PostgresStore:
    host: str
    port: int
    user: str
    password: str
    dbname: str
    schema: str
    pool_size: int = 5
    max_overflow: int = 10
    # (name, value) pairs from LIBPQ_OPTIONS, in the URL's order.
    options: tuple[tuple[str, str], ...] = ()

    def library_env(self) -> dict[str, str]:
        extra: dict[str, str] = {}
        if self.options:
            # The library's own factory connects with host, port, user, password and dbname only.
            from psycopg.conninfo import make_conninfo

            extra = {
                "PERSISTENCE_MODULE": "funding_engine.storage.postgres_factory:PostgresFactory",
                LIBPQ_OPTIONS_VARIABLE: make_conninfo(**dict(self.options)),
            }
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_HOST": self.host,
            "POSTGRES_PORT": str(self.port),
            "POSTGRES_USER": self.user,
            "POSTGRES_PASSWORD": self.password,
            "POSTGRES_DBNAME": self.dbname,
            "POSTGRES_SCHEMA": self.schema,
            "POSTGRES_POOL_SIZE": str(self.pool_size),
            "POSTGRES_MAX_OVERFLOW": str(self.max_overflow),
            "POSTGRES_CONNECT_TIMEOUT": "10",
            "POSTGRES_LOCK_TIMEOUT": "30",
            **extra,
        }

    def conninfo(self) -> str:
        from psycopg.conninfo import make_conninfo

        return make_conninfo(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password or None,
            dbname=self.dbname,
            **dict(self.options),
        )

    def describe(self) -> str:
        """Where the log is, for a person: never the password."""
        described = f"PostgreSQL database {self.dbname} on {self.host}:{self.port}, schema {self.schema}"
        if self.options:
            shown = (f"{name}=***" if name in _UNSHOWN_OPTIONS else f"{name}={value}" for name, value in self.options)
            described += f" ({', '.join(shown)})"
        return described


Store = SQLiteStore | PostgresStore


def parse_database_url(url: str) -> Store:
    """``sqlite:///relative.sqlite3`` (to the current folder), ``sqlite:////absolute.sqlite3``,
    ``sqlite:///:memory:``, or ``postgresql://user:password@host:port/dbname[?schema=name&sslmode=...]``."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        if parts.netloc:
            raise ValueError("a SQLite URL has no host: use sqlite:///relative/path or sqlite:////absolute/path")
        path = unquote(parts.path[1:]) if parts.path.startswith("/") else ""
        if not path:
            raise ValueError("a SQLite URL needs a file path, e.g. sqlite:////srv/funding/funding.sqlite3")
        return SQLiteStore(path)
    if scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        dbname = unquote(parts.path.lstrip("/"))
        if not dbname or "/" in dbname:
            raise ValueError("a PostgreSQL URL needs a database name, e.g. postgresql://user@host:5432/funding")
        try:
            port = parts.port or 5432
        except ValueError:
            raise ValueError("the PostgreSQL port must be a number") from None
        query = parse_qsl(parts.query, keep_blank_values=True)
        names = [name for name, _ in query]
        unknown = sorted(set(names) - LIBPQ_OPTIONS - {"schema"})
        if unknown:
            raise ValueError(
                f"unsupported PostgreSQL URL option(s): {', '.join(unknown)} "
                "(known: schema and libpq's connection options, e.g. sslmode, sslrootcert, connect_timeout)"
            )
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"a PostgreSQL URL option is given more than once: {', '.join(repeated)}")
        given = dict(query)
        schema = given.pop("schema", "public")
        if not schema.replace("_", "").isalnum():
            raise ValueError("the PostgreSQL schema must be letters, digits and underscores")
        _check_libpq_options(given)
        return PostgresStore(
            host=parts.hostname or "localhost",
            port=port,
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password or ""),
            dbname=dbname,
            schema=schema,
            options=tuple(given.items()),
        )
    raise ValueError(
        f"FUNDING_ENGINE_DATABASE_URL must start with sqlite:/// or postgresql://, got {scheme or 'no scheme'}://..."
    )


def _check_libpq_options(options: dict[str, str]) -> None:
    """Refuse now what libpq would refuse at the first connection, for the options people mistype."""
    sslmode = options.get("sslmode")
    if sslmode is not None and sslmode not in SSL_MODES:
        raise ValueError(f"sslmode must be one of {', '.join(SSL_MODES)}")
    timeout = options.get("connect_timeout")
    if timeout is not None and not timeout.isdigit():
        raise ValueError("connect_timeout must be a whole number of seconds")


MIN_SECRET_LENGTH = 32
MIN_SECRET_DISTINCT_CHARACTERS = 8
MIN_SECRET_BITS = 85.0


def secret_weakness(secret: str) -> str | None:
    """Why a secret that signs tokens or keys the audit chain is too guessable, or None.

    A string cannot prove it was generated at random; this refuses what a person types or pastes
    by mistake. The estimate is the Shannon entropy of the string's own characters times its
    length, and also of the steps between neighbouring characters, whichever is lower: the first
    is low for ``aaaa...`` or ``abab...``, the second for runs such as ``abcdef...`` or
    ``0123456789abcdef``. A string that merely repeats a shorter one is refused whatever it
    scores. The floor of 85 bits sits below what any random 32-character secret from the usual
    generators scores (no 128-bit hex string from ``openssl rand -hex 16`` fell below it in a
    million tries; the recommended 48-byte secrets score around 300), and well above 32 copies of
    one character (0) or two (32). Whitespace and control characters are refused: they are how a
    blank or a pasted line ending gets into an environment variable.
    """
    if len(secret) < MIN_SECRET_LENGTH:
        return f"must be at least {MIN_SECRET_LENGTH} characters"
    if any(character.isspace() or not character.isprintable() for character in secret):
        return "must not contain spaces, line breaks or other invisible characters"
    if len(set(secret)) < MIN_SECRET_DISTINCT_CHARACTERS:
        return f"has too little variety: fewer than {MIN_SECRET_DISTINCT_CHARACTERS} different characters"
    if _repeats_a_shorter_string(secret):
        return "has too little variety: it repeats a shorter string"
    steps = [ord(after) - ord(before) for before, after in itertools.pairwise(secret)]
    if min(_shannon_bits(secret), _shannon_bits(steps)) < MIN_SECRET_BITS:
        return "has too little variety: it looks like a pattern rather than a random string"
    return None


def _shannon_bits(symbols: Sequence[object]) -> float:
    count = len(symbols)
    return -sum(n * math.log2(n / count) for n in Counter(symbols).values())


def _repeats_a_shorter_string(text: str) -> bool:
    # A period p means text[i] == text[i + p] throughout: "abcabcab" has period 3.
    return any(text[period:] == text[:-period] for period in range(1, len(text) // 2 + 1))


RETIRED_SETTINGS = {
    "FUNDING_ENGINE_TERM_SHARES": "instalment_shares",
    "FUNDING_ENGINE_EXPECTED_OWN_SPEND_PER_PUPIL_POUNDS": "expected_own_spend_per_pupil",
    "FUNDING_ENGINE_PROVISION_REVIEW_WEEKS": "provision_review_weeks",
}


class Settings(SignInSettings):
    """The engine's settings. Each field reads ``FUNDING_ENGINE_<NAME>`` from the environment
    (the web sign-in's are in ``sign_in_settings``)."""

    # A refused value is not repeated in the error: it may be a secret, or a URL with a password.
    model_config = SettingsConfigDict(env_prefix="FUNDING_ENGINE_", extra="ignore", hide_input_in_errors=True)

    # Unset: the SQLite file DATABASE_FILE in the data folder, wherever the command is run from.
    database_url: str | None = None
    # The folder of the default database and of development mode's files; unset: default_data_dir().
    data_dir: Path | None = None
    # "inline": the application catches read models up itself; "worker": a separate
    # `funding-engine projections run` process does, and queries wait for it (see read_side.py).
    projections: Literal["inline", "worker"] = "inline"
    # How long a query waits for the projection worker before answering with a clear error.
    read_timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    # How long a repeat with the same Idempotency-Key is answered from the first request's record.
    idempotency_ttl_hours: float = Field(default=24.0, gt=0, le=24 * 366)
    # Optional secret that keys the audit hash chain (HMAC): without it a forger cannot re-chain.
    audit_key: SecretStr | None = None
    # A folder outside the database where the server and the projection worker write audit anchors
    # (the chain's head) every so often, and which `audit verify` checks by default.
    audit_anchor_dir: Path | None = None
    audit_anchor_interval_minutes: float = Field(default=60.0, gt=0, le=7 * 24 * 60)
    # Signs and checks the API's bearer tokens (HS256). `serve` refuses to start without it,
    # unless started with --dev, which makes a throwaway one.
    jwt_secret: SecretStr | None = None
    # The longest lifetime (exp - iat) a bearer token may have; `token --minutes` is capped by it too.
    token_max_lifetime_minutes: int = Field(default=DEFAULT_TOKEN_MAX_LIFETIME_MINUTES, ge=1, le=7 * 24 * 60)
    # A request whose line and headers are larger is answered 431; a bearer token alone is about 400 bytes.
    max_header_bytes: int = 16 * 1024
    # A request whose headers are not complete this long after the connection opened, or after the
    # request's first byte on a kept-alive connection, is answered 408: a slow client cannot hold a socket.
    header_timeout_seconds: float = 10.0
    # A payment run's file as the council's finance system imports it (issue 13): the headings of
    # its columns, and the cost centre each award is booked to, as JSON (domain/payment_files.py).
    payment_run_columns: str = "{}"
    cost_centres: str = "{}"

    @field_validator("payment_run_columns", "cost_centres")
    @classmethod
    def _payment_run_file_settings_are_json(cls, value: str, info: ValidationInfo) -> str:
        parse = RunFileColumns.parse if info.field_name == "payment_run_columns" else CostCentres.parse
        try:
            parse(value)
        except InvalidValue as error:
            raise ValueError(str(error)) from None
        return value

    @model_validator(mode="after")
    def _no_retired_settings(self) -> Settings:
        # These became policy parameters (issue 14). Left in the environment they would be quietly
        # ignored, and the council would believe it decides by values it does not.
        for variable, parameter in RETIRED_SETTINGS.items():
            if variable in os.environ:
                raise ValueError(
                    f"{variable} is now the policy parameter {parameter}: change it on the Policy page or "
                    f"with POST /policy/changes (see docs/API.md), then unset {variable}"
                )
        return self

    @field_validator("jwt_secret", "audit_key")
    @classmethod
    def _secret_is_strong(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is not None:
            problem = secret_weakness(value.get_secret_value())
            if problem:
                name = f"FUNDING_ENGINE_{(info.field_name or '').upper()}"
                raise ValueError(f"{name} {problem}; generate a good one with: {GENERATE_A_SECRET}")
        return value

    @field_validator("max_header_bytes")
    @classmethod
    def _max_header_bytes_is_sane(cls, value: int) -> int:
        if not 4 * 1024 <= value <= 1024 * 1024:
            raise ValueError("FUNDING_ENGINE_MAX_HEADER_BYTES must be between 4096 and 1048576 (bytes)")
        return value

    @field_validator("header_timeout_seconds")
    @classmethod
    def _header_timeout_is_sane(cls, value: float) -> float:
        # `not (0 < value <= 300)` also refuses NaN.
        if not 0 < value <= 300:
            raise ValueError("FUNDING_ENGINE_HEADER_TIMEOUT_SECONDS must be more than 0 and at most 300 (seconds)")
        return value

    @field_validator("data_dir", mode="before")
    @classmethod
    def _data_dir_is_named(cls, value: object) -> object:
        # An empty value would silently mean the current folder: the trap this setting avoids.
        if isinstance(value, str) and not value.strip():
            raise ValueError("FUNDING_ENGINE_DATA_DIR is empty: name a folder, or unset it for the default")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url_is_usable(cls, value: str | None) -> str | None:
        if value is not None:
            parse_database_url(value)
        return value

    @property
    def data_folder(self) -> Path:
        return Path(os.path.abspath(self.data_dir if self.data_dir is not None else default_data_dir()))

    @property
    def store(self) -> Store:
        if self.database_url is None:
            return SQLiteStore(str(self.data_folder / DATABASE_FILE))
        return parse_database_url(self.database_url)


def default_data_dir() -> Path:
    """Where the default database lives when neither FUNDING_ENGINE_DATABASE_URL nor _DATA_DIR says.

    Found from where the engine is installed, never from the current folder, so a command run
    from another folder reads the same log instead of quietly starting an empty one. In a checkout
    (``make run`` installs it there, editable) that is the checkout's ``var/``; an engine installed
    from a wheel has no checkout and uses the platform's data folder.
    """
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").is_file():
        return checkout / "var"
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "funding-engine"


def ensure_sqlite_file(path: str) -> None:
    """Create the folder, and the file readable by its owner only (it holds the whole record)."""
    if path == ":memory:" or path.startswith("file:"):
        return
    file = Path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    if not file.exists():
        file.touch(mode=0o600)
