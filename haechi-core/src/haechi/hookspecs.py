"""Every pluggy hook of Haechi, in one place.

Haechi prefers *registries of named classes* over per-request fan-out: a registry hook
receives a ``register`` callback and calls it once per class it contributes. Each class
carries a unique ``NAME``; configuration refers to components by that name, and two
classes with the same ``NAME`` in one registry stop start-up with an error naming both.

Built-in features use these very hooks (see ``haechi.plugins.DEFAULT_PLUGINS``), so an
external distribution registered under the entry-point group ``haechi`` can add to every
registry below. After loading, ``PluginManager.check_pending()`` makes a misspelt hook
name fail start-up.

Hooks are synchronous. Components they register may expose ``async`` methods; callers
await every result and deny on doubt (pluggy's ``firstresult`` is never mixed with
coroutines).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

__all__ = ["PROJECT_NAME", "hookimpl", "hookspec"]

PROJECT_NAME = "haechi"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

Register = Callable[[type], None]


# ---------------------------------------------------------------------------------------
# Bootstrap
# ---------------------------------------------------------------------------------------


@hookspec
def haechi_addhooks(pluginmanager: pluggy.PluginManager) -> None:
    """Add hook specifications of a plugin's own.

    :param pluginmanager: the Haechi plugin manager; call ``add_hookspecs`` on it.
    """


@hookspec
def haechi_configure(config: Any) -> None:
    """Called once after the configuration is loaded and validated, before any command
    runs. A plugin may read its own section here; it must not mutate ``config`` (it is
    frozen). Raising :class:`haechi.errors.HaechiError` stops start-up.

    :param config: the validated :class:`haechi.config.HaechiConfig`.
    """


# ---------------------------------------------------------------------------------------
# Registries
# ---------------------------------------------------------------------------------------


@hookspec
def haechi_register_detectors(register: Register) -> None:
    """Register detector classes.

    A detector class has a unique ``NAME`` and is constructed with no arguments. It
    offers ``rules() -> Sequence[haechi.detect.Rule]`` (regular-expression rules compiled
    into the linear-time engine, optionally with a Python validator per match) and may
    offer ``scan(text: str, direction: str) -> Iterable[haechi.Match]`` for detection that
    is not a regular expression. Every detected type must be listed in ``TYPES``.

    :param register: call ``register(cls)`` once per detector class.
    """


@hookspec
def haechi_register_actions(register: Register) -> None:
    """Register action classes (``allow``, ``redact``, ``mask``, ``tokenize``,
    ``encrypt``, ``block`` are built in).

    An action class has a unique ``NAME``, an integer ``STRENGTH`` (0 weakest; ``block``
    is 3) and ``BLOCKS: bool``. A non-blocking action implements
    ``replacement(finding, services) -> str`` returning the text that replaces the
    matched span; see :mod:`haechi.actions`.

    :param register: call ``register(cls)`` once per action class.
    """


@hookspec
def haechi_register_protocol_adapters(register: Register) -> None:
    """Register protocol adapter classes for the proxy (``openai-compatible``,
    ``vllm-openai``, ``llama-cpp``, ``ollama``, ``anthropic``, ``gemini``).

    An adapter class has a unique ``NAME``, optional ``ALIASES: tuple[str, ...]`` and
    ``classify(method: str, path: str) -> Route`` describing the route id, whether it
    streams by default, its stream format (``sse``/``ndjson``/None) and delta path.

    :param register: call ``register(cls)`` once per adapter class.
    """


@hookspec
def haechi_register_authenticators(register: Register) -> None:
    """Register authenticator classes selected by ``auth.provider``.

    An authenticator class has a unique ``NAME`` and an ``async authenticate(request)``
    returning an identity or None (None means "no valid credential": the proxy answers
    401). It must never raise; an exception is treated as a denial.

    :param register: call ``register(cls)`` once per authenticator class.
    """


@hookspec
def haechi_register_crypto_providers(register: Register) -> None:
    """Register crypto provider classes selected by ``keys.provider``.

    A provider class has a unique ``NAME``, a ``from_config(config)`` classmethod, and
    implements ``encrypt(plaintext: bytes, aad: Mapping, expires_at=None) -> dict`` (an
    envelope), ``decrypt(envelope, aad) -> bytes`` and ``hmac(data: str, domain: str, *,
    kid=None) -> str`` (hex; ``kid`` selects a retired key, for verifying old bundles). The
    local key-file provider is built in; ``haechi-crypto-kms`` adds KMS-backed ones.

    :param register: call ``register(cls)`` once per provider class.
    """


@hookspec
def haechi_register_rate_limiters(register: Register) -> None:
    """Register rate limiter classes.

    A rate limiter class has a unique ``NAME`` and an ``async allow(key: str, limit: int,
    window_ms: int) -> bool``. The in-memory one is built in;
    ``haechi-ratelimit-redis`` adds a shared one.

    :param register: call ``register(cls)`` once per rate limiter class.
    """


@hookspec
def haechi_register_audit_sinks(register: Register) -> None:
    """Register audit sink classes selected by ``audit.sink``.

    An audit sink class has a unique ``NAME``, a ``from_config(config, *, pm=None)``
    classmethod, and implements ``record(event: dict) -> dict`` (returns the stored record
    with its ``auditIntegrity``) and ``ready() -> tuple[bool, str | None]``. Sinks must
    never store a raw value; the core sanitizes every event before it reaches a sink.

    :param register: call ``register(cls)`` once per sink class.
    """


@hookspec
def haechi_register_token_stores(register: Register) -> None:
    """Register token vault store classes selected by ``tokenVault.provider``.

    A store class has a unique ``NAME``, a ``from_config(config)`` classmethod, and
    implements the store seam of :mod:`haechi.vault.store`: records hold envelopes only,
    never plaintext.

    :param register: call ``register(cls)`` once per store class.
    """


@hookspec
def haechi_register_cli_commands(register: Register) -> None:
    """Register ``haechi`` sub-commands.

    A command class has a unique ``NAME`` (the sub-command word), a one-line
    ``SUMMARY``, optional ``USAGE``/``DETAIL`` help text, a static
    ``add_arguments(parser)`` (argparse) and ``run(args, output, pm) -> int`` returning
    the exit code (``output`` is :class:`haechi.cli.console.Output`).

    :param register: call ``register(cls)`` once per command class.
    """


@hookspec
def haechi_register_config_sections(register: Register) -> None:
    """Register a top-level configuration section owned by a plugin.

    The class is a frozen attrs class with a unique ``NAME`` (the JSON key); its fields
    have defaults so the section is optional. It is validated by the same strict
    converter as the core sections, so unknown keys and wrong types fail closed.

    :param register: call ``register(cls)`` once per section class.
    """


# ---------------------------------------------------------------------------------------
# Request path (fan-out)
# ---------------------------------------------------------------------------------------


@hookspec
def haechi_audit_event(event: dict) -> None:
    """Observe every audit record after it was appended to the chain (for metrics or
    forwarding). ``event`` is the sanitized record; it holds no raw value. Exceptions
    raised here are logged and ignored: the record is already stored.

    :param event: the stored record, including ``auditIntegrity``.
    """
