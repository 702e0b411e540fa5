import pytest

from campaigns import sms


@pytest.fixture(autouse=True)
def sms_outbox():
    """The SMS the locmem backend (the test settings' backend) sent during the test."""
    sms.outbox.clear()
    yield sms.outbox
    sms.outbox.clear()
