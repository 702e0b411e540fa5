"""SMS backends: console, file, locmem, and the http backend against a real local server."""

import io
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ImproperlyConfigured

from campaigns.sms import SmsMessage, SmsSendError, get_sms_connection

CONSOLE = "campaigns.sms.backends.console.SmsBackend"
FILE = "campaigns.sms.backends.file.SmsBackend"
LOCMEM = "campaigns.sms.backends.locmem.SmsBackend"
HTTP = "campaigns.sms.backends.http.SmsBackend"


def sms(to="+33612345678", body="Bonjour !", **kwargs) -> SmsMessage:
    return SmsMessage(to=to, body=body, **kwargs)


# Interface ----------------------------------------------------------------------------------


def test_sender_defaults_to_the_setting_when_not_given(settings):
    settings.RELANCE_SMS_SENDER = "Boutique"

    assert sms().sender == "Boutique"
    assert sms(sender="+33700000000").sender == "+33700000000"


def test_connection_is_the_configured_backend_when_none_is_named(settings):
    settings.RELANCE_SMS_BACKEND = CONSOLE

    connection = get_sms_connection(stream=io.StringIO())

    assert type(connection).__module__ == "campaigns.sms.backends.console"


def test_send_raises_a_permanent_error_when_the_number_is_not_e164(sms_outbox):
    connection = get_sms_connection(LOCMEM)

    with pytest.raises(SmsSendError) as raised:
        connection.send_messages([sms(to="06 12 34 56 78")])

    assert raised.value.transient is False
    assert "E.164" in raised.value.reason
    assert sms_outbox == []


def test_failures_are_skipped_and_the_rest_sent_when_failing_silently(sms_outbox):
    messages = [sms(to="+33611111111"), sms(to="not a number"), sms(to="+33622222222")]

    sent = get_sms_connection(LOCMEM, fail_silently=True).send_messages(messages)

    assert sent == 2
    assert [message.to for message in sms_outbox] == ["+33611111111", "+33622222222"]
    assert messages[1].provider_message_id == ""


def test_nothing_is_sent_when_there_are_no_messages(sms_outbox):
    assert get_sms_connection(LOCMEM).send_messages([]) == 0


# console, file, locmem ----------------------------------------------------------------------


def test_console_writes_each_message_and_gives_it_an_id():
    stream = io.StringIO()
    messages = [sms(body="Premier", reference="tok-1"), sms(to="+33622222222", body="Second")]

    sent = get_sms_connection(CONSOLE, stream=stream).send_messages(messages)

    output = stream.getvalue()
    assert sent == 2
    assert "To: +33612345678" in output and "Premier" in output and "Reference: tok-1" in output
    assert "To: +33622222222" in output and "Second" in output
    assert all(message.provider_message_id.startswith("console-") for message in messages)
    assert messages[0].provider_message_id != messages[1].provider_message_id


def test_file_backend_writes_one_file_per_connection(tmp_path):
    first = get_sms_connection(FILE, file_path=tmp_path)
    with first:
        first.send_messages([sms(body="Un")])
        first.send_messages([sms(body="Deux")])
    get_sms_connection(FILE, file_path=tmp_path).send_messages([sms(body="Trois")])

    files = sorted(tmp_path.iterdir(), key=lambda path: "Trois" in path.read_text())
    assert len(files) == 2
    assert "Un" in files[0].read_text() and "Deux" in files[0].read_text()
    assert "Trois" in files[1].read_text()


def test_file_backend_uses_the_folder_setting(settings, tmp_path):
    settings.RELANCE_SMS_FILE_PATH = str(tmp_path / "sms")

    message = sms()
    get_sms_connection(FILE).send_messages([message])

    (written,) = (tmp_path / "sms").iterdir()
    assert message.provider_message_id in written.read_text()


def test_file_backend_refuses_a_folder_it_cannot_create(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")

    with pytest.raises(ImproperlyConfigured):
        get_sms_connection(FILE, file_path=blocker / "sms")


def test_locmem_keeps_sent_messages_in_the_outbox(sms_outbox):
    message = sms(reference="tok-1")

    sent = get_sms_connection().send_messages([message])

    assert sent == 1
    assert sms_outbox == [message]
    assert sms_outbox[0].provider_message_id.startswith("locmem-")


# http ---------------------------------------------------------------------------------------


class ProviderHandler(BaseHTTPRequestHandler):
    """A fake SMS provider: the path says how to answer."""

    received: list[dict] = []

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        type(self).received.append(
            {"path": self.path, "headers": dict(self.headers), "json": json.loads(body or b"{}")}
        )
        answers = {
            "/ok": (200, {"id": "prov-123", "status": "queued"}),
            "/ok-custom": (201, {"messageId": 42}),
            "/no-id": (200, {"status": "queued"}),
            "/throttled": (429, {"error": "slow down"}),
            "/down": (500, {"error": "internal error"}),
            "/unavailable": (503, {"error": "maintenance"}),
            "/bad": (400, {"error": "invalid destination"}),
            "/unauthorized": (401, {"error": "bad token"}),
        }
        if self.path == "/slow":
            time.sleep(1.0)
            status, answer = 200, {"id": "too-late"}
        else:
            status, answer = answers[self.path]
        payload = json.dumps(answer).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:  # The client gave up (the timeout test).
            pass

    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="module")
