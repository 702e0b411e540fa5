"""Settings for the test suite: tasks run inline, passwords hash fast, files go to a temp dir."""

import tempfile

from config.settings import *  # noqa: F403
from config.settings import LOGGING, Q_CLUSTER

# django-q2 reads Q_CLUSTER once at import, so sync mode must be set here, not per test.
Q_CLUSTER = {**Q_CLUSTER, "sync": True}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = tempfile.mkdtemp(prefix="relance-test-media-")
LANGUAGE_CODE = "en"
RELANCE_SMS_BACKEND = "campaigns.sms.backends.locmem.SmsBackend"
# django-axes stays on (the lockout tests need it) but logs every login at INFO: keep the
# test output for what fails.
LOGGING = {**LOGGING, "loggers": {**LOGGING["loggers"], "axes": {"level": "WARNING"}}}
