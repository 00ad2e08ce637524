"""The real ``haechi proxy`` process: bind guard, TLS, graceful drain, JSON logs."""

from __future__ import annotations

import json
import re
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest
from haechi.errors import HaechiError
from haechi.proxy.bind import check_bind, is_loopback_host

from tests.core.proxy.conftest import (
    RAW_EMAIL,
    ProxyProcess,
    assert_no_raw_values,
    chat,
    make_workdir,
    tls_for_localhost,
)


def _post(url: str, body: dict, *, context: ssl.SSLContext | None = None,
          timeout: float = 30) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "127.8.9.10", "::1", "[::1]",
                                  "0:0:0:0:0:0:0:1"])
def test_loopback_hosts(host):
    assert is_loopback_host(host)
    assert check_bind(host, allow_remote_bind=False, tls=False, trust_forwarded_proto=False) \
        is False


def test_remote_bind_guard():
    with pytest.raises(HaechiError, match=re.escape(
            "Refusing to bind Haechi proxy to non-loopback host 0.0.0.0. Use --allow-remote-bind")):
        check_bind("0.0.0.0", allow_remote_bind=False, tls=True, trust_forwarded_proto=True)
    with pytest.raises(HaechiError, match=re.escape("0.0.0.0 without TLS")):
        check_bind("0.0.0.0", allow_remote_bind=True, tls=False, trust_forwarded_proto=False)
    assert check_bind("0.0.0.0", allow_remote_bind=True, tls=True,
                      trust_forwarded_proto=False) is False
    assert check_bind("0.0.0.0", allow_remote_bind=True, tls=False,
                      trust_forwarded_proto=True) is True


def test_the_cli_refuses_a_remote_bind(tmp_path, stub):
    workdir = make_workdir(tmp_path, stub.url)
    proc = subprocess.run([sys.executable, "-m", "haechi", "proxy", "--host", "0.0.0.0"],
                          cwd=workdir, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "Refusing to bind Haechi proxy to non-loopback host 0.0.0.0" in proc.stderr


def test_forwarded_proto_is_required_behind_a_trusted_front(tmp_path, stub):
    def edit(config):
        config["proxy"]["trustForwardedProto"] = True

    proxy = ProxyProcess(make_workdir(tmp_path, stub.url, edit), "--host", "0.0.0.0",
                         "--allow-remote-bind")
    try:
        url = f"http://127.0.0.1:{proxy.port}"
        status, body = _post(url + "/v1/chat/completions", chat("hi"))
        assert (status, body["error"]) == (403, "haechi_forwarded_proto_required")
        request = urllib.request.Request(
            url + "/v1/chat/completions", data=json.dumps(chat("hi")).encode(),
            headers={"Content-Type": "application/json", "X-Forwarded-Proto": "https, http"})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200
        with urllib.request.urlopen(url + "/__haechi/live", timeout=30) as response:
            assert response.status == 200  # observability routes are exempt
    finally:
        proxy.stop()


def test_tls_with_a_throwaway_certificate(tmp_path, stub):
    serve_tls, context = tls_for_localhost(tmp_path)
    proxy = ProxyProcess(make_workdir(tmp_path / "w", stub.url, serve_tls))
    try:
        assert proxy.scheme == "https"
        status, body = _post(proxy.url + "/v1/chat/completions", chat(f"hi {RAW_EMAIL}"),
                             context=context)
        assert status == 200
        assert body["choices"][0]["message"]["content"] == "You said: hi [REDACTED:email]"
        with pytest.raises(urllib.error.URLError):  # an untrusting client refuses it
            _post(proxy.url + "/v1/chat/completions", chat("hi"),
                  context=ssl.create_default_context())
    finally:
        proxy.stop()


def test_graceful_drain_finishes_in_flight_requests(tmp_path, stub):
    def edit(config):
        config["limits"]["shutdownGraceMs"] = 5000
        config["logging"]["format"] = "json"

    proxy = ProxyProcess(make_workdir(tmp_path, stub.url, edit))
    results: list[tuple[int, dict]] = []
    slow = threading.Thread(target=lambda: results.append(_post(
        proxy.url + "/v1/chat/completions?delay=1.5", {"model": "slow", "messages": []})))
    slow.start()
    time.sleep(0.5)
    started = time.monotonic()
    output = proxy.stop(signal.SIGTERM)
    slow.join(10)
    assert results and results[0][0] == 200  # the in-flight request completed
    assert proxy.proc.returncode == 0
    assert time.monotonic() - started < 10
    log_lines = [json.loads(line) for line in output.splitlines() if line.startswith('{"time"')]
    assert [line["msg"] for line in log_lines] == ["listening", "draining", "stopped"]
    assert log_lines[1]["inFlight"] == 1


def test_drain_deadline_cuts_what_is_left(tmp_path, stub):
    def edit(config):
        config["limits"]["shutdownGraceMs"] = 300

    proxy = ProxyProcess(make_workdir(tmp_path, stub.url, edit))
    errors: list[BaseException] = []

    def call():
        try:
            _post(proxy.url + "/v1/chat/completions?delay=20", {"model": "slow", "messages": []})
        except Exception as exc:
            errors.append(exc)

    waiting = threading.Thread(target=call)
    waiting.start()
    time.sleep(0.5)
    started = time.monotonic()
    proxy.stop(signal.SIGINT)
    waiting.join(15)
    assert time.monotonic() - started < 8
    assert errors  # the request was cut, not left hanging


def test_json_logs_hold_no_raw_value(tmp_path, stub):
    def edit(config):
        config["logging"]["format"] = "json"
        config["responseProtection"]["enabled"] = True

    proxy = ProxyProcess(make_workdir(tmp_path, stub.url, edit))
    try:
        _post(proxy.url + "/v1/chat/completions", chat(f"mail {RAW_EMAIL}"))
        _post(proxy.url + "/v1/chat/completions", {"model": "nonjson", "messages": [
            {"role": "user", "content": RAW_EMAIL}]})
    finally:
        output = proxy.stop()
    assert_no_raw_values(output, proxy.audit_text())
    for line in output.splitlines():
        if line.startswith("{"):
            assert json.loads(line)["logger"] == "haechi.proxy"