def provider():
    server = ThreadingHTTPServer(("127.0.0.1", 0), ProviderHandler)
    server.daemon_threads = True
    server.block_on_close = False
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def received():
    ProviderHandler.received = []
    return ProviderHandler.received


def http_connection(url, **kwargs):
    return get_sms_connection(HTTP, url=url, token="secret-token", timeout=0.3, **kwargs)


def test_http_posts_json_with_the_bearer_token_and_keeps_the_provider_id(provider, received):
    message = sms(body="Votre code promo", sender="Boutique", reference="tok-1")

    sent = http_connection(f"{provider}/ok").send_messages([message])

    assert sent == 1
    assert message.provider_message_id == "prov-123"
    (request,) = received
    assert request["headers"]["Authorization"] == "Bearer secret-token"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["json"] == {
        "to": "+33612345678",
        "from": "Boutique",
        "text": "Votre code promo",
        "reference": "tok-1",
    }


def test_http_reads_the_id_from_the_configured_field(settings, provider, received):
    settings.RELANCE_SMS_HTTP_URL = f"{provider}/ok-custom"
    settings.RELANCE_SMS_HTTP_TOKEN = "secret-token"
    settings.RELANCE_SMS_HTTP_ID_FIELD = "messageId"
    message = sms()

    get_sms_connection(HTTP).send_messages([message])

    assert message.provider_message_id == "42"


@pytest.mark.parametrize("path", ["/throttled", "/down", "/unavailable"])
def test_http_failure_is_transient_when_the_provider_is_throttling_or_down(
    provider, received, path
):
    message = sms()

    with pytest.raises(SmsSendError) as raised:
        http_connection(f"{provider}{path}").send_messages([message])

    assert raised.value.transient is True
    assert message.provider_message_id == ""


@pytest.mark.parametrize("path", ["/bad", "/unauthorized"])
def test_http_failure_is_permanent_when_the_provider_refuses_the_message(provider, received, path):
    with pytest.raises(SmsSendError) as raised:
        http_connection(f"{provider}{path}").send_messages([sms()])

    assert raised.value.transient is False
    assert "HTTP 4" in raised.value.reason


def test_http_error_reason_includes_what_the_provider_said(provider, received):
    with pytest.raises(SmsSendError) as raised:
        http_connection(f"{provider}/bad").send_messages([sms()])

    assert "invalid destination" in raised.value.reason


def test_http_failure_is_transient_when_the_provider_answers_too_late(provider, received):
    started = time.monotonic()

    with pytest.raises(SmsSendError) as raised:
        http_connection(f"{provider}/slow").send_messages([sms()])

    assert raised.value.transient is True
    assert time.monotonic() - started < 0.9


def test_http_failure_is_transient_when_nothing_listens(received):
    # A port that was free a moment ago: the connection is refused.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with pytest.raises(SmsSendError) as raised:
        http_connection(f"http://127.0.0.1:{port}/sms").send_messages([sms()])

    assert raised.value.transient is True


def test_http_failure_is_permanent_when_an_accepted_message_has_no_id(provider, received):
    # Sending it again could deliver it twice.
    with pytest.raises(SmsSendError) as raised:
        http_connection(f"{provider}/no-id").send_messages([sms()])

    assert raised.value.transient is False


def test_http_stops_at_the_first_failure(provider, received):
    messages = [sms(to="+33611111111"), sms(to="+33622222222")]

    with pytest.raises(SmsSendError):
        http_connection(f"{provider}/down").send_messages(messages)

    assert len(received) == 1


def test_http_returns_the_count_sent_when_failing_silently(provider, received):
    sent = http_connection(f"{provider}/down", fail_silently=True).send_messages([sms(), sms()])

    assert sent == 0
    assert len(received) == 2


@pytest.mark.parametrize(
    "url, token", [("", "token"), ("file:///etc/passwd", "token"), ("https://sms.test", "")]
)
def test_http_backend_is_refused_when_misconfigured(url, token):
    with pytest.raises(ImproperlyConfigured):
        get_sms_connection(HTTP, url=url, token=token)
