from __future__ import annotations

import json

from haechi.config.models import HaechiConfig, ProxyConfig, TlsConfig
from haechi.proxy.metrics import clean_label
from haechi.proxy.status import proxy_status
from haechi.vault.detokenize import detokenize_document


class FakeScope:
    """Restores ``[TOKEN:tok_mine_1]`` only, like a request's TokenScope."""

    def detokenize_text(self, text):
        restored = text.count("[TOKEN:tok_mine_1]")
        return text.replace("[TOKEN:tok_mine_1]", 'a"b@example.com'), restored, 0


def test_detokenize_strings_keys_and_tool_arguments():
    document = {
        "[TOKEN:tok_mine_1]": "key",
        "text": "hi [TOKEN:tok_mine_1] and [TOKEN:tok_other_2]",
        "tool_calls": [{"function": {"name": "f",
                                     "arguments": '{"to": "[TOKEN:tok_mine_1]"}'}}],
    }
    restored, tally = detokenize_document(document, FakeScope())
    assert 'a"b@example.com' in restored
    assert restored["text"] == 'hi a"b@example.com and [TOKEN:tok_other_2]'
    arguments = restored["tool_calls"][0]["function"]["arguments"]
    assert json.loads(arguments) == {"to": 'a"b@example.com'}  # escaped, still valid JSON
    assert tally.restored == 3


def test_labels_are_cleaned():
    assert clean_label("route with spaces/é") == "route_with_spaces/_"
    assert len(clean_label("x" * 100)) == 64


def test_proxy_status_shows_no_tls_material():
    config = HaechiConfig(proxy=ProxyConfig(host="0.0.0.0", tls=TlsConfig(
        pfx_file="server.pfx", passphrase="hunter2")))
    status = proxy_status(config)
    assert status["loopback"] is False and status["tls"] == {"pfxFile": "server.pfx"}
    assert "hunter2" not in json.dumps(status)
